#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sets up a fresh Debian 12 machine and runs every check Airlock has:
#
#   deps       scripts/install-deps.sh
#   lint       shellcheck on every tracked shell script
#   format     clang-format --dry-run -Werror on every tracked C++ file
#   layers     tools/check_layers.py (and its self-test)
#   tools      the self-test of tools/ctest_results.py, which judges each suite
#   docs       the README's example is the code examples/ring_hello.cc runs,
#              and docs/tutorial.md shows only code the tests build
#   release    gcc -O3 -Werror: build, every test, each public header alone,
#              and the header checks again under -std=c++23
#   consumer   install, then a find_package user and an add_subdirectory user
#   clang      clang -Werror with ASan+UBSan at -O1: every test,
#              AIRLOCK_STRESS_SCALE=0.2
#   asan       gcc with ASan at -O1: the unit tests (the two compilers lay
#              out coroutine frames and temporaries differently; UBSan, which
#              costs a third of the compile, is clang's stage's)
#   tsan       gcc, TSan: the tests that start threads (label stress),
#              AIRLOCK_STRESS_SCALE=0.05; builds only those
#   fuzz       the libFuzzer targets, bounded (fuzz/run_bounded.sh), when present
#   clean      the builds left the source tree as they found it
#
# Every compiler call goes through ccache when it is installed, with the
# cache in build/ccache unless CCACHE_DIR names another: a second run, or a
# second build with the same flags, compiles only what changed.
#
# Each step prints a header and its duration; the end is a summary table and
# the line "N passed, N failed" (ctest tests across all suites, plus one for
# each other step). Exits non-zero when anything failed. Steps go on after a
# failure, so one run shows everything that is broken. A test suite fails on
# any failed test, any test that did not run (missing executable, failed
# fixture), any skip of a test not declared MAY_SKIP, and any non-zero ctest
# status (tools/ctest_results.py decides, from ctest's JUnit file).
#
#   bash scripts/test.sh            everything (CI runs this via .ci/run)
#   bash scripts/test.sh --quick    deps, release build and unit tests only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

quick=0
case "${1:-}" in
    "") ;;
    --quick) quick=1 ;;
    -h | --help)
        awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *)
        echo "usage: bash scripts/test.sh [--quick]" >&2
        exit 2
        ;;
esac

results="$root/build/test-results"
rm -rf "$results"
mkdir -p "$results"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The tree's state before any build, compared at the end by the clean step.
in_git=0
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    in_git=1
    git -C "$root" status --porcelain >"$tmp/status-before"
fi

step_names=()
step_results=()
step_seconds=()
tests_passed=0
tests_failed=0
tests_skipped=0
script_start=$SECONDS

record() { # name result seconds
    step_names+=("$1")
    step_results+=("$2")
    step_seconds+=("$3")
}

# step NAME COMMAND...: runs COMMAND with errexit in a subshell, records and
# counts it as one check. Always returns 0, and must not be called where
# errexit is ignored (after `if`, `||`, `&&`), or errexit would be ignored
# inside COMMAND too; later steps ask `ok NAME` instead.
step() {
    local name="$1"
    shift
    echo
    echo "==> $name"
    local start=$SECONDS rc
    set +e
    (
        set -e
        "$@"
    )
    rc=$?
    set -e
    local took=$((SECONDS - start))
    if ((rc == 0)); then
        record "$name" ok "$took"
        tests_passed=$((tests_passed + 1))
        echo "<== $name: ok (${took} s)"
    else
        record "$name" "FAILED" "$took"
        tests_failed=$((tests_failed + 1))
        echo "<== $name: FAILED with status $rc (${took} s)"
    fi
}

# not_run NAME WHY: a step that could not run because an earlier one failed.
not_run() {
    echo
    echo "==> $1: not run ($2)"
    record "$1" "not run" 0
    tests_failed=$((tests_failed + 1))
}

# suite NAME CTEST-ARGS...: runs ctest, records the step and counts each test.
# tools/ctest_results.py judges the run from the JUnit file, ctest's status
# and the list of tests the same arguments select (with their labels).
suite() {
    local name="$1"
    shift
    local base="$results/${name//[^A-Za-z0-9_-]/_}"
    echo
    echo "==> $name"
    local start=$SECONDS rc
    set +e
    ctest --show-only=json-v1 "$@" >"$base.json"
    ctest --output-junit "$base.xml" "$@"
    rc=$?
    local counts verdict
    counts="$(python3 tools/ctest_results.py --junit "$base.xml" --status "$rc" --tests "$base.json")"
    verdict=$?
    set -e
    local took=$((SECONDS - start))
    local passed failed skipped
    read -r passed failed skipped <<<"$counts" || true
    # Nothing printed (the script itself failed): one failure.
    passed=${passed:-0} failed=${failed:-1} skipped=${skipped:-0}
    tests_passed=$((tests_passed + passed))
    tests_failed=$((tests_failed + failed))
    tests_skipped=$((tests_skipped + skipped))
    if ((verdict == 0 && failed == 0)); then
        record "$name ($passed passed, $skipped skipped)" ok "$took"
        echo "<== $name: ok, $passed passed, $skipped skipped (${took} s)"
    else
        record "$name ($passed passed, $failed failed)" FAILED "$took"
        echo "<== $name: FAILED, $passed passed, $failed failed (${took} s)"
    fi
}

