// SPDX-License-Identifier: Apache-2.0
// airlock-bench pingpong: round trip of one 8-byte message out and one back,
// initiator and responder on different CPUs (--cpus: initiator first).
//
// Implementations, all spinning (the same back-off) while they wait:
//   airlock     two rings, one each way: try_send (reserve, write, commit,
//               publish) out, try_peek / copy_to / release back.
//   bare        one atomic word per direction, each on its own cache line:
//               the cache-coherence floor of this machine.
//   boost_spsc  two boost::lockfree::spsc_queue<std::uint64_t>.
// The initiator reads steady_clock once per round trip (its cost is part of
// every figure alike). Each repetition yields p50 and p99 of its round
// trips; the figures are medians of those over interleaved repetitions.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "airlock/ring/spsc_ring.hh"
#include "commands.hh"
#include "peers.hh"
#include "support.hh"

namespace airlock::bench {
namespace {

struct pingpong_options : common_options {
    std::size_t ring_bytes = 65536;
};

constexpr std::uint64_t stop_value = std::numeric_limits<std::uint64_t>::max();

// The round-trip harness. `Endpoint` has `send(std::uint64_t)` and
// `bool try_receive(std::uint64_t&)`; `a` is the initiator's, `b` the
// responder's. Returns {p50 ns, p99 ns}.
template <class Endpoint>
std::vector<double> round_trips(const pingpong_options& o, double seconds, Endpoint& a,
                                Endpoint& b) {
    // At most one sample per 50 ns, preallocated and touched before timing.
    const auto capacity = static_cast<std::size_t>(std::max(seconds * 2e7, 1000.0));
    std::vector<std::uint32_t> samples(capacity);  // written by the initiator only
    std::size_t count = 0;                         // set by the initiator at the end
    start_gate gate(2);
    run_threads(2, {cpu_for(o.cpus, 0), cpu_for(o.cpus, 1)}, [&](std::size_t role) {
        if (role == 0) {
            std::uint32_t* out = samples.data();
            std::size_t k = 0;
            auto previous = gate.arrive_and_wait();
            const auto deadline = previous + std::chrono::duration<double>(seconds);
            backoff wait;
            for (std::uint64_t i = 1;; ++i) {
                a.send(i);
                std::uint64_t reply;
                while (!a.try_receive(reply))
                    wait.pause();
                wait.reset();
                const auto now = clock::now();
                if (reply != i) fail("pingpong: wrong reply");
                const auto ns =
                    std::chrono::duration_cast<std::chrono::nanoseconds>(now - previous);
                out[k++] = static_cast<std::uint32_t>(
                    std::min<std::int64_t>(ns.count(), std::numeric_limits<std::uint32_t>::max()));
                previous = now;
                if (now >= deadline || k == capacity) break;
            }
            a.send(stop_value);
            count = k;
        } else {
            (void)gate.arrive_and_wait();
            backoff wait;
            for (;;) {
                std::uint64_t v;
                while (!b.try_receive(v))
                    wait.pause();
                wait.reset();
                if (v == stop_value) break;
                b.send(v);
            }
        }
    });
    auto percentile = [&](double q) {
        const auto k = static_cast<std::size_t>(q * static_cast<double>(count - 1));
        std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(k),
                         samples.begin() + static_cast<std::ptrdiff_t>(count));
        return static_cast<double>(samples[k]);
    };
    if (count == 0) fail("pingpong: no round trip completed");
    const double p50 = percentile(0.50);
    const double p99 = percentile(0.99);
    return {p50, p99};
}

[[noreturn]] void fail_errc(const char* what, errc e) {
    fail(std::string(what) + ": " + std::string(to_string(e)));
}

// One side of the airlock ping-pong: a producer on its outgoing ring and a
// consumer on its incoming one.
struct airlock_endpoint {
    ring::ring_producer out;
    ring::ring_consumer in;

    void send(std::uint64_t v) {
        std::byte bytes[8];
        std::memcpy(bytes, &v, 8);
        backoff wait;
        for (;;) {
            auto r = out.try_send(1, bytes);
            if (r) return;
            if (r.error() != errc::ring_full) fail_errc("airlock send", r.error());
            wait.pause();
        }
    }
    bool try_receive(std::uint64_t& v) {
        auto r = in.try_peek();
        if (!r) [[unlikely]] {
            if (r.error() == errc::ring_empty) return false;
            fail_errc("airlock receive", r.error());
        }
        std::byte bytes[8];
        r->copy_to(bytes);
        in.release(*r);
        std::memcpy(&v, bytes, 8);
        return true;
    }
};

std::vector<double> run_airlock(const pingpong_options& o, double seconds) {
    const std::size_t capacity = ring_capacity_at_least(o.ring_bytes);
    bench_region region({capacity, capacity});
    const ring::ring_view there = region.region().ring(0);
    const ring::ring_view back = region.region().ring(1);
    auto a = std::make_unique<isolated<airlock_endpoint>>(
        airlock_endpoint{ring::ring_producer(there), ring::ring_consumer(back)});
    auto b = std::make_unique<isolated<airlock_endpoint>>(
        airlock_endpoint{ring::ring_producer(back), ring::ring_consumer(there)});
    return round_trips(o, seconds, a->value, b->value);
}

// One atomic word per direction, each on its own pair of cache lines.
struct alignas(128) bare_line {
    std::atomic<std::uint64_t> value{0};
};

struct bare_endpoint {
    bare_line* out;
    bare_line* in;
    std::uint64_t seen = 0;

