// SPDX-License-Identifier: Apache-2.0
// Description: try_send_run writes equal messages from one span as runs of at
// most max_run_count under one header each, takes as many as fit (ring_full
// when none does), wraps with padding, pads sizes that are not a multiple of
// 8, and publishes once; every receive API reads them back in order.
#include <cstdint>
#include <vector>

#include "run_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::header_at;
using airlock::test::header_word_at;
using airlock::test::pattern;
using airlock::test::receive_in_order;
using airlock::test::shared_tail;

namespace {

// Messages first .. first + count - 1, each `bytes` long, back to back.
std::vector<std::byte> batch(std::size_t bytes, std::uint64_t first, std::size_t count) {
    std::vector<std::byte> out;
    for (std::uint64_t i = first; i < first + count; ++i) {
        const auto m = pattern(bytes, i);
        out.insert(out.end(), m.begin(), m.end());
    }
    return out;
}

}  // namespace

TEST(send_run, one_run_under_one_header_and_one_publish) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const auto b = batch(8, 0, 32);
    auto sent = p.try_send_run(5, b, 8);
    ASSERT_TRUE(sent) << to_string(sent.error());
    EXPECT_EQ(*sent, 32u);
    EXPECT_EQ(shared_tail(r.ring()), wire::run_bytes(8, 32));  // published, 264 bytes
    const wire::record_header h = header_at(r.ring(), 0);
    EXPECT_EQ(h.kind, wire::record_kind::message);
    EXPECT_EQ(h.length, 8u);
    EXPECT_EQ(h.tag, 5u);
    EXPECT_EQ(h.count, 32u);
    receive_in_order(c, 8, 5, 0, 32);
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
}

TEST(send_run, more_than_max_run_count_takes_several_headers) {
    test::test_region r({64 * 1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const std::size_t n = wire::max_run_count * 2 + 3;
    const auto b = batch(16, 0, n);
    auto sent = p.try_send_run(1, b, 16);
    ASSERT_TRUE(sent) << to_string(sent.error());
    EXPECT_EQ(*sent, n);
    EXPECT_EQ(header_at(r.ring(), 0).count, wire::max_run_count);
    EXPECT_EQ(header_at(r.ring(), wire::run_bytes(16, wire::max_run_count)).count,
              wire::max_run_count);
    EXPECT_EQ(header_at(r.ring(), 2 * wire::run_bytes(16, wire::max_run_count)).count, 3u);
    receive_in_order(c, 16, 1, 0, n);
}

TEST(send_run, sizes_not_a_multiple_of_8_are_padded_with_zeros) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const auto b = batch(13, 0, 7);
    auto sent = p.try_send_run(2, b, 13);
    ASSERT_TRUE(sent) << to_string(sent.error());
    EXPECT_EQ(*sent, 7u);
    EXPECT_EQ(shared_tail(r.ring()), wire::run_bytes(13, 7));
    // The three bytes after each message's 13 are zero in the ring.
    for (std::size_t i = 0; i < 7; ++i)
        EXPECT_EQ(header_word_at(r.ring(), 8 + i * 16 + 8) >> 40, 0u) << i;
    receive_in_order(c, 13, 2, 0, 7);
}

TEST(send_run, takes_as_many_as_fit_then_reports_ring_full) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const auto b = batch(8, 0, 100);
    auto sent = p.try_send_run(1, b, 8);
    ASSERT_TRUE(sent) << to_string(sent.error());
    EXPECT_EQ(*sent, 31u);  // 256 bytes: one header and 31 messages
    auto none = p.try_send_run(1, std::span(b).subspan(31 * 8), 8);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error(), errc::ring_full);
    receive_in_order(c, 8, 1, 0, 10);
    c.publish();
    // The header and ten messages' space came back: a header and ten fit.
    auto more = p.try_send_run(1, std::span(b).subspan(31 * 8), 8);
    ASSERT_TRUE(more) << to_string(more.error());
    EXPECT_EQ(*more, 10u);
    receive_in_order(c, 8, 1, 10, 31);
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
}

TEST(send_run, wraps_at_the_end_of_the_ring) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    std::uint64_t next_sent = 0;
    std::uint64_t next_received = 0;
    // Batches of 7 messages of 24 bytes (176 ring bytes) never divide the
    // ring evenly: runs stop at its end, and padding comes where not even
    // one message fits before it.
    for (int round = 0; round < 40; ++round) {
        const auto b = batch(24, next_sent, 7);
        std::size_t taken = 0;
        while (taken < 7) {
            auto sent = p.try_send_run(9, std::span(b).subspan(taken * 24), 24);
            if (!sent) {
                ASSERT_EQ(sent.error(), errc::ring_full);
                receive_in_order(c, 24, 9, next_received, next_sent - next_received);
                next_received = next_sent;
                c.publish();
                continue;
            }
            taken += *sent;
            next_sent += *sent;
        }
    }
    receive_in_order(c, 24, 9, next_received, next_sent - next_received);
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
    EXPECT_EQ(next_sent, 280u);
}

TEST(send_run, closes_the_open_run_of_committed_messages_first) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 3; ++i) {
        auto res = p.try_reserve(8, 4);
        ASSERT_TRUE(res);
        res->write(pattern(8, i));
        p.commit(*res);
    }
    const auto b = batch(8, 3, 5);
    ASSERT_EQ(p.try_send_run(4, b, 8).value_or(0), 5u);
    EXPECT_EQ(header_at(r.ring(), 0).count, 3u);
    EXPECT_EQ(header_at(r.ring(), wire::run_bytes(8, 3)).count, 5u);
    receive_in_order(c, 8, 4, 0, 8);
}

TEST(send_run, refuses_messages_larger_than_a_record) {
    test::test_region r({256});
    ring_producer p(r.ring());
    const std::vector<std::byte> big(p.max_record_payload() + 8);
    auto sent = p.try_send_run(1, big, big.size());
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error(), errc::message_too_large);
    EXPECT_EQ(shared_tail(r.ring()), 0u);
}
