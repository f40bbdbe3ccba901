#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what building, testing and benchmarking Airlock needs on Debian 12.
#
# Idempotent and quick when repeated: when every package is already
# installed it does not touch apt at all. Run as root, or as a user who may
# sudo. Used by scripts/main.sh and scripts/test.sh.
set -euo pipefail

packages=(
    build-essential cmake ninja-build g++   # gcc toolchain and build system
    ccache                                  # scripts/test.sh compiles through it
    clang libclang-rt-14-dev                # clang builds and libFuzzer/sanitizer runtimes
    clang-format shellcheck                 # format and shell lint steps of scripts/test.sh
    python3 python3-matplotlib              # tools/check_layers.py, benchmark plots
    libgtest-dev libgmock-dev               # tests
    libbenchmark-dev libcli11-dev libfmt-dev  # airlock-bench
    libboost1.81-dev libreaderwriterqueue-dev libconcurrentqueue-dev  # benchmark peers
    libasio-dev liburing-dev libsodium-dev  # sys layer (io_uring), sealing, networking
    memcached libmemcached-tools python3-pymemcache  # airlock-kv's differential tests and clients
    git
)

missing=()
for p in "${packages[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" != "install ok installed" ]]; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages present"
    exit 0
fi

as_root=()
if ((EUID != 0)); then
    if ! command -v sudo >/dev/null; then
        echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
    as_root=(sudo)
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
# Name every package apt cannot find before failing on it.
unknown=()
for p in "${missing[@]}"; do
    policy="$(apt-cache policy "$p" 2>/dev/null || true)"
    if [[ ! "$policy" =~ Candidate:\ [^\(] ]]; then
        unknown+=("$p")
    fi
done
if ((${#unknown[@]} != 0)); then
    echo "install-deps: no installation candidate for: ${unknown[*]} (is this Debian 12?)" >&2
    exit 1
fi
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
