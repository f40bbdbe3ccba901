// SPDX-License-Identifier: Apache-2.0
// Description: ten million messages of random sizes cross one ring between two threads, intact.
//
// One producer thread and one consumer thread use blocking send()/receive()
// with the futex wait hooks and the default wait policy (spin, yield,
// park). Sizes come from a seeded PRNG (test::message_stream): mostly 0..64
// bytes, about one in a thousand 1 KiB..4x the ring, so those travel as
// fragments. The consumer checks every message's order (tag and content are
// functions of its sequence number), length and bytes. The count is 10M,
// scaled by AIRLOCK_STRESS_SCALE (the TSan run uses a twentieth).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "airlock/platform/futex_wait.hh"
#include "support/message_stream.hh"
#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;

namespace {

constexpr std::size_t ring_capacity = 16 * 1024;
// A wait this long means the peer is gone: report it instead of hanging.
constexpr std::uint64_t peer_gone_ns = 60'000'000'000;

std::string describe(std::uint64_t seq, const char* what, std::size_t expected, std::size_t got) {
    return "message " + std::to_string(seq) + ": " + what + " expected " +
           std::to_string(expected) + ", got " + std::to_string(got);
}

}  // namespace

TEST(stress_spsc_random_sizes, ten_million_messages_in_order_and_intact) {
    const std::uint64_t count = test::scaled_count(10'000'000);
    const test::message_stream stream{.seed = 20261121,
                                      .small_max = 64,
                                      .large_min = 1024,
                                      .large_max = 4 * ring_capacity,
                                      .large_per_65536 = 64};
    test::counting_wait_hooks hooks(platform::futex_wait_hooks::instance());
    test::test_region r({ring_capacity});
    ring_producer p(r.ring(), {.hooks = &hooks});
    ring_consumer c(r.ring(), {{.hooks = &hooks}});
    const wait_policy policy{.timeout_ns = peer_gone_ns, .hooks = &hooks};

    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> received{0};
    std::uint64_t fragmented = 0;
    test::first_failure failure;
    test::watchdog dog(std::chrono::seconds(280), "stress_spsc_random_sizes", [&] {
        std::fprintf(stderr, "sent %llu, received %llu of %llu\n",
                     static_cast<unsigned long long>(sent.load()),
                     static_cast<unsigned long long>(received.load()),
                     static_cast<unsigned long long>(count));
    });

    std::thread consumer([&] {
        for (std::uint64_t seq = 0; seq < count && !failure.failed(); ++seq) {
            auto m = c.receive(policy);
            if (!m) {
                failure.report("message " + std::to_string(seq) +
                               ": receive failed: " + std::string(to_string(m.error())));
                return;
            }
            const std::size_t n = stream.size_of(seq);
            if (m->bytes.size() != n)
                return failure.report(describe(seq, "length", n, m->bytes.size()));
            if (m->tag != test::message_stream::tag_of(seq))
                return failure.report(
                    describe(seq, "tag", test::message_stream::tag_of(seq), m->tag));
            if (const long at = test::first_mismatch(m->bytes, seq); at >= 0)
                return failure.report(test::describe_mismatch(seq, m->bytes, at));
            received.store(seq + 1, std::memory_order_relaxed);
        }
    });

    std::vector<std::byte> buffer(stream.large_max);
    for (std::uint64_t seq = 0; seq < count && !failure.failed(); ++seq) {
        const std::size_t n = stream.size_of(seq);
        const std::span<std::byte> bytes(buffer.data(), n);
        test::fill_pattern(bytes, seq);
        fragmented += n > p.max_record_payload() ? 1 : 0;
        auto s = p.send(test::message_stream::tag_of(seq), bytes, policy);
        if (!s) {
            failure.report("message " + std::to_string(seq) +
                           ": send failed: " + std::string(to_string(s.error())));
            break;
        }
        sent.store(seq + 1, std::memory_order_relaxed);
    }
    consumer.join();

    EXPECT_EQ(failure.text(), "");
    EXPECT_EQ(sent.load(), count);
    EXPECT_EQ(received.load(), count);
    EXPECT_GT(fragmented, 0u) << "the stream must include fragmented messages";
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty) << "a message too many";
    EXPECT_FALSE(p.faulted());
    EXPECT_FALSE(c.faulted());
    std::printf(
        "%llu messages (%llu fragmented); %llu waits past spinning, %llu parks, %llu unparks\n",
        static_cast<unsigned long long>(count), static_cast<unsigned long long>(fragmented),
        static_cast<unsigned long long>(hooks.clock_reads.load() - hooks.parks.load()),
        static_cast<unsigned long long>(hooks.parks.load()),
        static_cast<unsigned long long>(hooks.unparks.load()));
}
