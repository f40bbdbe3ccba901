// SPDX-License-Identifier: Apache-2.0
#pragma once
// bench/commands.hh: the subcommands of airlock-bench.
//
// Each subcommand lives in its own file and registers itself on the
// top-level CLI11 app with one of these functions; bench/main.cc calls them
// all. A new benchmark (calls, kv ...) adds a file and a line here.
//
// Thread contract: called from main() before parsing.

#include <CLI/CLI.hpp>

namespace airlock::bench {

// `ring`: one-way throughput of one SPSC ring against peer queues.
void add_ring_command(CLI::App& app);
// `pingpong`: round trip of one message each way.
void add_pingpong_command(CLI::App& app);
// `fanin`: many producers into one consumer.
void add_fanin_command(CLI::App& app);
// `calls`: calls across the boundary: modelled ecall, switchless, Airlock, asio.
void add_calls_command(CLI::App& app);

}  // namespace airlock::bench
