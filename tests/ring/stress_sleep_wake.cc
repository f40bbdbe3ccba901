// SPDX-License-Identifier: Apache-2.0
// Description: a million sleep/wake handshakes between two threads lose no wake-up.
//
// Both sides wait with spin_iterations = 0 and yield_iterations = 0, so every
// wait that does not find its condition at the first look goes through the
// whole handshake of ring/wait.hh: announce on the doorbell, seq_cst fence,
// re-check, park on the futex. The waker publishes, fences and rings. A lost
// wake-up leaves a thread parked for ever (the policy has no deadline short
// enough to hide it), and the watchdog aborts with both counters printed.
//
// ping_pong: one message each way per round trip, so each round trip puts
// each side through the handshake; 1M round trips (AIRLOCK_STRESS_SCALE
// scales them). On the 2-vCPU development VMs this takes under 10 s in a
// release build: a wake-up that finds its target still on its way into the
// futex is cheap (the futex sees the cleared word and returns), so the
// average stays far below the 50 us of waking a halted vCPU.
//
// tiny_ring: a stream through a 256-byte ring, where the producer also sleeps
// on a full ring and is woken by the consumer's publish of released space, so
// both doorbells of a ring take part. The producer's parks are not left to
// the scheduler: every 256 messages the consumer stops until the producer has
// filled the ring and parked, and the test counts those parks.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "airlock/platform/futex_wait.hh"
#include "support/message_stream.hh"
#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;

namespace {

// Long enough that only a lost wake-up (or a dead peer) reaches it; then
// the wait reports timed_out instead of hanging past the watchdog.
constexpr std::uint64_t peer_gone_ns = 60'000'000'000;

constexpr wait_policy always_park(wait_hooks* hooks) {
    return {
        .spin_iterations = 0, .yield_iterations = 0, .timeout_ns = peer_gone_ns, .hooks = hooks};
}

std::span<const std::byte> word_bytes(const std::uint64_t& v) {
    return {reinterpret_cast<const std::byte*>(&v), sizeof v};
}

std::uint64_t word_of(const message& m) {
    std::uint64_t v = ~0ull;
    if (m.bytes.size() == sizeof v) std::memcpy(&v, m.bytes.data(), sizeof v);
    return v;
}

unsigned long long ull(std::uint64_t v) {
    return static_cast<unsigned long long>(v);
}

}  // namespace

TEST(stress_sleep_wake, ping_pong_round_trips) {
    const std::uint64_t round_trips = test::scaled_count(1'000'000);
    test::counting_wait_hooks hooks(platform::futex_wait_hooks::instance());
    test::test_region r({256, 256});  // ring 0: ping, ring 1: pong
    const wait_policy policy = always_park(&hooks);
    std::atomic<std::uint64_t> pings{0};
    std::atomic<std::uint64_t> pongs{0};
    test::first_failure failure;
    test::watchdog dog(
        std::chrono::seconds(240), "stress_sleep_wake.ping_pong (lost wake-up?)", [&] {
            std::fprintf(stderr, "pings sent %llu, pongs sent %llu of %llu; bells %llu %llu\n",
                         ull(pings.load()), ull(pongs.load()), ull(round_trips),
                         ull(shared::load_relaxed(r.ring(0).control->consumer_bell.word)),
                         ull(shared::load_relaxed(r.ring(1).control->consumer_bell.word)));
        });

    std::thread ponger([&] {
        ring_consumer in(r.ring(0), {{.hooks = &hooks}});
        ring_producer out(r.ring(1), {.hooks = &hooks});
        for (std::uint64_t i = 0; i < round_trips && !failure.failed(); ++i) {
            auto m = in.receive(policy);
            if (!m)
                return failure.report("pong " + std::to_string(i) +
                                      ": receive failed: " + std::string(to_string(m.error())));
            if (word_of(*m) != i)
                return failure.report("pong " + std::to_string(i) + ": ping expected " +
                                      std::to_string(i) + ", got " + std::to_string(word_of(*m)));
            auto s = out.send(2, word_bytes(i), policy);
            if (!s)
                return failure.report("pong " + std::to_string(i) +
                                      ": send failed: " + std::string(to_string(s.error())));
            pongs.store(i + 1, std::memory_order_relaxed);
        }
    });
    std::uint64_t completed = 0;
    {
        ring_producer out(r.ring(0), {.hooks = &hooks});
        ring_consumer in(r.ring(1), {{.hooks = &hooks}});
        for (std::uint64_t i = 0; i < round_trips && !failure.failed(); ++i) {
            auto s = out.send(1, word_bytes(i), policy);
            if (!s) {
                failure.report("ping " + std::to_string(i) +
                               ": send failed: " + std::string(to_string(s.error())));
                break;
            }
            pings.store(i + 1, std::memory_order_relaxed);
            auto m = in.receive(policy);
            if (!m) {
                failure.report("ping " + std::to_string(i) +
                               ": receive failed: " + std::string(to_string(m.error())));
                break;
            }
            if (word_of(*m) != i) {
                failure.report("ping " + std::to_string(i) + ": pong expected " +
                               std::to_string(i) + ", got " + std::to_string(word_of(*m)));
                break;
            }
            ++completed;
        }
    }
    ponger.join();

    EXPECT_EQ(failure.text(), "");
    EXPECT_EQ(completed, round_trips) << "round trips";
    EXPECT_EQ(pongs.load(), round_trips);
    // With no spinning, a side that does not find the reply at its first look
    // parks; the reply cannot realistically come within those few
    // nanoseconds, so most round trips park at least once.
    EXPECT_GE(hooks.parks.load(), round_trips / 2) << "the handshake path was not exercised";
    std::printf("%llu round trips; %llu parks, %llu unparks\n", ull(round_trips),
                ull(hooks.parks.load()), ull(hooks.unparks.load()));
}

