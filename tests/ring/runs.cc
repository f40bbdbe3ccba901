// SPDX-License-Identifier: Apache-2.0
// Description: equal small messages committed between two publishes share one
// header as a run; the consumer hands them out one by one, in order, through
// every receive API, and a run ends at a publish, a different length or tag,
// its count limit and the end of the ring.
#include <cstdint>
#include <vector>

#include "run_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::commit_pattern;
using airlock::test::header_at;
using airlock::test::is_pattern;
using airlock::test::pattern;
using airlock::test::receive_in_order;
using airlock::test::shared_tail;

TEST(runs, equal_messages_committed_before_a_publish_share_one_header) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 10; ++i)
        commit_pattern(p, 8, 3, i);
    p.publish();
    EXPECT_EQ(shared_tail(r.ring()), wire::run_bytes(8, 10));  // 88 bytes, not 160
    const wire::record_header h = header_at(r.ring(), 0);
    EXPECT_EQ(h.kind, wire::record_kind::message);
    EXPECT_EQ(h.length, 8u);
    EXPECT_EQ(h.tag, 3u);
    EXPECT_EQ(h.count, 10u);
    receive_in_order(c, 8, 3, 0, 10);
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
}

TEST(runs, a_different_length_or_tag_starts_a_new_record) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const std::vector<std::pair<std::size_t, std::uint16_t>> sent = {
        {8, 1}, {8, 1}, {16, 1}, {16, 2}, {16, 2}, {13, 2}, {13, 2}, {8, 1}};
    for (std::size_t i = 0; i < sent.size(); ++i)
        commit_pattern(p, sent[i].first, sent[i].second, i);
    p.publish();
    EXPECT_EQ(shared_tail(r.ring()), wire::run_bytes(8, 2) + wire::run_bytes(16, 1) +
                                         wire::run_bytes(16, 2) + wire::run_bytes(13, 2) +
                                         wire::run_bytes(8, 1));
    for (std::size_t i = 0; i < sent.size(); ++i) {
        auto m = c.try_receive();
        ASSERT_TRUE(m) << i << ": " << to_string(m.error());
        EXPECT_EQ(m->tag, sent[i].second) << i;
        EXPECT_TRUE(is_pattern(m->bytes, sent[i].first, i)) << i;
    }
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
}

TEST(runs, a_publish_closes_the_run) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    commit_pattern(p, 8, 1, 0);
    commit_pattern(p, 8, 1, 1);
    p.publish();
    commit_pattern(p, 8, 1, 2);
    commit_pattern(p, 8, 1, 3);
    p.publish();
    EXPECT_EQ(shared_tail(r.ring()), 2 * wire::run_bytes(8, 2));
    EXPECT_EQ(header_at(r.ring(), 0).count, 2u);
    EXPECT_EQ(header_at(r.ring(), wire::run_bytes(8, 2)).count, 2u);
    receive_in_order(c, 8, 1, 0, 4);
}

TEST(runs, empty_and_large_messages_never_join) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    for (int i = 0; i < 5; ++i)
        commit_pattern(p, 0, 1, 0);
    commit_pattern(p, max_run_payload + 1, 1, 0);
    commit_pattern(p, max_run_payload + 1, 1, 1);
    p.publish();
    EXPECT_EQ(shared_tail(r.ring()),
              5 * wire::record_bytes(0) + 2 * wire::record_bytes(max_run_payload + 1));
    ring_consumer c(r.ring());
    for (int i = 0; i < 7; ++i)
        ASSERT_TRUE(c.try_receive()) << i;
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
}

TEST(runs, a_run_stops_at_its_count_limit) {
    test::test_region r({8192});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 300; ++i)
        commit_pattern(p, 8, 1, i);
    p.publish();
    EXPECT_EQ(header_at(r.ring(), 0).count, wire::max_run_count);
    EXPECT_EQ(header_at(r.ring(), wire::run_bytes(8, wire::max_run_count)).count, 300 - 256u);
    EXPECT_EQ(shared_tail(r.ring()),
              wire::run_bytes(8, wire::max_run_count) + wire::run_bytes(8, 300 - 256));
    receive_in_order(c, 8, 1, 0, 300);
}

TEST(runs, a_run_ends_at_the_end_of_the_ring_and_the_next_starts_at_zero) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    // Over many laps, in batches that straddle the end at every offset.
    std::uint64_t sent = 0, received = 0;
    for (int round = 0; round < 200; ++round) {
        const int batch = 1 + round % 7;  // at most 7 * 24 + 2 headers: fits 256 bytes
        for (int k = 0; k < batch; ++k) {
            auto res = p.try_reserve(24, 5);
            ASSERT_TRUE(res) << "round " << round << ": " << to_string(res.error());
            res->write(pattern(24, sent));
            p.commit(*res);
            ++sent;
        }
        p.publish();
        receive_in_order(c, 24, 5, received, sent - received);
        if (::testing::Test::HasFailure()) return;
        received = sent;
        c.publish();
    }
    EXPECT_FALSE(c.faulted());
    EXPECT_FALSE(p.faulted());
}

TEST(runs, peek_and_release_step_through_a_run) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 4; ++i)
        commit_pattern(p, 16, 9, i);
    p.publish();
    for (std::uint64_t i = 0; i < 4; ++i) {
        auto first = c.try_peek();
        auto again = c.try_peek();  // no release: the same message
        ASSERT_TRUE(first && again) << i;
        EXPECT_EQ(first->size(), 16u);
        EXPECT_EQ(first->tag(), 9u);
        EXPECT_EQ(first->kind(), wire::record_kind::message);
        std::vector<std::byte> a(16), b(16);
        first->copy_to(a);
        again->copy_to(b);
        EXPECT_TRUE(is_pattern(a, 16, i)) << i;
        EXPECT_EQ(a, b) << i;
        c.release(*first);
    }
    EXPECT_EQ(c.try_peek().error(), errc::ring_empty);
}

TEST(runs, poll_splits_a_run_across_budgets) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 10; ++i)
        commit_pattern(p, 8, 2, i);
    p.publish();
    std::uint64_t next = 0;
    std::vector<std::size_t> polls;
    for (;;) {
        auto n = c.poll(3, [&](const message& m) {
            EXPECT_EQ(m.tag, 2u);
            EXPECT_TRUE(is_pattern(m.bytes, 8, next)) << next;
            ++next;
        });
        ASSERT_TRUE(n) << to_string(n.error());
        if (*n == 0) break;
        polls.push_back(*n);
    }
    EXPECT_EQ(polls, (std::vector<std::size_t>{3, 3, 3, 1}));
    EXPECT_EQ(next, 10u);
}
