# SPDX-License-Identifier: Apache-2.0
"""What the benchmark charts share: reading `airlock-bench --json` lines and
drawing one group of bars per workload or size, one bar per series, on a
logarithmic axis. tools/plot_calls.py and tools/plot_sys.py say what their
groups and series are.

Needs matplotlib (Debian's python3-matplotlib); draws off-screen (Agg).
"""

import json
import sys


def json_lines(path, bench):
    """The JSON objects of `bench` in a file of mixed output ("-": stdin)."""
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with stream:
        for line in stream:
            line = line.strip()
            if not line.startswith("{"):
                continue
            obj = json.loads(line)
            if obj.get("bench") == bench:
                yield obj


def grouped_bars(out, groups, series, value, *, group_label, series_label, colour, ylabel,
                 title, xlabel=None, size=(10, 5.2), legend_loc="upper right"):
    """Writes a PNG to `out`: for each group in `groups`, one bar per series
    that has a value[(group, series)]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=size, dpi=120)
    width = 0.8 / len(series)
    for i, s in enumerate(series):
        xs, ys = [], []
        for j, g in enumerate(groups):
            if (g, s) in value:
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(value[(g, s)])
        ax.bar(xs, ys, width, label=series_label(s), color=colour(s), edgecolor="white",
               linewidth=0.5)
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([group_label(g) for g in groups], fontsize=8)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", which="major", alpha=0.3)
    ax.legend(fontsize=8, loc=legend_loc)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
