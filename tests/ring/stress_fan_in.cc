// SPDX-License-Identifier: Apache-2.0
// Description: three producer threads into one fan_in_consumer keep their order and bytes.
//
// Each producer has its own ring and message stream (seeded PRNG sizes,
// mostly small, some fragmented) and blocks in send() with the futex wait
// hooks; the consumer blocks in fan_in_consumer::receive(), parking on the
// shared doorbell. Per producer, messages must arrive in order, with the
// right length, tag and bytes. 1M messages per producer by default, scaled
// by AIRLOCK_STRESS_SCALE.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "airlock/platform/futex_wait.hh"
#include "airlock/ring/fan_in.hh"
#include "support/message_stream.hh"
#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;

namespace {

constexpr std::size_t producers = 3;
constexpr std::size_t ring_capacity = 16 * 1024;
constexpr std::uint64_t peer_gone_ns = 60'000'000'000;

// Message `seq` of producer `i` is pattern(size, key(i, seq)).
constexpr std::uint64_t key(std::size_t i, std::uint64_t seq) {
    return (std::uint64_t{i} << 40) + seq;
}

}  // namespace

TEST(stress_fan_in, three_producers_keep_their_order_and_content) {
    const std::uint64_t per_producer = test::scaled_count(1'000'000);
    test::counting_wait_hooks hooks(platform::futex_wait_hooks::instance());
    test::test_region r(std::vector<std::size_t>(producers, ring_capacity), 1);
    std::vector<ring_view> views;
    for (std::size_t i = 0; i < producers; ++i)
        views.push_back(r.ring(i));
    wire::doorbell& bell = r.region().doorbell(0);
    fan_in_consumer f(views, bell, {{.hooks = &hooks}});
    const wait_policy policy{.timeout_ns = peer_gone_ns, .hooks = &hooks};

    std::array<test::message_stream, producers> streams;
    for (std::size_t i = 0; i < producers; ++i)
        streams[i] = {.seed = 1000 + i,
                      .small_max = 64,
                      .large_min = 1024,
                      .large_max = 3 * ring_capacity,
                      .large_per_65536 = 64};

    std::array<std::atomic<std::uint64_t>, producers> sent{};
    std::array<std::uint64_t, producers> next{};  // consumer side, per ring
    std::atomic<std::uint64_t> received{0};
    test::first_failure failure;
    test::watchdog dog(std::chrono::seconds(280), "stress_fan_in", [&] {
        for (std::size_t i = 0; i < producers; ++i)
            std::fprintf(stderr, "producer %zu sent %llu of %llu\n", i,
                         static_cast<unsigned long long>(sent[i].load()),
                         static_cast<unsigned long long>(per_producer));
        std::fprintf(stderr, "received %llu\n", static_cast<unsigned long long>(received.load()));
    });

    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < producers; ++i) {
        threads.emplace_back([&, i] {
            ring_producer p(views[i], {.hooks = &hooks, .peer_bell = &bell});
            std::vector<std::byte> buffer(streams[i].large_max);
            for (std::uint64_t seq = 0; seq < per_producer && !failure.failed(); ++seq) {
                const std::size_t n = streams[i].size_of(seq);
                const std::span<std::byte> bytes(buffer.data(), n);
                test::fill_pattern(bytes, key(i, seq));
                auto s = p.send(test::message_stream::tag_of(seq), bytes, policy);
                if (!s) {
                    failure.report("producer " + std::to_string(i) + ", message " +
                                   std::to_string(seq) +
                                   ": send failed: " + std::string(to_string(s.error())));
                    return;
                }
                sent[i].store(seq + 1, std::memory_order_relaxed);
            }
        });
    }

    const std::uint64_t total = producers * per_producer;
    for (std::uint64_t k = 0; k < total && !failure.failed(); ++k) {
        auto m = f.receive(policy);
        if (!m) {
            failure.report("receive failed after " + std::to_string(k) +
                           " messages: " + std::string(to_string(m.error())));
            break;
        }
        const std::size_t i = m->ring;
        if (i >= producers) {
            failure.report("message from ring " + std::to_string(i));
            break;
        }
        const std::uint64_t seq = next[i]++;
        const std::string who = "producer " + std::to_string(i) + ", ";
        if (seq >= per_producer) {
            failure.report(who + "one message too many");
            break;
        }
        const std::size_t n = streams[i].size_of(seq);
        if (m->bytes.size() != n) {
            failure.report(who + "message " + std::to_string(seq) + ": length expected " +
                           std::to_string(n) + ", got " + std::to_string(m->bytes.size()));
            break;
        }
        if (m->tag != test::message_stream::tag_of(seq)) {
            failure.report(who + "message " + std::to_string(seq) + ": tag expected " +
                           std::to_string(test::message_stream::tag_of(seq)) + ", got " +
                           std::to_string(m->tag) + " (out of order?)");
            break;
        }
        if (const long at = test::first_mismatch(m->bytes, key(i, seq)); at >= 0) {
            failure.report(who + test::describe_mismatch(key(i, seq), m->bytes, at));
            break;
        }
        received.store(k + 1, std::memory_order_relaxed);
    }
    for (std::thread& t : threads)
        t.join();

    EXPECT_EQ(failure.text(), "");
    for (std::size_t i = 0; i < producers; ++i) {
        EXPECT_EQ(sent[i].load(), per_producer) << "producer " << i;
        EXPECT_EQ(next[i], per_producer) << "producer " << i;
    }
    EXPECT_EQ(f.try_receive().error(), errc::ring_empty) << "a message too many";
    EXPECT_EQ(f.healthy_rings(), producers);
    std::printf(
        "%llu messages from %zu producers; %llu waits past spinning, %llu parks, %llu unparks\n",
        static_cast<unsigned long long>(total), producers,
        static_cast<unsigned long long>(hooks.clock_reads.load() - hooks.parks.load()),
        static_cast<unsigned long long>(hooks.parks.load()),
        static_cast<unsigned long long>(hooks.unparks.load()));
}
