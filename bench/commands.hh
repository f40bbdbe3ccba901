// SPDX-License-Identifier: Apache-2.0
#pragma once
// bench/commands.hh: the subcommands of airlock-bench.
//
// Each subcommand lives in its own file and registers itself on the
// top-level CLI11 app with one of these functions; bench/main.cc calls them
// all. A new benchmark (calls, kv ...) adds a file and a line here.
//
// Thread contract: called from main() before parsing.

#include <vector>

namespace CLI {
class App;  // <CLI/CLI.hpp>, in the files that build the command line only
}  // namespace CLI

namespace airlock::bench {

// `ring`: one-way throughput of one SPSC ring against peer queues.
void add_ring_command(CLI::App& app);
// `pingpong`: round trip of one message each way.
void add_pingpong_command(CLI::App& app);
// `fanin`: many producers into one consumer.
void add_fanin_command(CLI::App& app);
// `calls`: calls across the boundary: modelled ecall, switchless, Airlock, asio.
void add_calls_command(CLI::App& app);
// `sys`: enclave file and socket I/O, io_uring ring path against the transition.
void add_sys_command(CLI::App& app);
// `suvm`: secure paging against plain memory and modelled EPC paging.
void add_suvm_command(CLI::App& app);
// `ps`: the parameter server's rate sweep (built with apps/ps).
void add_ps_command(CLI::App& app);

// The `bare` round trip of `pingpong` (one atomic word each way, timed with
// steady_clock): {p50 ns, p99 ns} of one repetition of `seconds`, threads
// pinned to `cpus`. The calls benchmark measures it in its own run, for the
// target that names it.
std::vector<double> pingpong_bare_round_trip(const std::vector<int>& cpus, double seconds);

}  // namespace airlock::bench
