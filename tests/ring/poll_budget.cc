// SPDX-License-Identifier: Apache-2.0
// Description: poll handles at most its budget of whole messages in order, then publishes.
#include <cstdint>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;
using airlock::test::shared_head;

TEST(poll_budget, handles_at_most_the_budget_in_order) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 10; ++i)
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(i), pattern(i, i)));
    std::vector<std::uint16_t> seen;
    auto record = [&](const message& m) {
        EXPECT_TRUE(is_pattern(m.bytes, m.tag, m.tag));
        seen.push_back(m.tag);
    };
    auto n = c.poll(3, record);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 3u);
    n = c.poll(0, record);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u) << "a zero budget handles nothing";
    n = c.poll(100, record);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 7u);
    n = c.poll(100, record);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
    ASSERT_EQ(seen.size(), 10u);
    for (std::uint16_t i = 0; i < 10; ++i)
        EXPECT_EQ(seen[i], i);
}

TEST(poll_budget, poll_publishes_released_space) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 10; ++i)
        ASSERT_TRUE(p.try_send(1, pattern(24, i)));
    auto n = c.poll(3, [](const message&) {});
    ASSERT_TRUE(n);
    EXPECT_EQ(shared_head(r.ring()), 3 * wire::record_bytes(24))
        << "96 bytes is below the auto-publish threshold: poll itself must publish";
}

TEST(poll_budget, a_fragmented_message_counts_once) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const auto big = pattern(200, 1);  // two fragments
    outgoing_message m(1, big);
    ASSERT_TRUE(p.try_send(m));
    ASSERT_TRUE(p.try_send(2, pattern(5, 2)));
    std::vector<std::size_t> sizes;
    auto n = c.poll(1, [&](const message& msg) { sizes.push_back(msg.bytes.size()); });
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1u);
    n = c.poll(1, [&](const message& msg) { sizes.push_back(msg.bytes.size()); });
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 1u);
    EXPECT_EQ(sizes, (std::vector<std::size_t>{200, 5}));
}

TEST(poll_budget, a_flood_never_exceeds_the_budget) {
    test::test_region r({65536});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    std::uint64_t sent = 0;
    std::uint64_t handled = 0;
    for (int round = 0; round < 200; ++round) {
        while (p.try_send(0, pattern(8, sent)))
            ++sent;  // the peer floods
        std::size_t calls = 0;
        auto n = c.poll(16, [&](const message& m) {
            EXPECT_TRUE(is_pattern(m.bytes, 8, handled));
            ++handled;
            ++calls;
        });
        ASSERT_TRUE(n);
        EXPECT_EQ(*n, 16u);
        EXPECT_EQ(calls, 16u);
    }
    EXPECT_EQ(handled, 200u * 16u);
}

TEST(poll_budget, poll_on_a_faulted_consumer_reports_the_fault) {
    test::test_region r({256});
    ring_producer p(r.ring());
    consumer_options o;
    o.max_message = 100;
    ring_consumer c(r.ring(), o);
    ASSERT_TRUE(p.try_send(1, pattern(10, 1)));
    const auto big = pattern(150, 2);  // fragmented, above the consumer's cap
    outgoing_message m(2, big);
    ASSERT_TRUE(p.try_send(m));
    std::vector<std::uint16_t> tags;
    auto n = c.poll(10, [&](const message& msg) { tags.push_back(msg.tag); });
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error(), errc::fault_fragment_total);
    EXPECT_EQ(tags, (std::vector<std::uint16_t>{1})) << "the message before the fault was handled";
    n = c.poll(10, [&](const message& msg) { tags.push_back(msg.tag); });
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error(), errc::fault_fragment_total) << "the fault is sticky";
}
