#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: set up a fresh Debian 12 machine, build Airlock optimised and
# run the channel benchmarks (airlock-bench ring, then pingpong), printing
# their tables. Extra arguments go to both benchmark runs.
#
#   bash scripts/main.sh [airlock-bench options]
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

echo "==> airlock-bench ring"
"$bench" ring "$@"
echo
echo "==> airlock-bench pingpong"
"$bench" pingpong "$@"
