#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fuzz/run_bounded.sh: build the libFuzzer targets with clang and run each
# for a bounded time over a copy of its committed seed corpus: ring_fuzz,
# rpc_fuzz, suvm_fuzz and sys_fuzz (fuzz/corpus/<target>), a quarter of the
# time each, JOBS of them at once (each fuzzer runs on one core), so the
# run takes about seconds / JOBS.
#
#   fuzz/run_bounded.sh [seconds]      default 100 of fuzzing in all (25 per target)
#
# Environment: BUILD_DIR (default build/fuzz), JOBS (ninja -j and fuzzers at
# once, default 2), FUZZ_ARGS (extra libFuzzer flags, given to every target).
#
# Exits non-zero if a fuzzer finds a crash, a leak or a timeout (every
# target runs either way); the input is then $BUILD_DIR/artifacts/<target>-*. To
# keep it as a regression test, fix the bug, then copy the input to
# fuzz/corpus/<target>/regression-<what> and commit it: the <target>.fuzz_replay
# tests run every corpus file in every build. New inputs the fuzzers find go to $BUILD_DIR/corpus-<target>, never
# into the committed corpus.
set -euo pipefail

seconds=${1:-100}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/fuzz}
jobs=${JOBS:-2}
targets=(ring rpc suvm sys)
share=$((seconds / ${#targets[@]}))
if ((share < 1)); then
    share=1
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
    -DAIRLOCK_BUILD_FUZZ=ON -DAIRLOCK_BUILD_TESTS=OFF -DAIRLOCK_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" -j "$jobs" ring_fuzz rpc_fuzz suvm_fuzz sys_fuzz

artifacts=$build/artifacts
mkdir -p "$artifacts"
status=0
# One fuzzer; its output goes to $build/fuzz-<target>.log, printed when it ends.
fuzz_one() { # target
    local target=$1 work=$build/corpus-$1
    mkdir -p "$work"
    cp -n "$root"/fuzz/corpus/"$target"/* "$work"/ 2>/dev/null || true
    local extra=()
    if [[ $target == rpc ]]; then
        # libFuzzer's entropic schedule costs more than the runs themselves
        # at rpc_fuzz's tens of thousands of features (8x fewer runs a second).
        extra=(-entropic=0)
    fi
    echo "== ${target}_fuzz: ${share} s over $work"
    # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
    "$build/fuzz/${target}_fuzz" "$work" \
        -max_total_time="$share" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$artifacts/${target}-" "${extra[@]}" ${FUZZ_ARGS:-}
}
pids=()
names=()
finish_one() { # index into pids
    local rc=0
    wait "${pids[$1]}" || rc=$?
    cat "$build/fuzz-${names[$1]}.log"
    echo "== ${names[$1]}_fuzz: exit $rc"
    if ((rc != 0)); then status=$rc; fi
}
for target in "${targets[@]}"; do
    if ((${#pids[@]} >= jobs)); then
        finish_one 0
        pids=("${pids[@]:1}")
        names=("${names[@]:1}")
    fi
    fuzz_one "$target" >"$build/fuzz-$target.log" 2>&1 &
    pids+=("$!")
    names+=("$target")
done
for i in "${!pids[@]}"; do
    finish_one "$i"
done
exit "$status"
