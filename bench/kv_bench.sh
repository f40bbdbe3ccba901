#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/kv_bench.sh: airlock-kv against Debian's memcached, same load, same run.
#
# Starts memcached and airlock-kv (native, and inside an enclave on `sim`
# and on the sealed `process` platform) on loopback with the same -t and -m, then
# for each get/set mix (90/10, 50/50) and value size (100 B, 4 KiB) drives
# each server in turn (interleaved, --rounds times) with libmemcached's
# memcaslap (one thread, 32-byte keys) for --seconds, and reports
# operations per second and each server's CPU time per operation (user +
# system of all its threads and of its enclave process, from /proc/<pid>/stat
# over the timed window).
# Prints a table; --json prints one JSON line per measurement instead.
#
# --platforms picks the airlock-kv servers (default "native sim process
# sim:transition"): a platform, with `:transition` for the enclave's I/O by
# the transition baseline (--io transition: a modelled ocall and a blocking
# system call per I/O, as memcached in an SDK enclave makes them). The
# baseline row is `sim:transition`, whose enclave thread makes the system
# call itself, as an ocall's thread does; `process:transition` also pays
# two cross-thread hand-offs per call that a real ocall does not;
# -t is memcached's and every airlock-kv's (enclave threads in an enclave).
#
# Usage: bench/kv_bench.sh [--threads N] [--memory MB] [--seconds S]
#                          [--concurrency C] [--rounds R] [--platforms "P..."] [--json]
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
kv="${AIRLOCK_KV:-$here/build/release/apps/kv/airlock-kv}"
threads=2 memory=64 seconds=3 concurrency=16 rounds=1 json=0
platforms="native sim process sim:transition"
while (($#)); do
    case "$1" in
        --threads) threads="$2"; shift 2 ;;
        --memory) memory="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --concurrency) concurrency="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --platforms) platforms="$2"; shift 2 ;;
        --json) json=1; shift ;;
        *) echo "usage: $0 [--threads N] [--memory MB] [--seconds S] [--concurrency C] [--rounds R] [--platforms \"P...\"] [--json]" >&2; exit 2 ;;
    esac
done
for tool in memcached memcaslap; do
    command -v "$tool" >/dev/null || { echo "kv_bench: $tool not installed (scripts/install-deps.sh)" >&2; exit 77; }
done
[[ -x "$kv" ]] || { echo "kv_bench: build airlock-kv first ($kv)" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

base_port=$((20000 + RANDOM % 20000))
user=()
((EUID == 0)) && user=(-u root)
read -ra kv_platforms <<<"$platforms"
servers=(memcached "${kv_platforms[@]}")
declare -A port pid
port[memcached]=$base_port
memcached -l 127.0.0.1 -p "$base_port" -U 0 -t "$threads" -m "$memory" "${user[@]}" &
pids+=($!); pid[memcached]=$!
i=1
for which in "${kv_platforms[@]}"; do
    port[$which]=$((base_port + i)); i=$((i + 1))
    io_args=()
    [[ $which == *:* ]] && io_args=(--io "${which#*:}")
    "$kv" -l 127.0.0.1 -p "${port[$which]}" -t "$threads" -m "$memory" --platform "${which%%:*}" "${io_args[@]}" &
    pids+=($!); pid[$which]=$!
done
sleep 1

# CPU ticks of a process and its children (the process platform's enclave).
cpu_ticks() {
    local total=0 p
    for p in "$1" $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    done
    echo "$total"
}
tck="$(getconf CLK_TCK)"

((json)) || printf '%-11s %-8s %-10s %-6s %6s %12s %14s\n' server platform io mix value ops_per_sec cpu_ns_per_op
for ((r = 0; r < rounds; r++)); do
    for mix in 90/10 50/50; do
        get="0.${mix%%/*}"; set="0.${mix##*/}"
        [[ "$mix" == "50/50" ]] && get=0.5 set=0.5
        for value in 100 4096; do
            printf 'key\n32 32 1\nvalue\n%s %s 1\ncmd\n0 %s\n1 %s\n' "$value" "$value" "$set" "$get" >"$work/cfg"
            for which in "${servers[@]}"; do
                server=airlock-kv platform=${which%%:*} io=airlock
                [[ $which == *:* ]] && io=${which#*:}
                [[ $which == memcached ]] && server=memcached platform=native io=native
                [[ $which == native ]] && io=native
                before="$(cpu_ticks "${pid[$which]}")"
                out="$(memcaslap -s "127.0.0.1:${port[$which]}" -T 1 -c "$concurrency" -t "${seconds}s" -X "$value" -F "$work/cfg" 2>&1 || true)"
                after="$(cpu_ticks "${pid[$which]}")"
                line="$(grep '^Run time' <<<"$out" | tail -1)"
                ops="$(sed -n 's/.*Ops: \([0-9]*\).*/\1/p' <<<"$line")"
                tps="$(sed -n 's/.*TPS: \([0-9]*\).*/\1/p' <<<"$line")"
                [[ -n "$ops" && "$ops" != 0 ]] || { echo "kv_bench: memcaslap failed against $server: $out" >&2; exit 1; }
                cpu_ns=$(( (after - before) * 1000000000 / tck / ops ))
                if ((json)); then
                    printf '{"bench":"kv","server":"%s","platform":"%s","io":"%s","mix":"%s","value_bytes":%s,"ops_per_sec":%s,"cpu_ns_per_op":%s}\n' \
                        "$server" "$platform" "$io" "$mix" "$value" "$tps" "$cpu_ns"
                else
                    printf '%-11s %-8s %-10s %-6s %6s %12s %14s\n' "$server" "$platform" "$io" "$mix" "$value" "$tps" "$cpu_ns"
                fi
            done
        done
    done
done
