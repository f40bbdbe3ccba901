#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: set up a fresh Debian 12 machine, build Airlock optimised and
# run the seed benchmark, `airlock-bench calls`: calls across the enclave
# boundary on the sim platform, the modelled ecall and Intel-style switchless
# calls against Airlock, at every argument size. Prints the table and the
# target ratios, and draws the chart (calls per second by mode and size).
#
#   bash scripts/main.sh [airlock-bench calls options]
#
# Results: build/results/calls.jsonl (one JSON object per line) and
# build/results/calls.png. The channel benchmarks run with
# `build/release/bench/airlock-bench ring` and `... pingpong`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

echo "==> configure and build airlock-bench (preset release)"
cmake --preset release
if ! ninja -C build/release -t targets all | grep '^airlock-bench:' >/dev/null; then
    echo "main: no airlock-bench target: bench/CMakeLists.txt does not define it yet" >&2
    exit 1
fi
cmake --build --preset release --target airlock-bench
bench="$(find build/release -name airlock-bench -type f -perm -u+x -print -quit)"
if [[ -z "$bench" ]]; then
    echo "main: airlock-bench built but not found under build/release" >&2
    exit 1
fi

results=build/results
mkdir -p "$results"
echo "==> airlock-bench calls (sim platform)"
"$bench" calls --json-file "$results/calls.jsonl" "$@"

# Debian's python3 has python3-matplotlib; another python3 first on PATH may not.
python=/usr/bin/python3
[[ -x "$python" ]] || python=python3
echo
echo "==> chart"
if "$python" tools/plot_calls.py "$results/calls.jsonl" "$results/calls.png"; then
    echo "chart: $PWD/$results/calls.png"
else
    echo "main: the chart could not be drawn (is python3-matplotlib installed?)" >&2
    exit 1
fi
