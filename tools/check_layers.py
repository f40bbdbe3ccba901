#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that Airlock's layers form the DAG that cmake/layers.cmake declares.

Usage: check_layers.py [SOURCE_DIR]     check the tree (default: the repository)
       check_layers.py --self-test      check this checker on temporary trees

cmake/layers.cmake declares each layer once, `airlock_layer(NAME DEPENDS a b)`,
and that DEPENDS list is the layer's whole dependency list. A layer may use
what its dependencies use (the transitive closure), nothing else. This tool
scans every file under include/airlock/<layer>/ and src/<layer>/ for
`#include "airlock/<other>/..."` and `#include <airlock/<other>/...>` and
fails, printing file:line and the forbidden edge, when <other> is not the
layer itself or one it may depend on. It also fails when a layer folder exists
that layers.cmake does not declare, when a layer depends on an undeclared
layer, and when the declared graph has a cycle.

Exit status: 0 when the graph holds, 1 when it is broken, 2 on usage errors.
"""

from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# `airlock_layer(` ... `)`, possibly over several lines.
LAYER_CALL = re.compile(r"\bairlock_layer\s*\(([^)]*)\)", re.S)
# An include of a layer's header: captures the layer folder name.
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]airlock/([A-Za-z0-9_]+)/')
# Files whose includes are checked.
SOURCE_SUFFIXES = {".hh", ".h", ".hpp", ".cc", ".cpp", ".cxx", ".inl", ".ipp"}


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors.append(message)

    @property
    def ok(self) -> bool:
        return not self.errors


def strip_cmake_comments(text: str) -> str:
    """Removes `# ...` line comments (layers.cmake uses no quoted '#')."""
    return "\n".join(line.split("#", 1)[0] for line in text.splitlines())


def parse_layers(layers_cmake: Path, report: Report) -> dict[str, list[str]]:
    """Returns {layer: [direct dependencies]} in declaration order."""
    layers: dict[str, list[str]] = {}
    text = strip_cmake_comments(layers_cmake.read_text(encoding="utf-8"))
    for match in LAYER_CALL.finditer(text):
        words = match.group(1).split()
        if not words:
            report.error(f"{layers_cmake}: airlock_layer() without a name")
            continue
        name, rest = words[0], words[1:]
        deps: list[str] = []
        if rest:
            if rest[0] != "DEPENDS":
                report.error(f"{layers_cmake}: airlock_layer({name} ...): expected DEPENDS, "
                             f"got {rest[0]}")
            deps = rest[1:]
        if name in layers:
            report.error(f"{layers_cmake}: layer {name} declared twice")
        layers[name] = deps
    if not layers:
        report.error(f"{layers_cmake}: no airlock_layer() declarations")
    for name, deps in layers.items():
        for dep in deps:
            if dep not in layers:
                report.error(f"{layers_cmake}: layer {name} depends on undeclared layer {dep}")
            if dep == name:
                report.error(f"{layers_cmake}: layer {name} depends on itself")
    return layers


def find_cycle(layers: dict[str, list[str]]) -> list[str] | None:
    """Returns one cycle as [a, b, ..., a], or None when the graph is a DAG."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in layers.get(node, []):
            if dep not in layers:
                continue
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if state.get(dep) is None:
                cycle = visit(dep)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in layers:
        if state.get(node) is None:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def allowed_deps(layers: dict[str, list[str]]) -> dict[str, set[str]]:
    """The transitive closure of DEPENDS, per layer (the graph is acyclic)."""
    closure: dict[str, set[str]] = {}

    def reach(node: str) -> set[str]:
        if node not in closure:
            closure[node] = set()  # guards against cycles already reported
            result: set[str] = set()
            for dep in layers.get(node, []):
                if dep in layers:
                    result.add(dep)
                    result |= reach(dep)
            closure[node] = result
        return closure[node]

    for node in layers:
        reach(node)
    return closure


def layer_folders(root: Path) -> list[tuple[str, Path]]:
    """Every (layer, folder) under include/airlock/ and src/."""
    folders = []
    for parent in (root / "include" / "airlock", root / "src"):
        if parent.is_dir():
            for child in sorted(parent.iterdir()):
                if child.is_dir():
                    folders.append((child.name, child))
    return folders


