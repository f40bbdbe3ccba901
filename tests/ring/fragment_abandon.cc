// SPDX-License-Identifier: Apache-2.0
// Description: abandon() mid-message: the partial message is dropped, the next is intact.
#include <cstdint>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;
using airlock::test::shared_tail;

namespace {

// Sends a whole message by alternating try_send and draining.
void send_all(ring_producer& p, ring_consumer& c, std::uint16_t tag, std::span<const std::byte> b) {
    outgoing_message m(tag, b);
    for (int round = 0; round < 100'000; ++round) {
        auto s = p.try_send(m);
        if (s) return;
        ASSERT_EQ(s.error(), errc::ring_full);
        auto early = c.try_receive();
        ASSERT_FALSE(early) << "a message completed early";
        ASSERT_EQ(early.error(), errc::ring_empty);
    }
    FAIL() << "no progress";
}

}  // namespace

TEST(fragment_abandon, after_the_consumer_took_part_of_it) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const auto dropped = pattern(3 * 256 + 5, 1);
    outgoing_message m(1, dropped);
    ASSERT_EQ(p.try_send(m).error(), errc::ring_full);
    EXPECT_FALSE(m.done());
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty) << "fragments taken, message incomplete";
    p.abandon(m);
    EXPECT_TRUE(m.done());
    ASSERT_TRUE(p.try_send(2, pattern(30, 2)));
    auto a = c.try_receive();
    ASSERT_TRUE(a) << to_string(a.error());
    EXPECT_EQ(a->tag, 2) << "the abandoned message was delivered";
    EXPECT_TRUE(is_pattern(a->bytes, 30, 2));
    const auto next = pattern(3 * 256 + 5, 3);
    send_all(p, c, 3, next);
    auto b = c.try_receive();
    ASSERT_TRUE(b) << to_string(b.error());
    EXPECT_EQ(b->tag, 3);
    EXPECT_TRUE(is_pattern(b->bytes, next.size(), 3));
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
    EXPECT_FALSE(c.faulted());
}

TEST(fragment_abandon, while_the_ring_is_full_the_abort_waits_for_space) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const auto dropped = pattern(1000, 1);
    outgoing_message m(1, dropped);
    ASSERT_EQ(p.try_send(m).error(), errc::ring_full);
    const std::uint64_t tail = shared_tail(r.ring());
    p.abandon(m);  // no room for the abort record yet
    EXPECT_EQ(shared_tail(r.ring()), tail);
    EXPECT_FALSE(p.faulted());
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
    ASSERT_TRUE(p.try_send(2, pattern(9, 2)));  // writes the abort first
    auto a = c.try_receive();
    ASSERT_TRUE(a) << to_string(a.error());
    EXPECT_EQ(a->tag, 2);
    EXPECT_TRUE(is_pattern(a->bytes, 9, 2));
    EXPECT_FALSE(c.faulted());
}

TEST(fragment_abandon, a_pending_abort_precedes_a_fragmented_message) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const auto dropped = pattern(1000, 1);
    outgoing_message m(1, dropped);
    ASSERT_EQ(p.try_send(m).error(), errc::ring_full);
    p.abandon(m);
    const auto next = pattern(700, 2);
    send_all(p, c, 2, next);
    auto b = c.try_receive();
    ASSERT_TRUE(b) << to_string(b.error());
    EXPECT_EQ(b->tag, 2);
    EXPECT_TRUE(is_pattern(b->bytes, 700, 2));
}

TEST(fragment_abandon, at_every_point_of_a_long_message) {
    for (std::size_t cap : {std::size_t{256}, std::size_t{1024}}) {
        for (int taken = 0; taken < 8; ++taken) {
            for (bool drain_first : {false, true}) {
                SCOPED_TRACE(testing::Message() << "capacity " << cap << ", " << taken
                                                << " rounds, drain first " << drain_first);
                test::test_region r({cap});
                ring_producer p(r.ring());
                ring_consumer c(r.ring());
                const auto dropped = pattern(16 * cap, 1);
                outgoing_message m(1, dropped);
                for (int k = 0; k < taken; ++k) {
                    ASSERT_EQ(p.try_send(m).error(), errc::ring_full);
                    ASSERT_EQ(c.try_receive().error(), errc::ring_empty);
                }
                ASSERT_EQ(p.try_send(m).error(), errc::ring_full);
                if (drain_first) {
                    ASSERT_EQ(c.try_receive().error(), errc::ring_empty);
                }
                p.abandon(m);
                const auto small = pattern(5, 2);
                const auto large = pattern(2 * cap + 3, 3);
                send_all(p, c, 2, small);
                auto a = c.try_receive();
                ASSERT_TRUE(a) << to_string(a.error());
                EXPECT_EQ(a->tag, 2);
                EXPECT_TRUE(is_pattern(a->bytes, 5, 2));
                send_all(p, c, 3, large);
                auto b = c.try_receive();
                ASSERT_TRUE(b) << to_string(b.error());
                EXPECT_EQ(b->tag, 3);
                EXPECT_TRUE(is_pattern(b->bytes, large.size(), 3));
                EXPECT_FALSE(c.faulted()) << to_string(c.fault());
            }
        }
    }
}

TEST(fragment_abandon, a_message_never_started_or_already_done_writes_nothing) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    // Fill the ring so the big message cannot even start.
    std::uint64_t queued = 0;
    while (p.try_send(1, pattern(24, queued)))
        ++queued;
    const auto big = pattern(500, 9);
    outgoing_message never_started(9, big);
    ASSERT_EQ(p.try_send(never_started).error(), errc::ring_full);
    const std::uint64_t tail = shared_tail(r.ring());
    p.abandon(never_started);
    for (std::uint64_t i = 0; i < queued; ++i) {
        auto m = c.try_receive();
        ASSERT_TRUE(m);
        EXPECT_TRUE(is_pattern(m->bytes, 24, i));
    }
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
    ASSERT_TRUE(p.try_send(2, pattern(3, 2)));
    auto m = c.try_receive();
    ASSERT_TRUE(m) << "a stray abort record faulted the consumer: " << to_string(m.error());
    EXPECT_EQ(m->tag, 2);
    EXPECT_EQ(shared_tail(r.ring()), tail + wire::record_bytes(3));

    // A message that finished (here: fragmented) leaves nothing to abort.
    const auto whole = pattern(300, 4);
    outgoing_message finished(4, whole);
    bool received = false;
    for (int round = 0; !finished.done(); ++round) {
        ASSERT_LT(round, 100);
        auto s = p.try_send(finished);
        if (!s) {
            ASSERT_EQ(s.error(), errc::ring_full);
        }
        auto early = c.try_receive();
        if (early) {
            EXPECT_TRUE(is_pattern(early->bytes, 300, 4));
            EXPECT_TRUE(finished.done());
            received = true;
        }
    }
    EXPECT_TRUE(received);
    const std::uint64_t after = shared_tail(r.ring());
    p.abandon(finished);
    EXPECT_EQ(shared_tail(r.ring()), after) << "abandoning a finished message wrote something";
    ASSERT_TRUE(p.try_send(5, pattern(3, 5)));
    auto last = c.try_receive();
    ASSERT_TRUE(last);
    EXPECT_EQ(last->tag, 5);
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
    EXPECT_FALSE(c.faulted());
}
