// SPDX-License-Identifier: Apache-2.0
// airlock-bench calls: calls across the enclave boundary, one after another,
// with `bytes` of argument copied in and an 8-byte result copied out, caller
// and callee on different CPUs (--cpus: caller first). The modes and what a
// call is are described in calls_baselines.hh: ecall (a MODELLED synchronous
// transition), switchless (Intel-style, the caller spins while a worker runs
// the call), airlock (many calls in flight from coroutines on one thread),
// airlock_sync (one call in flight: the round trip) and asio (a coroutine
// hopping to the other thread's io_context).
//
// Every figure is the median over --reps interleaved repetitions of
// --messages calls each; a repetition copies at most 256 MiB of arguments,
// so large calls run fewer of them (the output says how many).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "calls_baselines.hh"
#include "commands.hh"
#include "support.hh"

namespace airlock::bench {
namespace {

struct calls_options : common_options {
    std::size_t messages = 50'000;
    std::vector<std::size_t> bytes{0, 64, 1024, 65536, 1048576};
    std::string direction_name = "enclave-to-host";  // the seed's direction: ocalls
    std::vector<std::string> modes;                  // empty: all
    std::size_t in_flight = calls_config{}.in_flight;
    std::string json_file;  // also write the JSON lines here (for plots)
    std::string platform_name = "sim";
    std::size_t pool_bytes = calls_config{}.pool_bytes;
    std::size_t pool_threshold = calls_config{}.pool_threshold;
    std::size_t host_pool_max = calls_config{}.host_pool_max;
};

platform::platform_kind platform_of(const calls_options& o) {
    return o.platform_name == "process" ? platform::platform_kind::process
                                        : platform::platform_kind::sim;
}

constexpr std::size_t max_copy_per_rep = std::size_t{256} << 20;

std::size_t messages_for(const calls_options& o, std::size_t bytes) {
    if (bytes == 0) return o.messages;
    return std::clamp<std::size_t>(max_copy_per_rep / bytes, 1, o.messages);
}

call_direction direction_of(const calls_options& o) {
    return o.direction_name == "enclave-to-host" ? call_direction::enclave_to_host
                                                 : call_direction::host_to_enclave;
}

// The trial that measures the channel benchmark's bare ping-pong.
constexpr const char* reference_name = "pingpong_bare";

// Metric order in trial::samples.
enum metric : std::size_t { calls_per_sec, ns_per_call, p50_ns, p99_ns, fallbacks };

// One repetition of `mode` at `bytes`, as run_interleaved wants it. Its
// `seconds` argument is used here as the share of the repetition's calls to
// make: 1.0 for a measured repetition, less for the warm-up round.
std::vector<double> measure_once(const calls_options& o, const calls_mode& mode, std::size_t bytes,
                                 double share) {
    calls_config c;
    c.bytes = bytes;
    c.messages = std::max<std::size_t>(
        1, static_cast<std::size_t>(share * static_cast<double>(messages_for(o, bytes))));
    c.direction = direction_of(o);
    c.caller_cpu = cpu_for(o.cpus, 0);
    c.callee_cpu = cpu_for(o.cpus, 1);
    c.in_flight = o.in_flight;
    c.platform = platform_of(o);
    c.pool_bytes = o.pool_bytes;
    c.pool_threshold = o.pool_threshold;
    c.host_pool_max = o.host_pool_max;
    const calls_result r = mode.measure(c);
    return {r.calls_per_sec, r.ns_per_call, r.p50_ns, r.p99_ns, static_cast<double>(r.fallbacks)};
}

// One ratio of medians from this run, with its target if it has one.
struct target_line {
    std::string name;    // "airlock/switchless"
    std::string metric;  // "calls_per_sec" or "p50_ns"
    std::size_t bytes = 0;
    double value = 0;
    double target = 0;  // 0: none
    bool at_least = true;
};

// The ratios the targets are set on, like for like: the one-call-outstanding
// airlock_sync against switchless (one call outstanding) and the many-in-
// flight airlock against it, both at every size, in calls per second; at 0
// bytes also airlock against ecall, airlock_sync's p50 round trip against
// switchless's and against the bare ping-pong of the channel benchmark
// (and, the stricter reading, this benchmark's own bare, timed with the TSC
// rather than steady_clock); at 1 MiB airlock against bare, which is
// Airlock's bytes per second against what this machine moves between two
// cores (one writes the bytes, the other reads each once). Every ratio is
// of medians measured interleaved in this one process.
std::vector<target_line> targets(const std::vector<trial>& trials,
                                 const std::vector<std::size_t>& sizes) {
    auto median = [&](const char* mode, std::size_t bytes, metric m) -> double {
        const trial* t = find_trial(trials, mode, bytes);
        return t != nullptr ? summarize(*t, m).median : 0.0;
    };
    std::vector<target_line> out;
    auto add = [&](const char* a, const char* b, std::size_t bytes, metric m, double target,
                   bool at_least) {
        const double x = median(a, bytes, m);
        const double y = median(b, bytes, m);
        if (x <= 0 || y <= 0) return;
        out.push_back({std::string(a) + "/" + b, m == p50_ns ? "p50_ns" : "calls_per_sec", bytes,
                       x / y, target, at_least});
    };
    for (const std::size_t bytes : sizes) {
        const bool large = bytes == 65536 || bytes == 1048576;
        if (bytes == 0) add("airlock", "ecall", 0, calls_per_sec, 30, true);
        add("airlock", "switchless", bytes, calls_per_sec, bytes == 0 ? 3 : large ? 2 : 0, true);
        add("airlock_sync", "switchless", bytes, calls_per_sec, large ? 1.2 : 0, true);
        if (bytes == 0) {
            add("airlock_sync", "switchless", 0, p50_ns, 1.0, false);
            add("airlock_sync", reference_name, 0, p50_ns, 3, false);
            add("airlock_sync", "bare", 0, p50_ns, 0, false);
        }
        if (bytes == 1048576) {
            add("airlock", "bare", bytes, calls_per_sec, 0.5, true);
            add("airlock_sync", "bare", bytes, calls_per_sec, 0, true);
        }
    }
    return out;
}

void print_targets(const std::vector<target_line>& lines) {
    std::printf("\nratios of medians, interleaved in this run:\n");
    for (const target_line& l : lines) {
        const std::string what = l.name + ", " + (l.metric == "p50_ns" ? "p50" : "calls/s") +
                                 " at " + grouped(static_cast<double>(l.bytes)) + " B";
        if (l.target <= 0) {
            std::printf("%-46s %7.2f\n", what.c_str(), l.value);
            continue;
        }
        const bool met = l.at_least ? l.value >= l.target : l.value <= l.target;
        std::printf("%-46s %7.2f  (target %s %.1f: %s)\n", what.c_str(), l.value,
                    l.at_least ? ">=" : "<=", l.target, met ? "met" : "NOT met");
    }
}

void run_calls(const calls_options& o) {
    std::vector<const calls_mode*> modes;
    for (const calls_mode& m : calls_modes())
        if ((o.modes.empty() && m.by_default) ||
            std::find(o.modes.begin(), o.modes.end(), m.name) != o.modes.end())
            modes.push_back(&m);
    for (const std::string& wanted : o.modes)
        if (std::none_of(modes.begin(), modes.end(),
                         [&](const calls_mode* m) { return m->name == wanted; }))
            fail("calls: unknown mode '" + wanted + "'");

    std::vector<trial> trials;
    for (const std::size_t bytes : o.bytes) {
        for (const calls_mode* m : modes) {
            trials.push_back(
                {std::string(m->name),
                 bytes,
                 [&o, m, bytes](double share) { return measure_once(o, *m, bytes, share); },
                 {}});
        }
    }

    // A target for airlock_sync names the bare ping-pong of the channel
    // benchmark: measured here, interleaved with the modes, not shown as one.
    const bool wants_reference = find_trial(trials, "airlock_sync", 0) != nullptr;
    if (wants_reference)
        trials.push_back({std::string(reference_name),
                          0,
                          [&o](double share) {
                              const std::vector<double> rtt =
                                  pingpong_bare_round_trip(o.cpus, 0.2 * share);
                              return std::vector<double>{0, 0, rtt[0], rtt[1], 0};
                          },
                          {}});

    std::string cpus;
    for (const int c : o.cpus)
        cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
    const std::string direction(to_string(direction_of(o)));
    const double tsc_ghz = platform::tsc_clock::calibrated().cycles_per_ns();
    // JSON goes to stdout with --json, and to --json-file as well if given.
    std::FILE* json_file = nullptr;
    if (!o.json_file.empty()) {
        json_file = std::fopen(o.json_file.c_str(), "w");
        if (json_file == nullptr) fail("calls: cannot write " + o.json_file);
    }
    auto emit = [&](const json_line& line) {
        if (o.json) line.print();
        if (json_file != nullptr) line.print(json_file);
    };
    {
        json_line header;
        header.str("bench", "calls")
            .str("cpu_model", cpu_model())
            .str("pinned", cpus.empty() ? "none" : cpus)
            .str("platform", o.platform_name)
            .integer("reps", static_cast<std::uint64_t>(o.reps))
            .integer("messages", o.messages)
            .num("tsc_ghz", tsc_ghz, 3)
            .integer("ecall_cycles", platform::modelled_transition::default_cycles_per_call)
            .str("ecall_cost", "modelled");
        emit(header);
    }
    if (!o.json) {
        std::printf(
            "calls: %s, pinned to %s; %s platform; median of %d interleaved reps; TSC %.3f GHz; "
            "ecall is MODELLED as %llu cycles per call\n",
            cpu_model().c_str(), cpus.empty() ? "none" : cpus.c_str(), o.platform_name.c_str(),
            o.reps, tsc_ghz,
            static_cast<unsigned long long>(
                platform::modelled_transition::default_cycles_per_call));
    }

    common_options rounds = o;
    rounds.seconds = 1.0;  // the share of calls per measured repetition (measure_once)
    run_interleaved(trials, rounds);

    auto total = [](const trial& t, std::size_t m) {
        double sum = 0;
        for (const auto& s : t.samples)
            sum += s.at(m);
        return sum;
    };
    table out({"mode", "direction", "bytes", "calls", "calls/s", "MB/s", "ns/call", "p50 ns",
               "p99 ns", "x ecall", "fallbacks"});
    for (const trial& t : trials) {
        if (t.impl == reference_name) continue;
        const double cps = summarize(t, calls_per_sec).median;
        const trial* ecall = find_trial(trials, "ecall", t.bytes);
        const double vs_ecall =
            ecall != nullptr ? cps / summarize(*ecall, calls_per_sec).median : 0;
        {
            json_line line;
            line.str("bench", "calls")
                .str("mode", t.impl)
                .str("direction", direction)
                .str("platform", o.platform_name)
                .integer("bytes", t.bytes)
                .integer("messages", messages_for(o, t.bytes))
                .num("calls_per_sec", cps)
                .num("bytes_per_sec", cps * static_cast<double>(t.bytes))
                .num("ns_per_call", summarize(t, ns_per_call).median, 1)
                .num("p50_ns", summarize(t, p50_ns).median, 1)
                .num("p99_ns", summarize(t, p99_ns).median, 1);
            if (ecall != nullptr) line.num("vs_ecall", vs_ecall, 3);
            line.integer("fallbacks", static_cast<std::uint64_t>(total(t, fallbacks)));
            emit(line);
        }
        if (!o.json) {
            out.add_row(
                {t.impl, direction, grouped(static_cast<double>(t.bytes)),
                 grouped(static_cast<double>(messages_for(o, t.bytes))), grouped(cps),
                 grouped(cps * static_cast<double>(t.bytes) / 1e6),
                 fixed(summarize(t, ns_per_call).median, 1), fixed(summarize(t, p50_ns).median, 1),
                 fixed(summarize(t, p99_ns).median, 1), ecall != nullptr ? fixed(vs_ecall, 2) : "-",
                 grouped(total(t, fallbacks))});
        }
    }
    const std::vector<target_line> ratios = targets(trials, o.bytes);
    for (const target_line& l : ratios) {
        json_line line;
        line.str("bench", "calls")
            .str("ratio", l.name)
            .str("metric", l.metric)
            .integer("bytes", l.bytes)
            .num("value", l.value, 3);
        if (l.target > 0) line.num(l.at_least ? "target_min" : "target_max", l.target, 1);
        emit(line);
    }
    if (!o.json) {
        out.print();
        print_targets(ratios);
    }
    if (json_file != nullptr && std::fclose(json_file) != 0)
        fail("calls: cannot write " + o.json_file);
}

}  // namespace

void add_calls_command(CLI::App& app) {
    auto options = std::make_shared<calls_options>();
    CLI::App* sub = app.add_subcommand(
        "calls",
        "Calls across the boundary: modelled ecall, Intel-style switchless, Airlock, asio");
    sub->add_option("--cpus", options->cpus,
                    "CPUs for the caller and the callee, comma-separated (empty: no pinning)")
        ->delimiter(',')
        ->expected(0, 64)
        ->capture_default_str();
    sub->add_option("--reps", options->reps, "Interleaved repetitions; figures are their medians")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    sub->add_option("--messages", options->messages,
                    "Calls per repetition (fewer for large calls: at most 256 MiB copied)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}))
        ->capture_default_str();
    sub->add_option("--bytes", options->bytes, "Argument sizes in bytes, comma-separated")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 28))
        ->capture_default_str();
    sub->add_option("--direction", options->direction_name, "Who calls")
        ->check(CLI::IsMember({"host-to-enclave", "enclave-to-host"}))
        ->capture_default_str();
    sub->add_option("--modes", options->modes,
                    "Modes to run, comma-separated (default: all: "
                    "bare,ecall,switchless,airlock,airlock_sync,asio)")
        ->delimiter(',');
    sub->add_option("--in-flight", options->in_flight,
                    "Calls in flight at once in the airlock mode (coroutines on one thread)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
        ->capture_default_str();
    sub->add_option("--platform", options->platform_name,
                    "Where the Airlock modes' enclave runs: sim (threads of this process) or "
                    "process (a sealed separate process)")
        ->check(CLI::IsMember({"sim", "process"}))
        ->capture_default_str();
    sub->add_option("--pool-bytes", options->pool_bytes,
                    "Bytes of each buffer pool of the airlock modes (a multiple of 4096; 0: "
                    "none)")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 32))
        ->capture_default_str();
    sub->add_option("--pool-threshold", options->pool_threshold,
                    "Smallest message the airlock modes send through the buffer pool")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32))
        ->capture_default_str();
    sub->add_option("--host-pool-max", options->host_pool_max,
                    "Largest message the host sends through its buffer pool in the airlock "
                    "modes (larger ones stream; 4294967296: no cap)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 32))
        ->capture_default_str();
    sub->add_flag("--json", options->json, "Print one JSON object per line");
    sub->add_option("--json-file", options->json_file,
                    "Also write the JSON lines to this file (tools/plot_calls.py draws them)");
    sub->callback([options] { run_calls(*options); });
}

}  // namespace airlock::bench
