// SPDX-License-Identifier: Apache-2.0
// airlock-bench: measures Airlock against peers, in one run on one machine.
//
//   airlock-bench ring [--json] [--cpus 0,1] [--reps 7] [--seconds 0.2] [--sizes 8,64]
//   airlock-bench pingpong [--json] ...
//   airlock-bench fanin [--json] [--producers 2] ...
//
// Every figure is the median of interleaved repetitions; see docs/benchmarks.md.
#include <CLI/CLI.hpp>

#include "commands.hh"

int main(int argc, char** argv) {
    CLI::App app{"airlock-bench: Airlock rings against peer queues, interleaved, medians"};
    app.require_subcommand(1);
    airlock::bench::add_ring_command(app);
    airlock::bench::add_pingpong_command(app);
    airlock::bench::add_fanin_command(app);
    airlock::bench::add_calls_command(app);
    airlock::bench::add_sys_command(app);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