TEST(stress_sleep_wake, tiny_ring_sleeps_on_both_doorbells) {
    const std::uint64_t count = test::scaled_count(1'000'000);
    test::test_region r({256});
    test::counting_wait_hooks hooks(platform::futex_wait_hooks::instance(),
                                    &r.ring().control->producer_bell.word);
    const wait_policy policy = always_park(&hooks);
    ring_producer p(r.ring(), {.hooks = &hooks});
    ring_consumer c(r.ring(), {{.hooks = &hooks}});
    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> received{0};
    test::first_failure failure;
    test::watchdog dog(
        std::chrono::seconds(240), "stress_sleep_wake.tiny_ring (lost wake-up?)", [&] {
            std::fprintf(
                stderr,
                "sent %llu, received %llu of %llu; consumer bell %llu, producer bell %llu\n",
                ull(sent.load()), ull(received.load()), ull(count),
                ull(shared::load_relaxed(r.ring().control->consumer_bell.word)),
                ull(shared::load_relaxed(r.ring().control->producer_bell.word)));
        });

    // A stop while at least `stop_margin` messages are still to come: more than
    // the ring holds, so the producer must fill it and park.
    constexpr std::uint64_t stop_every = 256;
    constexpr std::uint64_t stop_margin = 64;
    std::uint64_t stops = 0;
    std::uint64_t parks_seen = 0;
    std::thread consumer([&] {
        for (std::uint64_t i = 0; i < count && !failure.failed(); ++i) {
            // Waits for a park since the last stop: the producer may be
            // parked already (then waiting for a further park would wait for
            // ever), else it fills the ring and parks.
            if (i % stop_every == stop_every / 2 && i + stop_margin < count) {
                while (hooks.parks_on_watched.load() == parks_seen && !failure.failed())
                    std::this_thread::yield();
                parks_seen = hooks.parks_on_watched.load();
                ++stops;
            }
            auto m = c.receive(policy);
            if (!m)
                return failure.report("message " + std::to_string(i) +
                                      ": receive failed: " + std::string(to_string(m.error())));
            if (word_of(*m) != i)
                return failure.report("message expected " + std::to_string(i) + ", got " +
                                      std::to_string(word_of(*m)));
            received.store(i + 1, std::memory_order_relaxed);
        }
    });
    for (std::uint64_t i = 0; i < count && !failure.failed(); ++i) {
        auto s = p.send(1, word_bytes(i), policy);
        if (!s) {
            failure.report("message " + std::to_string(i) +
                           ": send failed: " + std::string(to_string(s.error())));
            break;
        }
        sent.store(i + 1, std::memory_order_relaxed);
    }
    consumer.join();

    EXPECT_EQ(failure.text(), "");
    EXPECT_EQ(sent.load(), count);
    EXPECT_EQ(received.load(), count);
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty) << "a message too many";
    // Each stop waited for a park of the producer on the full ring since the
    // previous one, and the consumer's release of space woke it (a lost
    // wake-up trips the watchdog).
    EXPECT_GE(stops, count / stop_every - 1) << "the consumer stopped too rarely";
    EXPECT_GE(hooks.parks_on_watched.load(), stops) << "parks by the producer on a full ring";
}