# --- the steps --------------------------------------------------------------

# ccache for every build (set up once deps has installed it); CCACHE_BASEDIR
# makes the paths relative, so a cache is shared by checkouts at one depth.
launcher=()
use_ccache() {
    command -v ccache >/dev/null || return 0
    export CCACHE_DIR="${CCACHE_DIR:-$root/build/ccache}"
    export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
    export CMAKE_CXX_COMPILER_LAUNCHER=ccache # builds configured by tests/consumer, fuzz/
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
    ccache --zero-stats >/dev/null
}

configure() { # preset [cmake args]
    cmake --preset "$1" "${launcher[@]}" "${@:2}"
}

build_preset() { # preset [cmake --build args]
    local preset="$1"
    shift
    configure "$preset"
    cmake --build --preset "$preset" "$@"
}

# Only the test executables of one group (cmake/AirlockTesting.cmake):
# airlock_tests (every test) or airlock_tests_<label>, the label that the
# preset's test filter selects.
build_tests() { # preset target...
    configure "$1"
    cmake --build --preset "$1" --target "${@:2}"
}

lint_shell() {
    local files
    mapfile -t files < <(git ls-files '*.sh' .ci/run)
    echo "shellcheck: ${#files[@]} files"
    shellcheck "${files[@]}"
}

check_format() {
    local files
    mapfile -t files < <(git ls-files '*.cc' '*.hh' '*.h' '*.cpp' '*.hpp')
    echo "clang-format: ${#files[@]} files"
    clang-format --dry-run -Werror "${files[@]}"
}

check_layers() {
    python3 tools/check_layers.py "$root"
    python3 tools/check_layers.py --self-test
}

# The README's example must be the code examples/ring_hello.cc compiles and runs.
check_readme_example() {
    python3 - <<'PY'
import re
import sys
import textwrap

source = open("examples/ring_hello.cc", encoding="utf-8").read()
m = re.search(r"// --- README example begins ---\n(.*?)\n[ ]*// --- README example ends ---", source, re.S)
if not m:
    sys.exit("examples/ring_hello.cc: README example markers not found")
example = textwrap.dedent(m.group(1)).strip()
if example not in open("README.md", encoding="utf-8").read():
    print("README.md does not contain the example of examples/ring_hello.cc:")
    print(example)
    sys.exit(1)
print(f"README.md shows examples/ring_hello.cc ({len(example.splitlines())} lines)")
PY
}

headers_cxx23() {
    cmake -S . -B build/headers-cxx23 -G Ninja -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
        -DCMAKE_CXX_STANDARD=23 -DAIRLOCK_WERROR=ON \
        -DAIRLOCK_BUILD_TESTS=OFF -DAIRLOCK_BUILD_BENCH=OFF -DAIRLOCK_BUILD_APPS=OFF \
        -DAIRLOCK_CHECK_HEADERS=ON
    cmake --build build/headers-cxx23 -j2 --target airlock_check_headers
}

# README.md's install block, run as written but for the prefix and the build
# directory, then tests/consumer built against the prefix with README's
# find_package line: README and this step cannot drift apart. A library-only
# build: quick, and quicker again through ccache (CMAKE_CXX_COMPILER_LAUNCHER).
consumer_installed() {
    local prefix="$tmp/prefix" block
    block="$(awk '/^<!-- scripts\/test.sh \(the consumer step\) runs the next block/ { marked = 1; next }
                  marked && /^```sh$/ { inside = 1; next }
                  inside && /^```$/ { exit }
                  inside { print }' README.md)"
    local -a needs=("/opt/airlock" "build/lib" "-DAIRLOCK_BUILD_APPS=OFF" "cmake --install")
    local n
    for n in "${needs[@]}"; do
        if [[ "$block" != *"$n"* ]]; then
            echo "README.md's marked install block does not contain '$n':"
            echo "$block"
            return 1
        fi
    done
    block="${block//\/opt\/airlock/\"$prefix\"}"
    block="${block//build\/lib/build\/readme-lib}"
    rm -rf build/readme-lib
    echo "$block"
    CMAKE_BUILD_PARALLEL_LEVEL=2 bash -euo pipefail -c "$block"
    local find_line
    find_line="$(grep -o 'find_package(airlock [0-9.]* REQUIRED)' README.md | head -n 1)"
    if ! grep -qF "$find_line" tests/consumer/CMakeLists.txt; then
        echo "tests/consumer/CMakeLists.txt does not say README's '$find_line'"
        return 1
    fi
    cmake -S tests/consumer -B build/consumer-installed -G Ninja -DCMAKE_PREFIX_PATH="$prefix"
    cmake --build build/consumer-installed -j2
    ctest --test-dir build/consumer-installed --output-on-failure --no-tests=error
}

