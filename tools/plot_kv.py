#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Draws bench/kv_bench.sh's results: airlock-kv against memcached.

Reads the JSON lines of `bench/kv_bench.sh --json` (a file, or stdin when
the path is "-"), writes a PNG with one group of bars per get/set mix and
value size and one bar per server (operations per second, the median over
the rounds), and prints the same figures as a Markdown table with each
airlock-kv's ratio to memcached in operations per second and in CPU time
per operation.

    bench/kv_bench.sh --json > kv.jsonl
    python3 tools/plot_kv.py kv.jsonl kv.png

Draws with tools/bench_chart.py (matplotlib, off-screen).
"""

import statistics
import sys

from bench_chart import grouped_bars, json_lines

SERVER_ORDER = ["memcached", "native", "sim", "process", "sim:transition", "process:transition"]
LABELS = {
    "memcached": "memcached (Debian)",
    "native": "airlock-kv, no enclave",
    "sim": "airlock-kv in an enclave (sim)",
    "process": "airlock-kv in a sealed enclave (process)",
    "sim:transition": "airlock-kv in an enclave, an ocall per I/O (sim)",
    "process:transition": "airlock-kv in a sealed enclave, an ocall per I/O (process)",
}
COLOURS = {"memcached": "#ff7f0e", "native": "#2ca02c", "sim": "#9ecae1", "process": "#1f77b4",
           "sim:transition": "#d9d9d9", "process:transition": "#969696"}


def series_of(r):
    """memcached, or the airlock-kv platform, with `:transition` for that I/O."""
    if r["server"] == "memcached":
        return "memcached"
    return r["platform"] + (":transition" if r.get("io") == "transition" else "")


def medians(rows):
    """(group, series) -> (ops per second, CPU ns per operation), medians over rounds."""
    runs = {}
    for r in rows:
        key = ((r["mix"], r["value_bytes"]), series_of(r))
        runs.setdefault(key, []).append((r["ops_per_sec"], r["cpu_ns_per_op"]))
    return {k: (statistics.median(o for o, _ in v), statistics.median(c for _, c in v))
            for k, v in runs.items()}


def markdown_table(groups, series, figures):
    head = "| mix | value | " + " | ".join(LABELS.get(s, s) for s in series) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(series)]
    for g in groups:
        base = figures.get((g, "memcached"))
        cells = []
        for s in series:
            if (g, s) not in figures:
                cells.append("-")
                continue
            ops, cpu = figures[(g, s)]
            cell = f"{ops:,.0f} ops/s, {cpu / 1000:.1f} µs CPU/op"
            if base and s != "memcached" and base[0] > 0 and base[1] > 0:
                cell += f" ({ops / base[0]:.2f}x ops, {cpu / base[1]:.2f}x CPU)"
            cells.append(cell)
        lines.append(f"| {g[0]} | {g[1]} B | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: plot_kv.py KV.jsonl|- OUT.png")
    rows = list(json_lines(argv[1], "kv"))
    if not rows:
        sys.exit("plot_kv.py: no kv rows in the input")
    figures = medians(rows)
    groups = sorted({g for g, _ in figures}, key=lambda g: (g[0] != "90/10", g[1]))
    present = {s for _, s in figures}
    series = [s for s in SERVER_ORDER if s in present] + sorted(present - set(SERVER_ORDER))
    value = {k: v[0] for k, v in figures.items()}
    rounds = max(sum(1 for r in rows if series_of(r) == s and (r["mix"], r["value_bytes"]) == g)
                 for g in groups for s in series)
    grouped_bars(argv[2], groups, series, value, group_label=lambda g: f"{g[0]} get/set\n{g[1]} B",
                 series_label=lambda s: LABELS.get(s, s), colour=COLOURS.get,
                 ylabel="operations per second (log scale)",
                 title=f"airlock-kv against memcached, memcaslap on loopback "
                       f"(median of {rounds} round{'s' if rounds != 1 else ''})",
                 legend_loc="lower left")
    print(markdown_table(groups, series, figures))


if __name__ == "__main__":
    main(sys.argv)
