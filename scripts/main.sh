#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: set up a fresh Debian 12 machine, build Airlock optimised and
# run the three results the seed documents measure, on the embedded default
# platform (`sim`; `airlock-kv` also on the sealed `process` platform):
#
#   calls  airlock-bench calls: calls across the enclave boundary, the
#          modelled ecall and Intel-style switchless calls against Airlock,
#          at every argument size (the Secretarium article's figure);
#   ps     airlock-bench ps: the parameter server's rate sweep, an ocall per
#          I/O, a switchless worker and Airlock against native (SGXIO's
#          figure);
#   kv     bench/kv_bench.sh: airlock-kv against Debian's memcached under
#          memcaslap (Eleos's memcached result).
#
#   bash scripts/main.sh [--only calls|ps|kv]...
#
# Each stage prints a progress line and its table; build/results/ gets the
# tables (*.txt), the JSON lines (*.jsonl), the charts (calls.png, ps.svg,
# kv.png) and report.md, which shows each chart beside its figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stages=()
while (($#)); do
    case "$1" in
        --only)
            [[ "${2:-}" =~ ^(calls|ps|kv)$ ]] || { echo "main: --only calls|ps|kv" >&2; exit 2; }
            stages+=("$2"); shift 2 ;;
        *) echo "usage: $0 [--only calls|ps|kv]..." >&2; exit 2 ;;
    esac
done
((${#stages[@]})) || stages=(calls ps kv)

start=$SECONDS
progress() { printf '==> [%4ds] %s\n' $((SECONDS - start)) "$*"; }

progress "dependencies (scripts/install-deps.sh)"
bash scripts/install-deps.sh

progress "configure and build the benchmarks and programs (preset release)"
cmake --preset release >/dev/null
cmake --build --preset release --target airlock-bench airlock-kv
bench=build/release/bench/airlock-bench

# Debian's python3 has python3-matplotlib; another python3 first on PATH may not.
python=/usr/bin/python3
[[ -x "$python" ]] || python=python3

results=build/results
mkdir -p "$results"
report="$results/report.md"
{
    echo "# Airlock: the three results"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)),"
    echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown). Every ratio compares runs interleaved in one process."
} >"$report"

# report_section TITLE TEXT-FILE CHART: the table as the stage printed it,
# and its chart beside it.
report_section() {
    {
        echo
        echo "## $1"
        echo
        [[ -n "$3" && -f "$results/$3" ]] && echo "![$1]($3)" && echo
        echo '```'
        cat "$2"
        echo '```'
    } >>"$report"
}

for stage in "${stages[@]}"; do
    case "$stage" in
        calls)
            progress "calls: airlock-bench calls (sim platform)"
            "$bench" calls --reps 3 --json-file "$results/calls.jsonl" | tee "$results/calls.txt"
            "$python" tools/plot_calls.py "$results/calls.jsonl" "$results/calls.png"
            report_section "Calls across the boundary (airlock-bench calls)" "$results/calls.txt" calls.png
            ;;
        ps)
            progress "ps: airlock-bench ps, the rate sweep (sim platform)"
            "$bench" ps --svg "$results/ps.svg" | tee "$results/ps.txt"
            report_section "The parameter server's rate sweep (airlock-bench ps)" "$results/ps.txt" ps.svg
            ;;
        kv)
            progress "kv: airlock-kv against memcached (bench/kv_bench.sh)"
            bash bench/kv_bench.sh --json --seconds 2 | tee "$results/kv.jsonl"
            "$python" tools/plot_kv.py "$results/kv.jsonl" "$results/kv.png" | tee "$results/kv.md"
            {
                echo
                echo "## airlock-kv against memcached (bench/kv_bench.sh)"
                echo
                echo "![airlock-kv against memcached](kv.png)"
                echo
                cat "$results/kv.md"
            } >>"$report"
            ;;
    esac
done
progress "done: $PWD/$report"
