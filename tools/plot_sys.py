#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Draws the sys benchmark as a chart: operations per second by workload.

Reads the JSON lines of `airlock-bench sys --json` (a file, or stdin when
the path is "-") and writes a PNG with one group of bars per workload (and,
for the request/response workloads, per connection count) and one bar per
mode and operations in flight, on a logarithmic axis.

    airlock-bench sys --json > sys.jsonl
    python3 tools/plot_sys.py sys.jsonl sys.png

Draws with tools/bench_chart.py (matplotlib, off-screen).
"""

import sys

from bench_chart import grouped_bars, json_lines

MODE_ORDER = ["native", "transition", "airlock"]
COLOURS = {"native": ["#2ca02c", "#98df8a"], "transition": ["#7f7f7f"],
           "airlock": ["#9ecae1", "#1f77b4", "#08306b"]}


def read_rows(path):
    rows, idle = [], None
    for obj in json_lines(path, "sys"):
        if obj.get("workload") == "idle":
            idle = obj
        elif "mode" in obj:
            rows.append(obj)
    return rows, idle


def group_of(r):
    if r["connections"]:
        return f"{r['workload']}\n{r['connections']} conn"
    return r["workload"]


def series_of(r):
    # Network rows of airlock differ in coroutines = min(in_flight, connections):
    # one series for 1, one for "many".
    many = r["in_flight"] > 1
    return (r["mode"], many)


def label_of(series):
    mode, many = series
    if mode == "native":
        return "native, k in flight (io_uring; epoll server)" if many else "native, 1 in flight"
    if mode == "transition":
        return "transition (modelled ocall + blocking call)"
    return "airlock ring, k in flight" if many else "airlock ring, 1 in flight"


def main(argv):
    if len(argv) != 3:
        sys.exit("usage: plot_sys.py SYS.jsonl|- OUT.png")
    rows, idle = read_rows(argv[1])
    if not rows:
        sys.exit("plot_sys.py: no sys rows in the input")

    groups = []
    for r in rows:
        if group_of(r) not in groups:
            groups.append(group_of(r))
    series = sorted({series_of(r) for r in rows},
                    key=lambda s: (MODE_ORDER.index(s[0]) if s[0] in MODE_ORDER else 9, s[1]))
    value = {(group_of(r), series_of(r)): r["ops_per_sec"] for r in rows}

    def colour(s):
        palette = COLOURS.get(s[0], ["#d62728"])
        return palette[min(int(s[1]), len(palette) - 1)]

    title = "Enclave I/O through the sys layer against native calls"
    if idle is not None:
        title += f"\nidle: the sys service thread used {idle['cpu_percent']:.2f}% of a core"
    grouped_bars(argv[2], groups, series, value, group_label=str, series_label=label_of,
                 colour=colour, ylabel="operations per second (log scale)", title=title,
                 size=(13, 5.5), legend_loc="lower left")
    print(f"plot_sys.py: wrote {argv[2]} ({len(series)} series x {len(groups)} groups)")


if __name__ == "__main__":
    main(sys.argv)