def check_tree(root: Path) -> Report:
    report = Report()
    layers_cmake = root / "cmake" / "layers.cmake"
    if not layers_cmake.is_file():
        report.error(f"{layers_cmake}: not found")
        return report
    layers = parse_layers(layers_cmake, report)
    cycle = find_cycle(layers)
    if cycle:
        report.error(f"{layers_cmake}: dependency cycle: {' -> '.join(cycle)}")
    allowed = allowed_deps(layers)

    for layer, folder in layer_folders(root):
        rel_folder = folder.relative_to(root)
        if layer not in layers:
            report.error(f"{rel_folder}/: folder of undeclared layer {layer} "
                         f"(declare it in cmake/layers.cmake)")
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix not in SOURCE_SUFFIXES:
                continue
            rel = path.relative_to(root)
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            for number, line in enumerate(lines, start=1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                other = match.group(1)
                if other == layer or other in allowed[layer]:
                    continue
                if other not in layers:
                    why = f"{other} is not a declared layer"
                else:
                    may = ", ".join(sorted(allowed[layer])) or "nothing"
                    why = f"{layer} may depend on: {may}"
                report.error(f"{rel}:{number}: forbidden include {layer} -> {other} ({why})")
    return report


# ----------------------------------------------------------------------------
# Self-test: the checker must catch what it claims to catch.


def write_tree(root: Path, layers_cmake: str, files: dict[str, str]) -> None:
    (root / "cmake").mkdir(parents=True, exist_ok=True)
    (root / "cmake" / "layers.cmake").write_text(layers_cmake, encoding="utf-8")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


GOOD_LAYERS = """# a comment with airlock_layer(fake DEPENDS nothing)
airlock_layer(base)
airlock_layer(ring DEPENDS base)
airlock_layer(async
              DEPENDS ring)
"""

GOOD_FILES = {
    "include/airlock/base/error.hh": "#pragma once\n#include <cstdint>\n",
    "include/airlock/ring/ring.hh": '#pragma once\n#include "airlock/base/error.hh"\n',
    "include/airlock/async/task.hh":
        '#pragma once\n#include <airlock/ring/ring.hh>\n#include "airlock/base/error.hh"\n',
    "src/async/task.cc": '#include "airlock/async/task.hh"\n// #include "airlock/zzz/x.hh"\n',
}


def self_test() -> int:
    failures = []

    def expect(name: str, files: dict[str, str], layers: str, wanted: list[str]) -> None:
        with tempfile.TemporaryDirectory(prefix="airlock-layers-") as tmp:
            root = Path(tmp)
            write_tree(root, layers, files)
            report = check_tree(root)
        if not wanted:
            if not report.ok:
                failures.append(f"{name}: expected a clean tree, got {report.errors}")
            return
        for text in wanted:
            if not any(text in e for e in report.errors):
                failures.append(f"{name}: expected an error containing {text!r}, "
                                f"got {report.errors}")

    expect("clean tree (transitive include allowed)", GOOD_FILES, GOOD_LAYERS, [])
    expect("forbidden include, quoted",
           {**GOOD_FILES,
            "include/airlock/ring/bad.hh": '#pragma once\n\n#include "airlock/async/task.hh"\n'},
           GOOD_LAYERS,
           ["include/airlock/ring/bad.hh:3: forbidden include ring -> async"])
    expect("forbidden include, angle brackets, in src",
           {**GOOD_FILES, "src/base/bad.cc": "#  include <airlock/ring/ring.hh>\n"},
           GOOD_LAYERS,
           ["src/base/bad.cc:1: forbidden include base -> ring"])
    expect("include of an undeclared layer",
           {**GOOD_FILES, "src/ring/x.cc": '#include "airlock/rpc/call.hh"\n'},
           GOOD_LAYERS, ["src/ring/x.cc:1: forbidden include ring -> rpc"])
    expect("folder without a declared layer",
           {**GOOD_FILES, "src/suvm/page.cc": "int x;\n"},
           GOOD_LAYERS, ["src/suvm/: folder of undeclared layer suvm"])
    expect("cycle",
           GOOD_FILES,
           "airlock_layer(base DEPENDS async)\nairlock_layer(ring DEPENDS base)\n"
           "airlock_layer(async DEPENDS ring)\n",
           ["dependency cycle"])
    expect("dependency on an undeclared layer", GOOD_FILES,
           GOOD_LAYERS + "airlock_layer(rpc DEPENDS platform)\n",
           ["layer rpc depends on undeclared layer platform"])

    # The real tree's file must parse, whatever it declares.
    repo = Path(__file__).resolve().parent.parent
    real = repo / "cmake" / "layers.cmake"
    if real.is_file():
        report = Report()
        if not parse_layers(real, report) or not report.ok:
            failures.append(f"cmake/layers.cmake does not parse: {report.errors}")

    for f in failures:
        print(f"self-test FAILED: {f}", file=sys.stderr)
    print(f"check_layers self-test: {'FAILED' if failures else 'ok'} "
          f"({len(failures)} failure(s))")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__)
        return 2
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    root = Path(argv[1]) if len(argv) == 2 else Path(__file__).resolve().parent.parent
    if not root.is_dir():
        print(f"check_layers: {root}: not a directory", file=sys.stderr)
        return 2
    report = check_tree(root)
    for e in report.errors:
        print(e, file=sys.stderr)
    if report.ok:
        layers = parse_layers(root / "cmake" / "layers.cmake", Report())
        closure = allowed_deps(layers)
        summary = "; ".join(f"{n} -> {', '.join(sorted(closure[n])) or '-'}" for n in layers)
        print(f"check_layers: ok: {len(layers)} layers ({summary})")
        return 0
    print(f"check_layers: {len(report.errors)} violation(s) of the layer graph in "
          f"cmake/layers.cmake", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
