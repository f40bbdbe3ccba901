// SPDX-License-Identifier: Apache-2.0
// airlock-bench fanin: --producers threads into one consumer.
//
// Implementations:
//   airlock        one SPSC ring per producer (ring_producer try_reserve /
//                  write / commit, publish every --batch records), read by a
//                  ring::fan_in_consumer with try_receive (round-robin,
//                  copying, every ring validated on its own).
//   moodycamel_cq  one moodycamel::ConcurrentQueue<std::array<std::byte, N>>
//                  (the MPSC peer), a ProducerToken per producer and a
//                  ConsumerToken, bounded (try_enqueue never allocates).
// Placement (--cpus): the consumer on the first CPU, producers round-robin
// on the others (on two CPUs: every producer shares the second one, so the
// consumer is never preempted by a producer). Each message carries its
// producer and sequence number; the consumer checks per-producer order.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "airlock/ring/fan_in.hh"
#include "commands.hh"
#include "peers.hh"
#include "support.hh"

namespace airlock::bench {
namespace {

struct fanin_options : common_options {
    std::vector<std::size_t> sizes{8, 64};
    std::size_t producers = 2;
    std::size_t ring_bytes = 65536;  // per producer
    std::size_t batch = 32;
};

std::size_t storage_bytes(const fanin_options& o, std::size_t bytes) {
    return std::max(o.ring_bytes, 8 * bytes);
}

// Message word: producer in the top 16 bits, sequence number below.
constexpr int producer_shift = 48;
constexpr std::uint64_t sequence_mask = (std::uint64_t{1} << producer_shift) - 1;

// The fan-in harness. `push(p, word)` tries to enqueue from producer `p`
// (false: full), `flush(p)` publishes what producer `p` holds back,
// `pop(word)` tries to dequeue (false: empty). Returns {msgs/s}.
template <class Push, class Flush, class Pop>
std::vector<double> fan_in(const fanin_options& o, double seconds, std::size_t bytes, Push&& push,
                           Flush&& flush, Pop&& pop) {
    const std::size_t n = o.producers;
    std::vector<int> cpus{cpu_for(o.cpus, 0)};
    for (std::size_t p = 0; p < n; ++p)
        cpus.push_back(o.cpus.size() > 1 ? o.cpus[1 + p % (o.cpus.size() - 1)]
                                         : cpu_for(o.cpus, 0));
    start_gate gate(static_cast<int>(n + 1));
    alignas(128) std::atomic<std::uint64_t> total_sent{0};
    alignas(128) std::atomic<std::size_t> producers_done{0};
    std::uint64_t received = 0;
    bool in_order = true;
    clock::time_point t0, t1;
    const std::uint64_t check_every = std::clamp<std::size_t>(16384 / bytes, 1, 1024);
    run_threads(n + 1, cpus, [&](std::size_t role) {
        if (role != 0) {
            const std::size_t p = role - 1;
            auto try_push = push;  // copies on this thread's stack
            auto publish = flush;
            const auto deadline = gate.arrive_and_wait() + std::chrono::duration<double>(seconds);
            const std::uint64_t id = std::uint64_t{p} << producer_shift;
            std::uint64_t seq = 0;
            backoff wait;
            for (;;) {
                for (std::uint64_t i = 0; i < check_every; ++i, ++seq) {
                    while (!try_push(p, id | seq))
                        wait.pause();
                    wait.reset();
                }
                if (clock::now() >= deadline) break;
            }
            publish(p);
            total_sent.fetch_add(seq, std::memory_order_relaxed);
            producers_done.fetch_add(1, std::memory_order_release);  // after total_sent
            return;
        }
        auto try_pop = pop;
        std::vector<std::uint64_t> next(n, 0);
        t0 = gate.arrive_and_wait();
        std::uint64_t count = 0;
        bool ok = true;
        backoff wait;
        for (;;) {
            std::uint64_t word;
            if (try_pop(word)) {
                const std::uint64_t p = word >> producer_shift;
                ok &= p < n && (word & sequence_mask) == next[p < n ? p : 0]++;
                ++count;
                wait.reset();
                continue;
            }
            if (producers_done.load(std::memory_order_acquire) == n &&
                count == total_sent.load(std::memory_order_relaxed))
                break;
            wait.pause();
        }
        t1 = clock::now();
        received = count;
        in_order = ok;
    });
    if (!in_order || received != total_sent.load())
        fail("fanin: messages lost, repeated or out of order");
    return {static_cast<double>(received) / seconds_between(t0, t1)};
}

[[noreturn]] void fail_errc(const char* what, errc e) {
    fail(std::string(what) + ": " + std::string(to_string(e)));
}

std::vector<double> run_airlock(const fanin_options& o, std::size_t bytes, double seconds) {
    const std::size_t n = o.producers;
    bench_region region(
        std::vector<std::size_t>(n, ring_capacity_at_least(storage_bytes(o, bytes))), 1);
    std::vector<ring::ring_view> views;
    for (std::size_t i = 0; i < n; ++i)
        views.push_back(region.region().ring(i));
    // Each thread's state on lines of its own, as if in another address space.
    auto consumer = std::make_unique<isolated<ring::fan_in_consumer>>(
        ring::fan_in_consumer(views, region.region().doorbell(0)));
    ring::endpoint_options eopts;
    eopts.peer_bell = &consumer->value.bell();
    struct producer_state {
        ring::ring_producer ring;
        private_bytes src;
        std::size_t pending = 0;
    };
    std::vector<std::unique_ptr<isolated<producer_state>>> owned;
    std::vector<producer_state*> producers;
    for (std::size_t i = 0; i < n; ++i) {
        owned.push_back(std::make_unique<isolated<producer_state>>(
            producer_state{ring::ring_producer(views[i], eopts), private_bytes(bytes)}));
        producers.push_back(&owned.back()->value);
    }
    if (bytes > producers[0]->ring.max_record_payload())
        fail("fanin: message larger than a record");
    const std::size_t batch = o.batch;
    auto push = [producers = producers.data(), bytes, batch](std::size_t p, std::uint64_t word) {
        producer_state& s = *producers[p];
        auto r = s.ring.try_reserve(bytes, 1);
        if (!r) [[unlikely]] {
            if (r.error() == errc::ring_full) return false;
            fail_errc("airlock producer", r.error());
        }
        std::memcpy(s.src.data(), &word, 8);
        r->write(s.src.span());
        s.ring.commit(*r);
        if (++s.pending == batch) {
            s.ring.publish();
            s.pending = 0;
        }
        return true;
    };
    auto flush = [producers = producers.data()](std::size_t p) { producers[p]->ring.publish(); };
    auto pop = [&fan = consumer->value, bytes](std::uint64_t& word) {
        auto m = fan.try_receive();
        if (!m) [[unlikely]] {
            if (m.error() == errc::ring_empty) return false;
            fail_errc("airlock fan-in consumer", m.error());
        }
        if (m->bytes.size() != bytes) [[unlikely]]
            fail("airlock fan-in consumer: wrong message size");
        std::memcpy(&word, m->bytes.data(), 8);
        return true;
    };
    return fan_in(o, seconds, bytes, push, flush, pop);
}

#if AIRLOCK_BENCH_HAVE_CONCURRENTQUEUE
template <std::size_t N>
std::vector<double> run_concurrentqueue(const fanin_options& o, double seconds) {
    using queue = moodycamel::ConcurrentQueue<payload<N>>;
    const std::size_t n = o.producers;
    // The same storage per producer as airlock. An explicit producer keeps
    // the blocks it once used, so without a bound of its own one producer
    // can take every block and starve the others for good (upstream issues
    // #55, #193, #292). Each producer is therefore held to `limit` messages
    // in flight by a credit the consumer returns every `every` messages, read
    // from a cached copy like a ring index: the same back-pressure an
    // airlock ring gives, at a similar cost.
    const std::uint64_t limit = storage_bytes(o, N) / N;
    const std::uint64_t every = std::clamp<std::uint64_t>(limit / 4, 1, 256);
    auto q = std::make_unique<queue>(2 * n * (limit + 2 * queue::BLOCK_SIZE), n, 0);
    struct alignas(128) credit {
        std::atomic<std::uint64_t> consumed{0};
    };
    // Each thread's state on lines of its own.
    struct alignas(128) producer_state {
        explicit producer_state(queue& q) : token(q) {}
        moodycamel::ProducerToken token;
        std::uint64_t sent = 0;
        std::uint64_t consumed_cache = 0;
        payload<N> src{};
    };
    struct alignas(128) consumer_state {
        explicit consumer_state(queue& q, std::size_t producers)
            : token(q), consumed(producers, 0) {}
        moodycamel::ConsumerToken token;
        std::vector<std::uint64_t> consumed;
        payload<N> dst{};
    };
    auto credits = std::make_unique<credit[]>(n);
    std::vector<std::unique_ptr<producer_state>> owned;
    std::vector<producer_state*> producers;
    for (std::size_t i = 0; i < n; ++i) {
        owned.push_back(std::make_unique<producer_state>(*q));
        producers.push_back(owned.back().get());
    }
    auto consumer = std::make_unique<consumer_state>(*q, n);
    auto push = [q = q.get(), producers = producers.data(), credits = credits.get(), limit](
                    std::size_t p, std::uint64_t word) {
        producer_state& s = *producers[p];
        if (s.sent - s.consumed_cache >= limit) [[unlikely]] {
            s.consumed_cache = credits[p].consumed.load(std::memory_order_acquire);
            if (s.sent - s.consumed_cache >= limit) return false;
        }
        std::memcpy(s.src.data(), &word, 8);
        if (!q->try_enqueue(s.token, s.src)) [[unlikely]]
            return false;
        ++s.sent;
        return true;
    };
    auto pop = [q = q.get(), c = consumer.get(), credits = credits.get(), n,
                every](std::uint64_t& word) {
        if (!q->try_dequeue(c->token, c->dst)) return false;
        std::memcpy(&word, c->dst.data(), 8);
        const std::uint64_t p = word >> producer_shift;
        if (p < n && ++c->consumed[p] % every == 0)
            credits[p].consumed.store(c->consumed[p], std::memory_order_release);
        return true;
    };
    return fan_in(
        o, seconds, N, push, [](std::size_t) {}, pop);
}
#endif

void run_fanin(const fanin_options& o) {
    if (o.producers == 0 || o.producers > 1024) fail("--producers must be in [1, 1024]");
    if (o.batch == 0) fail("--batch must be at least 1");
    std::vector<trial> trials;
    for (const std::size_t bytes : o.sizes) {
        trials.push_back(
            {"airlock", bytes, [&o, bytes](double s) { return run_airlock(o, bytes, s); }, {}});
#if AIRLOCK_BENCH_HAVE_CONCURRENTQUEUE
        if (with_payload_size(bytes, [](auto) {}))
            trials.push_back({"moodycamel_cq",
                              bytes,
                              [&o, bytes](double s) {
                                  std::vector<double> r;
                                  with_payload_size(bytes, [&](auto n) {
                                      r = run_concurrentqueue<decltype(n)::value>(o, s);
                                  });
                                  return r;
                              },
                              {}});
#endif
    }

    print_environment("fanin", o);
    if (!moodycamel_cq.present)
        print_note("fanin", o,
                   "moodycamel_cq missing: header <" + std::string(moodycamel_cq.header) +
                       "> not found at build time");

    run_interleaved(trials, o);

    if (o.json) {
        for (const trial& t : trials)
            json_line()
                .str("bench", "fanin")
                .str("impl", t.impl)
                .integer("producers", o.producers)
                .integer("bytes", t.bytes)
                .num("msgs_per_sec", summarize(t, 0).median)
                .print();
    } else {
        table out({"producers", "bytes", "impl", "msgs/s", "min", "max"});
        for (const trial& t : trials) {
            const summary rate = summarize(t, 0);
            out.add_row({std::to_string(o.producers), std::to_string(t.bytes), t.impl,
                         grouped(rate.median), grouped(rate.min), grouped(rate.max)});
        }
        out.print();
        std::printf("\n");
    }
    for (const std::size_t bytes : o.sizes) {
        const trial* a = find_trial(trials, "airlock", bytes);
        const trial* peer = find_trial(trials, "moodycamel_cq", bytes);
        if (peer == nullptr) continue;
        const double ratio = summarize(*a, 0).median / summarize(*peer, 0).median;
        if (o.json)
            json_line()
                .str("bench", "fanin")
                .str("ratio", "airlock/moodycamel_cq")
                .integer("producers", o.producers)
                .integer("bytes", bytes)
                .num("value", ratio, 3)
                .print();
        else
            std::printf("airlock/moodycamel_cq at %zu bytes: %.2f\n", bytes, ratio);
    }
}

}  // namespace

void add_fanin_command(CLI::App& app) {
    auto options = std::make_shared<fanin_options>();
    CLI::App* sub =
        app.add_subcommand("fanin", "Many producers into one consumer against an MPSC queue");
    add_common_options(*sub, *options);
    add_sizes_option(*sub, options->sizes);
    sub->add_option("--producers", options->producers, "Producer threads")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
        ->capture_default_str();
    sub->add_option("--ring-bytes", options->ring_bytes, "Storage per producer in bytes")
        ->check(CLI::Range(std::size_t{256}, std::size_t{1} << 30))
        ->capture_default_str();
    sub->add_option("--batch", options->batch, "Records committed per publish (airlock)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
        ->capture_default_str();
    sub->callback([options] { run_fanin(*options); });
}

}  // namespace airlock::bench