consumer_subdirectory() {
    cmake -S tests/consumer -B build/consumer-subdirectory -G Ninja -DAIRLOCK_SOURCE_DIR="$root"
    cmake --build build/consumer-subdirectory -j2
    ctest --test-dir build/consumer-subdirectory --output-on-failure --no-tests=error
}

check_clean() {
    if ((!in_git)); then
        echo "not a git work tree: nothing to compare"
        return 0
    fi
    git status --porcelain >"$tmp/status-after"
    if [[ ! -s "$tmp/status-before" ]]; then
        if [[ -s "$tmp/status-after" ]]; then
            echo "the builds left files in the source tree (git status --porcelain):"
            cat "$tmp/status-after"
            return 1
        fi
        echo "git status --porcelain is empty"
        return 0
    fi
    # A developer's tree with local edits: the builds must not have added to them.
    echo "the tree had local changes before the builds; checking that the builds added none"
    if ! diff -u "$tmp/status-before" "$tmp/status-after"; then
        echo "git status --porcelain changed during the builds (see above)"
        return 1
    fi
}

run_fuzz() {
    bash fuzz/run_bounded.sh
}

# Some steps depend on an earlier one; `ok NAME` says whether it passed.
ok() {
    local i
    for i in "${!step_names[@]}"; do
        [[ "${step_names[$i]}" == "$1" ]] && [[ "${step_results[$i]}" == ok ]] && return 0
    done
    return 1
}

export CTEST_OUTPUT_ON_FAILURE=1

step deps bash scripts/install-deps.sh
use_ccache

if ((quick)); then
    step "release: build" build_preset release
    if ok "release: build"; then
        suite "release: unit tests" --preset release -L unit
    else
        not_run "release: unit tests" "build failed"
    fi
else
    step "lint: shellcheck" lint_shell
    step "format: clang-format" check_format
    step "layers: graph and self-test" check_layers
    step "tools: ctest_results.py self-test" python3 tools/ctest_results.py --self-test
    step "docs: README example is examples/ring_hello.cc" check_readme_example
    step "docs: tutorial shows only built code" python3 tools/check_tutorial.py "$root"

    step "release: build" build_preset release
    if ok "release: build"; then
        suite "release: all tests" --preset release
        step "release: each header alone (C++20)" \
            cmake --build --preset release --target airlock_check_headers
    else
        not_run "release: all tests" "build failed"
    fi
    step "headers: each header alone (C++23)" headers_cxx23
    step "consumer: README's install, then find_package" consumer_installed
    step "consumer via add_subdirectory" consumer_subdirectory

    # The test presets pick the labels and AIRLOCK_STRESS_SCALE; each build
    # compiles only the tests its preset runs (clang: every test and the
    # programs they start; gcc's ASan: those labelled unit; TSan: those
    # labelled stress; CMakePresets.json).
    for preset in clang asan tsan; do
        case $preset in
            clang) step "$preset: build" build_tests clang airlock_tests airlock-kv airlock-ps airlock-ps-worker ;;
            asan) step "$preset: build" build_tests asan airlock_tests_unit ;;
            tsan) step "$preset: build" build_tests tsan airlock_tests_stress ;;
        esac
        if ok "$preset: build"; then
            suite "$preset: tests" --preset "$preset"
        else
            not_run "$preset: tests" "build failed"
        fi
    done

    if [[ -f fuzz/CMakeLists.txt ]]; then
        # The targets fuzz/run_bounded.sh runs and the corpus generators.
        step "fuzz: build" build_preset fuzz --target ring_fuzz rpc_fuzz suvm_fuzz sys_fuzz ring_corpus_gen rpc_corpus_gen
    fi
    if [[ -f fuzz/run_bounded.sh ]]; then
        step "fuzz: bounded run" run_fuzz
    else
        echo
        echo "==> fuzz: fuzz/run_bounded.sh not present, skipped"
    fi

    step "clean: out-of-source builds" check_clean
fi

# --- summary ------------------------------------------------------------------
echo
echo "==> summary ($((SECONDS - script_start)) s)"
printf '%-52s %-8s %6s\n' step result seconds
for i in "${!step_names[@]}"; do
    printf '%-52s %-8s %6s\n' "${step_names[$i]}" "${step_results[$i]}" "${step_seconds[$i]}"
done
echo "ctest tests skipped (declared MAY_SKIP): $tests_skipped; JUnit files in build/test-results/"
if command -v ccache >/dev/null && [[ -n "${CCACHE_DIR:-}" ]]; then
    ccache --show-stats | grep -E '^ *(Hits|Misses):' | sed 's/^ */ccache /' || true
fi
echo
echo "$tests_passed passed, $tests_failed failed"
((tests_failed == 0))
