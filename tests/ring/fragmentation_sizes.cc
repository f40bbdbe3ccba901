// SPDX-License-Identifier: Apache-2.0
// Description: messages at and around the record limit and the ring size arrive whole and in order.
//
// A message above max_record_payload() travels as fragment_first (8-byte
// total, then data), fragment_middle..., fragment_last. Sizes around every
// boundary go through try_send(outgoing_message&) on one thread (the test
// drains between calls) and through blocking send()/receive() on two.
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include "airlock/platform/futex_wait.hh"
#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;

namespace {

// Sizes around the record limit M and the capacity C.
std::vector<std::size_t> boundary_sizes(std::size_t capacity) {
    const std::size_t m = wire::max_record_payload(capacity);
    const std::size_t c = capacity;
    return {0,         1,         7,         8,          m - 9,     m - 8,     m - 7,     m - 1,
            m,         m + 1,     m + 7,     m + 8,      m + 9,     2 * m - 9, 2 * m - 8, 2 * m - 7,
            2 * m,     2 * m + 1, c - 1,     c,          c + 1,     c + 8,     2 * c - 1, 2 * c,
            2 * c + 1, 3 * c + 5, 4 * c - 3, 7 * c + 11, 16 * c + 3};
}

const std::size_t capacities[] = {256, 1024, 4096};

// Sends `bytes` with try_send(outgoing_message&), draining the consumer
// whenever the ring is full, then receives the whole message.
::testing::AssertionResult send_by_alternating(ring_producer& p, ring_consumer& c,
                                               std::uint16_t tag, std::span<const std::byte> bytes,
                                               std::uint64_t seq) {
    outgoing_message m(tag, bytes);
    std::size_t rounds = 0;
    for (;;) {
        auto s = p.try_send(m);
        if (s) break;
        if (s.error() != errc::ring_full)
            return ::testing::AssertionFailure() << "try_send: " << to_string(s.error());
        if (++rounds > 100'000) return ::testing::AssertionFailure() << "no progress";
        // Take what is there: the message cannot be complete yet.
        auto early = c.try_receive();
        if (early || early.error() != errc::ring_empty)
            return ::testing::AssertionFailure()
                   << "expected ring_empty while the message is incomplete, got "
                   << (early ? "a message" : std::string(to_string(early.error())));
    }
    if (!m.done()) return ::testing::AssertionFailure() << "try_send succeeded but not done()";
    auto got = c.try_receive();
    if (!got) return ::testing::AssertionFailure() << "try_receive: " << to_string(got.error());
    if (got->tag != tag)
        return ::testing::AssertionFailure() << "tag: expected " << tag << ", got " << got->tag;
    return is_pattern(got->bytes, bytes.size(), seq);
}

}  // namespace

TEST(fragmentation_sizes, each_boundary_size_on_one_thread) {
    for (std::size_t cap : capacities) {
        test::test_region r({cap});
        ring_producer p(r.ring());
        ring_consumer c(r.ring());
        std::uint64_t seq = 0;
        // Twice over, so the second pass starts at a different ring offset.
        for (int pass = 0; pass < 2; ++pass) {
            for (std::size_t n : boundary_sizes(cap)) {
                const auto bytes = pattern(n, seq);
                EXPECT_TRUE(send_by_alternating(p, c, static_cast<std::uint16_t>(n), bytes, seq))
                    << "capacity " << cap << ", size " << n << ", pass " << pass;
                ++seq;
            }
        }
        EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
        EXPECT_FALSE(c.faulted());
    }
}

TEST(fragmentation_sizes, each_boundary_size_from_every_start_offset) {
    const std::size_t cap = 256;
    test::test_region r({cap});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    std::uint64_t seq = 0;
    for (std::uint64_t shift = 0; shift < cap; shift += 8) {
        for (std::size_t n : boundary_sizes(cap)) {
            // An 8-byte empty message moves the start by one word each round.
            ASSERT_TRUE(p.try_send(0, {}));
            ASSERT_TRUE(c.try_receive());
            const auto bytes = pattern(n, seq);
            ASSERT_TRUE(send_by_alternating(p, c, 1, bytes, seq))
                << "shift " << shift << ", size " << n;
            ++seq;
        }
    }
}

TEST(fragmentation_sizes, a_message_one_byte_over_the_limit_is_two_fragments) {
    for (std::size_t cap : capacities) {
        test::test_region r({cap});
        ring_producer p(r.ring());
        ring_consumer c(r.ring());
        const std::size_t m = p.max_record_payload();
        const auto bytes = pattern(m + 1, 5);
        outgoing_message out(5, bytes);
        ASSERT_TRUE(p.try_send(out));
        // record_bytes(M) + record_bytes(9) = C/2 + 24
        EXPECT_EQ(test::shared_tail(r.ring()), cap / 2 + 24) << "capacity " << cap;
        auto first = c.try_peek();
        ASSERT_TRUE(first);
        EXPECT_EQ(first->kind(), wire::record_kind::fragment_first);
        EXPECT_EQ(first->size(), m);
        EXPECT_EQ(first->read_word(0), m + 1);
        c.release(*first);
        auto last = c.try_peek();
        ASSERT_TRUE(last);
        EXPECT_EQ(last->kind(), wire::record_kind::fragment_last);
        EXPECT_EQ(last->size(), 9u);
    }
}

TEST(fragmentation_sizes, a_message_at_the_limit_is_one_record) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const auto bytes = pattern(p.max_record_payload(), 6);
    outgoing_message out(6, bytes);
    ASSERT_TRUE(p.try_send(out));
    auto rec = c.try_peek();
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->kind(), wire::record_kind::message);
    EXPECT_EQ(rec->size(), p.max_record_payload());
}

