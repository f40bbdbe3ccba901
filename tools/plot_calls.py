#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Draws the calls benchmark as a chart: calls per second by mode and size.

Reads the JSON lines of `airlock-bench calls --json` (a file, or stdin when
the path is "-") and writes a PNG with one group of bars per argument size
and one bar per mode, on a logarithmic axis, so the modelled ecall, the
Intel-style switchless call, Airlock and Asio can be compared at every size
the way the seed article's figure compares them.

    airlock-bench calls --json > calls.jsonl
    python3 tools/plot_calls.py calls.jsonl docs/img/calls.png

Draws with tools/bench_chart.py (matplotlib, off-screen).
"""

import sys

from bench_chart import grouped_bars, json_lines

MODE_ORDER = ["ecall", "ecall_process", "switchless", "airlock_sync", "airlock", "asio", "bare"]
MODE_LABELS = {
    "ecall": "ecall (modelled transition)",
    "ecall_process": "ecall on process (measured futex handoff)",
    "switchless": "switchless (caller waits)",
    "airlock_sync": "Airlock, one call in flight",
    "airlock": "Airlock, many calls in flight",
    "asio": "Asio: co_await post to the callee and back",
    "bare": "bare atomics (the machine's floor)",
}
COLOURS = {
    "ecall": "#7f7f7f",
    "ecall_process": "#c7c7c7",
    "switchless": "#ff7f0e",
    "airlock_sync": "#9ecae1",
    "airlock": "#1f77b4",
    "asio": "#2ca02c",
    "bare": "#d62728",
}


def size_label(n):
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def read_rows(path):
    header, rows = {}, []
    for obj in json_lines(path, "calls"):
        if "mode" in obj:
            rows.append(obj)
        elif "cpu_model" in obj:  # not the ratio lines
            header = obj
    return header, rows


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: plot_calls.py CALLS.jsonl|- OUT.png")
    header, rows = read_rows(argv[1])
    if not rows:
        sys.exit("plot_calls.py: no calls rows in the input")

    sizes = sorted({r["bytes"] for r in rows})
    modes = [m for m in MODE_ORDER if any(r["mode"] == m for r in rows)]
    modes += sorted({r["mode"] for r in rows} - set(modes))
    value = {(r["bytes"], r["mode"]): r["calls_per_sec"] for r in rows}
    subtitle = []
    if header.get("cpu_model"):
        subtitle.append(header["cpu_model"])
    if header.get("ecall_cycles"):
        subtitle.append(f"ecall modelled at {header['ecall_cycles']:,} cycles")
    if header.get("reps"):
        subtitle.append(f"median of {header['reps']} interleaved reps")
    title = f"Calls across the enclave boundary, {rows[0].get('direction', '')}"
    grouped_bars(argv[2], sizes, modes, value, group_label=size_label,
                 series_label=lambda m: MODE_LABELS.get(m, m), colour=COLOURS.get,
                 xlabel="argument size per call", ylabel="calls per second (log scale)",
                 title=title + ("\n" + "; ".join(subtitle) if subtitle else ""))
    print(f"plot_calls.py: wrote {argv[2]} ({len(modes)} modes x {len(sizes)} sizes)")


if __name__ == "__main__":
    main(sys.argv)
