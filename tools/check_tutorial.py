#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that docs/tutorial.md shows only code that is built and run.

Usage: check_tutorial.py [SOURCE_DIR]     (default: the repository of this file)

1. Each snippet of examples/tutorial_examples.cc, the lines between
   `// --- tutorial: <name> begins ---` and `// --- tutorial: <name> ends ---`
   ("begin"/"end" are accepted too), appears verbatim in docs/tutorial.md
   once its common indentation is removed.
2. Each ```cpp block of docs/tutorial.md is one of those snippets, or a run of
   consecutive lines of the program the tutorial walks through
   (examples/hello_enclave.cc, examples/hello_enclave_calls.hh), again with
   the common indentation removed. So no code block is left unchecked.
3. The output the tutorial quotes matches what the test examples.hello_enclave
   requires of the program (its PASS_REGULAR_EXPRESSION in
   examples/CMakeLists.txt).

Both programs are built and run by the test suite (examples.tutorial_examples,
examples.hello_enclave), so a snippet that passes this check compiles and does
what the tutorial says. Exit status: 0 when all holds, 1 when something does
not (each problem is printed), 2 on usage errors.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

MARKER = re.compile(r"^[ \t]*// --- tutorial: (?P<name>.+?) (?P<edge>begins?|ends?) ---[ \t]*$")
CODE_BLOCK = re.compile(r"^```(?P<lang>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
WALKED_THROUGH = ("examples/hello_enclave.cc", "examples/hello_enclave_calls.hh")


def normalise(lines: list[str]) -> str:
    """The lines without their common indentation and surrounding blank lines."""
    return textwrap.dedent("\n".join(lines)).strip("\n")


def snippets(path: Path, problems: list[str]) -> dict[str, str]:
    """The marked snippets of `path`, by name, in file order."""
    found: dict[str, str] = {}
    open_name: str | None = None
    open_line = 0
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = MARKER.match(line)
        if not m:
            if open_name is not None:
                body.append(line)
            continue
        name, begins = m.group("name"), m.group("edge").startswith("begin")
        if begins:
            if open_name is not None:
                problems.append(f"{path}:{number}: '{name}' begins inside '{open_name}'")
            open_name, open_line, body = name, number, []
        elif open_name != name:
            problems.append(f"{path}:{number}: '{name}' ends but '{open_name}' is open")
            open_name = None
        else:
            if name in found:
                problems.append(f"{path}:{open_line}: a second snippet named '{name}'")
            text = normalise(body)
            if not text:
                problems.append(f"{path}:{open_line}: snippet '{name}' is empty")
            found[name] = text
            open_name = None
    if open_name is not None:
        problems.append(f"{path}:{open_line}: snippet '{open_name}' never ends")
    return found


def is_run_of_lines(block: str, source: list[str]) -> bool:
    """True if `block` is consecutive lines of `source`, up to indentation."""
    wanted = block.split("\n")
    n = len(wanted)
    first = wanted[0].strip()
    for i in range(len(source) - n + 1):
        if source[i].strip() == first and normalise(source[i : i + n]) == block:
            return True
    return False


def hello_output_regex(cmake_lists: Path) -> str | None:
    """The PASS_REGULAR_EXPRESSION of examples.hello_enclave, CMake escapes undone."""
    text = cmake_lists.read_text(encoding="utf-8")
    m = re.search(
        r"set_tests_properties\(\s*examples\.hello_enclave\s+PROPERTIES.*?"
        r'PASS_REGULAR_EXPRESSION\s+"((?:[^"\\]|\\.)*)"',
        text,
        re.S,
    )
    if not m:
        return None
    return re.sub(r"\\(.)", lambda e: {"n": "\n", "t": "\t"}.get(e.group(1), "\\" + e.group(1)), m.group(1))


def main(argv: list[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = Path(argv[1]) if len(argv) == 2 else Path(__file__).resolve().parent.parent
    tutorial_path = root / "docs/tutorial.md"
    examples_path = root / "examples/tutorial_examples.cc"
    for p in (tutorial_path, examples_path, *(root / w for w in WALKED_THROUGH)):
        if not p.is_file():
            print(f"check_tutorial: {p} not found", file=sys.stderr)
            return 2

    problems: list[str] = []
    tutorial = tutorial_path.read_text(encoding="utf-8")
    marked = snippets(examples_path, problems)

    # 1. Every marked snippet is shown.
    for name, text in marked.items():
        if text and text not in tutorial:
            problems.append(
                f"docs/tutorial.md does not show the snippet '{name}' of "
                f"examples/tutorial_examples.cc as it is there:\n{textwrap.indent(text, '    ')}"
            )

    # 2. Every code block shown is built.
    sources = [(root / w).read_text(encoding="utf-8").splitlines() for w in WALKED_THROUGH]
    shown = set(marked.values())
    blocks = 0
    for m in CODE_BLOCK.finditer(tutorial):
        if m.group("lang").strip().lower() not in ("cpp", "c++", "cxx"):
            continue
        blocks += 1
        block = normalise(m.group("body").split("\n"))
        if block in shown or any(is_run_of_lines(block, s) for s in sources):
            continue
        line = tutorial.count("\n", 0, m.start()) + 1
        problems.append(
            f"docs/tutorial.md:{line}: this code block is neither a marked snippet of "
            f"examples/tutorial_examples.cc nor lines of {' or '.join(WALKED_THROUGH)}:\n"
            f"{textwrap.indent(block, '    ')}"
        )

    # 3. The quoted output is what the test requires.
    regex = hello_output_regex(root / "examples/CMakeLists.txt")
    if regex is None:
        problems.append("examples/CMakeLists.txt: no PASS_REGULAR_EXPRESSION for examples.hello_enclave")
    elif not re.search(regex, tutorial):
        problems.append(
            "docs/tutorial.md does not quote the output examples.hello_enclave requires "
            f"(regular expression {regex!r})"
        )

    if problems:
        for p in problems:
            print(p)
        print(f"check_tutorial: {len(problems)} problem(s)")
        return 1
    print(f"docs/tutorial.md: {blocks} code blocks, all built; {len(marked)} snippets, all shown")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
