// SPDX-License-Identifier: Apache-2.0
// Description: released space returns to the producer by itself at a quarter ring or when empty.
#include <cstdint>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::pattern;
using airlock::test::shared_head;

namespace {

// Payload of a 32-byte record.
constexpr std::size_t small = 24;
constexpr std::uint64_t small_bytes = 32;

}  // namespace

TEST(released_space_auto_publish, a_quarter_of_the_ring_released_publishes_it) {
    for (std::size_t cap : {std::size_t{256}, std::size_t{1024}, std::size_t{4096}}) {
        SCOPED_TRACE(cap);
        test::test_region r({cap});
        ring_producer p(r.ring());
        ring_consumer c(r.ring());
        const std::uint64_t records = cap / small_bytes;
        const std::uint64_t quarter = records / 4;
        for (std::uint64_t i = 0; i < records; ++i)
            ASSERT_TRUE(p.try_send(1, pattern(small, i)));
        ASSERT_EQ(p.try_send(1, pattern(small, 0)).error(), errc::ring_full);
        for (std::uint64_t i = 0; i + 1 < quarter; ++i) {
            auto rec = c.try_peek();
            ASSERT_TRUE(rec);
            c.release(*rec);
            EXPECT_EQ(shared_head(r.ring()), 0u) << "published after " << i + 1 << " records";
            EXPECT_EQ(p.try_send(1, pattern(small, 0)).error(), errc::ring_full);
        }
        // The record that completes a quarter publishes without being asked.
        auto rec = c.try_peek();
        ASSERT_TRUE(rec);
        c.release(*rec);
        EXPECT_EQ(shared_head(r.ring()), cap / 4);
        for (std::uint64_t i = 0; i < quarter; ++i)
            ASSERT_TRUE(p.try_send(1, pattern(small, i))) << "the producer got no space back";
        EXPECT_EQ(p.try_send(1, pattern(small, 0)).error(), errc::ring_full);
    }
}

TEST(released_space_auto_publish, finding_the_ring_empty_publishes_released_space) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 3; ++i)
        ASSERT_TRUE(p.try_send(1, pattern(small, i)));
    for (std::uint64_t i = 0; i < 3; ++i) {
        auto rec = c.try_peek();
        ASSERT_TRUE(rec);
        c.release(*rec);
    }
    EXPECT_EQ(shared_head(r.ring()), 0u) << "3 records are far below a quarter";
    EXPECT_EQ(c.try_peek().error(), errc::ring_empty);
    EXPECT_EQ(shared_head(r.ring()), 3 * small_bytes) << "try_peek found the ring empty";

    ASSERT_TRUE(p.try_send(1, pattern(small, 3)));
    ASSERT_TRUE(c.try_receive());
    EXPECT_EQ(shared_head(r.ring()), 3 * small_bytes);
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
    EXPECT_EQ(shared_head(r.ring()), 4 * small_bytes) << "try_receive found the ring empty";

    ASSERT_TRUE(p.try_send(1, pattern(small, 4)));
    ASSERT_TRUE(c.try_receive());
    EXPECT_FALSE(c.has_data());
    EXPECT_EQ(shared_head(r.ring()), 5 * small_bytes) << "has_data found the ring empty";
}

TEST(released_space_auto_publish, a_producer_blocked_on_a_full_ring_gets_space_without_publish) {
    // The consumer never calls publish(): draining the ring must be enough.
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    for (int round = 0; round < 100; ++round) {
        while (p.try_send(1, pattern(small, sent)))
            ++sent;
        while (auto m = c.try_receive()) {
            ASSERT_TRUE(test::is_pattern(m->bytes, small, received));
            ++received;
        }
    }
    EXPECT_EQ(received, sent);
    EXPECT_GE(sent, 100 * (1024 / small_bytes) - 1);
}

TEST(released_space_auto_publish, auto_publish_wakes_a_producer_that_may_be_parked) {
    test::test_region r({1024});
    test::fake_wait_hooks hooks;
    ring_producer p(r.ring());
    ring_consumer c(r.ring(), {{.hooks = &hooks}});
    while (p.try_send(1, pattern(small, 0))) {
    }
    shared::store_relaxed(r.ring().control->producer_bell.word, 1);  // "I may park"
    for (int i = 0; i < 7; ++i) {
        auto rec = c.try_peek();
        ASSERT_TRUE(rec);
        c.release(*rec);
    }
    EXPECT_EQ(hooks.unparks, 0u) << "7 * 32 bytes is below a quarter of 1024";
    auto rec = c.try_peek();
    ASSERT_TRUE(rec);
    c.release(*rec);
    EXPECT_EQ(hooks.unparks, 1u);
    EXPECT_EQ(hooks.last_unparked, &r.ring().control->producer_bell.word);
}
