#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# fuzz/run_bounded.sh: build the libFuzzer targets with clang and run the ring
# fuzz target for a bounded time over a copy of the committed seed corpus.
#
#   fuzz/run_bounded.sh [seconds]      default 60
#
# Environment: BUILD_DIR (default build/fuzz), JOBS (ninja -j, default 2),
# FUZZ_ARGS (extra libFuzzer flags).
#
# Exits non-zero if the fuzzer finds a crash, a leak or a timeout; the input
# is then in $BUILD_DIR/artifacts/. To keep it as a regression test, fix the
# bug, then copy the input to fuzz/corpus/ring/regression-<what> and commit
# it: the ring.fuzz_replay test runs every corpus file in every build.
# New inputs the fuzzer finds go to $BUILD_DIR/corpus-ring, never into the
# committed corpus.
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build/fuzz}
jobs=${JOBS:-2}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
    -DAIRLOCK_BUILD_FUZZ=ON -DAIRLOCK_BUILD_TESTS=OFF -DAIRLOCK_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" -j "$jobs" ring_fuzz

work=$build/corpus-ring
artifacts=$build/artifacts
mkdir -p "$work" "$artifacts"
cp -n "$root"/fuzz/corpus/ring/* "$work"/ 2>/dev/null || true

# shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
"$build/fuzz/ring_fuzz" "$work" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-}