    void send(std::uint64_t v) { out->value.store(v, std::memory_order_release); }
    bool try_receive(std::uint64_t& v) {
        const std::uint64_t x = in->value.load(std::memory_order_acquire);
        if (x == seen) return false;
        seen = v = x;
        return true;
    }
};

std::vector<double> run_bare(const pingpong_options& o, double seconds) {
    auto lines = std::make_unique<bare_line[]>(2);
    auto a = std::make_unique<isolated<bare_endpoint>>(bare_endpoint{&lines[0], &lines[1]});
    auto b = std::make_unique<isolated<bare_endpoint>>(bare_endpoint{&lines[1], &lines[0]});
    return round_trips(o, seconds, a->value, b->value);
}

#if AIRLOCK_BENCH_HAVE_BOOST_SPSC
struct boost_endpoint {
    using queue = boost::lockfree::spsc_queue<std::uint64_t>;
    queue* out;
    queue* in;

    void send(std::uint64_t v) {
        backoff wait;
        while (!out->push(v))
            wait.pause();
    }
    bool try_receive(std::uint64_t& v) { return in->pop(v); }
};

std::vector<double> run_boost(const pingpong_options& o, double seconds) {
    const std::size_t slots = ring_capacity_at_least(o.ring_bytes) / 8;
    auto there = std::make_unique<boost_endpoint::queue>(slots);
    auto back = std::make_unique<boost_endpoint::queue>(slots);
    auto a = std::make_unique<isolated<boost_endpoint>>(boost_endpoint{there.get(), back.get()});
    auto b = std::make_unique<isolated<boost_endpoint>>(boost_endpoint{back.get(), there.get()});
    return round_trips(o, seconds, a->value, b->value);
}
#endif

void run_pingpong(const pingpong_options& o) {
    std::vector<trial> trials;
    trials.push_back({"airlock", 8, [&o](double s) { return run_airlock(o, s); }, {}});
    trials.push_back({"bare", 8, [&o](double s) { return run_bare(o, s); }, {}});
#if AIRLOCK_BENCH_HAVE_BOOST_SPSC
    trials.push_back({"boost_spsc", 8, [&o](double s) { return run_boost(o, s); }, {}});
#endif

    print_environment("pingpong", o);
    if (!boost_spsc.present)
        print_note("pingpong", o,
                   "boost_spsc missing: header <" + std::string(boost_spsc.header) +
                       "> not found at build time");

    run_interleaved(trials, o);

    const trial& airlock = trials[0];
    const trial& bare = trials[1];
    const double ratio50 = summarize(airlock, 0).median / summarize(bare, 0).median;
    const double ratio99 = summarize(airlock, 1).median / summarize(bare, 1).median;
    if (o.json) {
        for (const trial& t : trials)
            json_line()
                .str("bench", "pingpong")
                .str("impl", t.impl)
                .num("rtt_ns_p50", summarize(t, 0).median)
                .num("rtt_ns_p99", summarize(t, 1).median)
                .print();
        json_line()
            .str("bench", "pingpong")
            .str("ratio", "airlock/bare")
            .num("p50", ratio50, 3)
            .num("p99", ratio99, 3)
            .num("target_max_p50", 2.5, 1)
            .print();
        return;
    }
    table out({"impl", "rtt p50 ns", "rtt p99 ns", "p50 min", "p50 max", "p99 min", "p99 max"});
    for (const trial& t : trials) {
        const summary p50 = summarize(t, 0);
        const summary p99 = summarize(t, 1);
        out.add_row({t.impl, grouped(p50.median), grouped(p99.median), grouped(p50.min),
                     grouped(p50.max), grouped(p99.min), grouped(p99.max)});
    }
    out.print();
    std::printf("\nairlock/bare round trip: p50 %.2f (target <= 2.5: %s), p99 %.2f\n", ratio50,
                ratio50 <= 2.5 ? "met" : "MISSED", ratio99);
}

}  // namespace

std::vector<double> pingpong_bare_round_trip(const std::vector<int>& cpus, double seconds) {
    pingpong_options o;
    o.cpus = cpus;
    return run_bare(o, seconds);
}

void add_pingpong_command(CLI::App& app) {
    auto options = std::make_shared<pingpong_options>();
    CLI::App* sub = app.add_subcommand(
        "pingpong", "Round trip of one 8-byte message each way against bare atomics");
    add_common_options(*sub, *options);
    sub->add_option("--ring-bytes", options->ring_bytes, "Storage per ring in bytes")
        ->check(CLI::Range(std::size_t{256}, std::size_t{1} << 30))
        ->capture_default_str();
    sub->callback([options] { run_pingpong(*options); });
}

}  // namespace airlock::bench
