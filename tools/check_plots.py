#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Self-test of the chart scripts: feeds tools/plot_calls.py,
tools/plot_sys.py and tools/plot_kv.py a few JSON lines of the form `airlock-bench --json`
prints (with the text lines and ratio lines that come between them) and
checks that each writes a PNG. Run by ctest as tools.plots_self_test.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import plot_calls  # noqa: E402
import plot_kv  # noqa: E402
import plot_sys  # noqa: E402

CALLS = """airlock-bench calls: a text line the charts skip
{"bench":"calls","cpu_model":"test CPU","ecall_cycles":8200,"reps":3}
{"bench":"calls","mode":"switchless","direction":"enclave_to_host","bytes":0,"calls_per_sec":4000000}
{"bench":"calls","mode":"airlock","direction":"enclave_to_host","bytes":0,"calls_per_sec":14000000}
{"bench":"calls","mode":"airlock","direction":"enclave_to_host","bytes":65536,"calls_per_sec":200000}
{"bench":"calls","ratio":"airlock / switchless","bytes":0,"value":3.5}
"""

SYS = """{"bench":"sys","workload":"pread_4k","connections":0,"in_flight":1,"mode":"native","ops_per_sec":500000,"p50_ns":1500,"p99_ns":4000}
{"bench":"sys","workload":"pread_4k","connections":0,"in_flight":32,"mode":"airlock","ops_per_sec":300000,"p50_ns":40000,"p99_ns":90000}
{"bench":"sys","workload":"rr_64","connections":16,"in_flight":16,"mode":"transition","ops_per_sec":20000,"p50_ns":30000,"p99_ns":90000}
{"bench":"sys","workload":"rr_64","connections":16,"in_flight":16,"mode":"airlock","ops_per_sec":60000,"p50_ns":20000,"p99_ns":60000}
{"bench":"sys","workload":"idle","cpu_percent":0.04}
"""

KV = """{"bench":"kv","server":"memcached","platform":"native","io":"native","mix":"90/10","value_bytes":100,"ops_per_sec":60000,"cpu_ns_per_op":12000}
{"bench":"kv","server":"airlock-kv","platform":"process","io":"airlock","mix":"90/10","value_bytes":100,"ops_per_sec":50000,"cpu_ns_per_op":15000}
{"bench":"kv","server":"airlock-kv","platform":"process","io":"airlock","mix":"90/10","value_bytes":100,"ops_per_sec":54000,"cpu_ns_per_op":14000}
{"bench":"kv","server":"airlock-kv","platform":"process","io":"transition","mix":"90/10","value_bytes":100,"ops_per_sec":20000,"cpu_ns_per_op":40000}
"""


def draws(module, text, folder, name):
    source = os.path.join(folder, name + ".jsonl")
    out = os.path.join(folder, name + ".png")
    with open(source, "w", encoding="utf-8") as f:
        f.write(text)
    module.main([name, source, out])
    with open(out, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def main():
    with tempfile.TemporaryDirectory() as folder:
        failed = [n for m, t, n in ((plot_calls, CALLS, "calls"), (plot_sys, SYS, "sys"),
                                          (plot_kv, KV, "kv"))
                  if not draws(m, t, folder, n)]
    if failed:
        sys.exit("check_plots.py: no PNG from " + ", ".join(failed))
    print("check_plots.py: every chart drawn")


if __name__ == "__main__":
    main()
