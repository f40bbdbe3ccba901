#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Decides whether one ctest run passed, from what ctest itself left behind.

    ctest_results.py --junit J.xml --status N --tests T.json
    ctest_results.py --self-test

J.xml is the file of `ctest --output-junit`, N the exit status of that ctest
and T.json the output of `ctest --show-only=json-v1` with the same preset and
filters (the tests that were meant to run, with their labels). Prints
"PASSED FAILED SKIPPED" on standard output, one line per problem on standard
error, and exits 1 when the run failed.

A run fails when any of these holds, whatever else the JUnit file says:
  - a test failed;
  - a test did not run: its executable is missing, a fixture it requires
    failed, it is disabled, or it is absent from the JUnit file;
  - a test skipped (exit code 77, SKIP_RETURN_CODE) without the label
    may_skip (airlock_add_test(... MAY_SKIP)), which only tests that need
    what a build or machine may lack carry;
  - the JUnit file is missing, unreadable or lists no test;
  - ctest exited non-zero, even when the JUnit file shows no failure.
"""

import json
import sys
import xml.etree.ElementTree as ET

MAY_SKIP = "may_skip"


def labels_of(tests_json):
    """Test name -> set of labels, from `ctest --show-only=json-v1`."""
    labels = {}
    for test in json.loads(tests_json).get("tests", []):
        names = set()
        for prop in test.get("properties", []):
            if prop.get("name") == "LABELS":
                names.update(prop.get("value", []))
        labels[test["name"]] = names
    return labels


def judge(junit_xml, status, tests_json):
    """Returns (passed, failed, skipped, problems) for one ctest run."""
    problems = []
    expected = None
    no_list = "no list of tests to check the JUnit file against"
    try:
        if tests_json is not None:
            expected = labels_of(tests_json)
    except (ValueError, KeyError, TypeError) as e:
        no_list = f"the list of tests is unreadable ({e})"
    try:
        if junit_xml is None:
            raise ValueError("no JUnit file")
        root = ET.fromstring(junit_xml)
    except (ET.ParseError, ValueError) as e:
        problems.append(f"the JUnit file is missing or unreadable ({e}); ctest exited with {status}")
        return 0, 1, 0, problems

    passed = failed = skipped = 0
    seen = set()
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        seen.add(name)
        state = case.get("status", "")
        skip = case.find("skipped")
        why = skip.get("message", "") if skip is not None else ""
        if state == "run":
            passed += 1
        elif state == "fail":
            failed += 1
            problems.append(f"{name}: failed")
        elif state == "notrun" and why.startswith("SKIP_"):
            if expected is not None and MAY_SKIP in expected.get(name, set()):
                skipped += 1
            else:
                failed += 1
                problems.append(f"{name}: skipped ({why}) but not labelled {MAY_SKIP}")
        else:
            failed += 1
            detail = why or (case.findtext("system-out") or "").strip() or state
            problems.append(f"{name}: not run ({detail})")

    if not seen:
        failed += 1
        problems.append("the JUnit file lists no test")
    if expected is not None:
        for name in sorted(set(expected) - seen):
            failed += 1
            problems.append(f"{name}: absent from the JUnit file (never run)")
    else:
        failed += 1
        problems.append(no_list)
    if status != 0 and failed == 0:
        failed += 1
        problems.append(f"ctest exited with status {status} though the JUnit file shows no failure")
    return passed, failed, skipped, problems


# --- self-test ----------------------------------------------------------------


def _junit(*cases):
    rows = []
    for name, status, message in cases:
        inner = f'<skipped message="{message}"/>' if message else ""
        if status == "fail":
            inner = '<failure message=""/>'
        rows.append(f'<testcase name="{name}" classname="{name}" status="{status}">{inner}'
                    f"<system-out></system-out></testcase>")
    return f'<?xml version="1.0"?><testsuite name="x" tests="{len(cases)}">{"".join(rows)}</testsuite>'


def _tests(**labels):
    return json.dumps({"kind": "ctestInfo", "tests": [
        {"name": n, "properties": [{"name": "LABELS", "value": ls}]} for n, ls in labels.items()]})


def self_test():
    ok = ("a", "run", "")
    skip77 = ("s", "notrun", "SKIP_RETURN_CODE=77")
    cases = [
        # name, junit, status, tests, expected (passed, failed, skipped)
        ("all pass", _junit(ok), 0, _tests(a=["unit"]), (1, 0, 0)),
        ("a failure", _junit(ok, ("f", "fail", "")), 8, _tests(a=[], f=[]), (1, 1, 0)),
        ("missing executable", _junit(ok, ("m", "notrun", "Unable to find executable")), 8,
         _tests(a=[], m=[]), (1, 1, 0)),
        ("failed fixture", _junit(ok, ("x", "notrun", "Fixture dependency failed")), 8,
         _tests(a=[], x=[]), (1, 1, 0)),
        ("disabled", _junit(ok, ("d", "disabled", "")), 0, _tests(a=[], d=[]), (1, 1, 0)),
        ("unexpected skip", _junit(ok, skip77), 0, _tests(a=[], s=["unit"]), (1, 1, 0)),
        ("allowed skip", _junit(ok, skip77), 0, _tests(a=[], s=["unit", MAY_SKIP]), (1, 0, 1)),
        ("skip by regex", _junit(("s", "notrun", "SKIP_REGULAR_EXPRESSION_MATCHED")), 0,
         _tests(s=[]), (0, 1, 0)),
        ("ctest non-zero, clean JUnit", _junit(ok), 8, _tests(a=[]), (1, 1, 0)),
        ("test absent from JUnit", _junit(ok), 0, _tests(a=[], gone=[]), (1, 1, 0)),
        ("empty JUnit", _junit(), 0, _tests(), (0, 1, 0)),
        ("no JUnit file", None, 8, _tests(a=[]), (0, 1, 0)),
        ("broken JUnit file", "<testsuite", 0, _tests(a=[]), (0, 1, 0)),
        ("no list of tests", _junit(ok), 0, None, (1, 1, 0)),
        ("broken list of tests", _junit(ok), 0, "{", (1, 1, 0)),
    ]
    bad = 0
    for what, junit, status, tests, want in cases:
        p, f, s, problems = judge(junit, status, tests)
        verdict_ok = (f == 0) == (want[1] == 0)
        if (p, f, s) != want or not verdict_ok or (f > 0) != bool(problems):
            bad += 1
            print(f"self-test: {what}: got {(p, f, s)} {problems}, want {want}")
    print(f"ctest_results self-test: {len(cases) - bad} of {len(cases)} cases as expected")
    return 1 if bad else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    args = dict(zip(argv[1::2], argv[2::2]))
    if len(argv) % 2 != 1 or set(args) != {"--junit", "--status", "--tests"}:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2

    def read(path):
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError:
            return None

    passed, failed, skipped, problems = judge(read(args["--junit"]), int(args["--status"]),
                                              read(args["--tests"]))
    for p in problems:
        print(f"  {p}", file=sys.stderr)
    print(passed, failed, skipped)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