TEST(fragmentation_sizes, small_and_fragmented_messages_interleave_in_order) {
    test::test_region r({512});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    std::vector<std::size_t> sizes;
    for (std::size_t n : boundary_sizes(512)) {
        sizes.push_back(n);
        sizes.push_back(3);
    }
    // Queue as much as fits, then drain everything, repeatedly.
    std::size_t next_send = 0;
    std::size_t next_receive = 0;
    std::vector<std::vector<std::byte>> payloads;
    for (std::size_t i = 0; i < sizes.size(); ++i)
        payloads.push_back(pattern(sizes[i], i));
    std::optional<outgoing_message> current;
    while (next_receive < sizes.size()) {
        while (next_send < sizes.size()) {
            if (!current)
                current.emplace(static_cast<std::uint16_t>(next_send), payloads[next_send]);
            auto s = p.try_send(*current);
            if (!s) {
                ASSERT_EQ(s.error(), errc::ring_full);
                break;
            }
            current.reset();
            ++next_send;
        }
        for (;;) {
            auto m = c.try_receive();
            if (!m) {
                ASSERT_EQ(m.error(), errc::ring_empty);
                break;
            }
            ASSERT_LT(next_receive, next_send);
            EXPECT_EQ(m->tag, static_cast<std::uint16_t>(next_receive));
            ASSERT_TRUE(is_pattern(m->bytes, sizes[next_receive], next_receive));
            ++next_receive;
        }
    }
}

TEST(fragmentation_sizes, blocking_send_and_receive_on_two_threads) {
    auto& hooks = platform::futex_wait_hooks::instance();
    for (std::size_t cap : capacities) {
        test::test_region r({cap});
        ring_producer p(r.ring(), {.hooks = &hooks});
        ring_consumer c(r.ring(), {{.hooks = &hooks}});
        const std::vector<std::size_t> sizes = boundary_sizes(cap);
        const wait_policy policy{.hooks = &hooks};
        constexpr int repeats = 5;
        test::watchdog dog(std::chrono::seconds(120), "fragmentation_sizes blocking send/receive");
        std::thread consumer([&] {
            std::uint64_t seq = 0;
            for (int k = 0; k < repeats; ++k) {
                for (std::size_t n : sizes) {
                    auto m = c.receive(policy);
                    ASSERT_TRUE(m) << "capacity " << cap << ", message " << seq << ": "
                                   << to_string(m.error());
                    EXPECT_EQ(m->tag, static_cast<std::uint16_t>(seq));
                    ASSERT_TRUE(is_pattern(m->bytes, n, seq)) << "capacity " << cap;
                    ++seq;
                }
            }
        });
        std::uint64_t seq = 0;
        for (int k = 0; k < repeats; ++k) {
            for (std::size_t n : sizes) {
                const auto bytes = pattern(n, seq);
                auto s = p.send(static_cast<std::uint16_t>(seq), bytes, policy);
                EXPECT_TRUE(s) << "capacity " << cap << ", size " << n << ": "
                               << to_string(s.error());
                ++seq;
            }
        }
        consumer.join();
    }
}
