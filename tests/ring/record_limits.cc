// SPDX-License-Identifier: Apache-2.0
// Description: max_record_payload is half the ring less a header; one byte more is refused.
#include <cstdint>
#include <limits>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;
using airlock::test::shared_tail;

namespace {

const std::size_t capacities[] = {256, 512, 1024, 4096, 65536};

// Sends and receives fillers until the ring is empty with its tail at byte
// `target` of the ring.
void move_tail_to(ring_producer& p, ring_consumer& c, const ring_view& v, std::uint64_t target) {
    for (;;) {
        const std::uint64_t at = shared_tail(v) % v.capacity;
        if (at == target) {
            // Released space returns once the consumer finds the ring empty.
            ASSERT_EQ(c.try_receive().error(), errc::ring_empty);
            return;
        }
        const std::uint64_t room = target > at ? target - at : v.capacity - at;
        const std::uint64_t step = std::min<std::uint64_t>(room, v.capacity / 2);
        ASSERT_TRUE(p.try_send(0, pattern(step - 8, 0)));
        ASSERT_TRUE(c.try_receive());
    }
}

}  // namespace

TEST(record_limits, max_record_payload_is_half_the_ring_less_one_header) {
    for (std::size_t cap : capacities) {
        test::test_region r({cap});
        ring_producer p(r.ring());
        ring_consumer c(r.ring());
        EXPECT_EQ(p.max_record_payload(), cap / 2 - 8) << "capacity " << cap;
        EXPECT_EQ(c.max_record_payload(), cap / 2 - 8) << "capacity " << cap;
        EXPECT_EQ(wire::max_record_payload(cap), cap / 2 - 8);
    }
}

TEST(record_limits, the_largest_record_fits_an_empty_ring_at_every_offset) {
    for (std::size_t cap : {std::size_t{256}, std::size_t{1024}}) {
        test::test_region r({cap});
        ring_producer p(r.ring());
        ring_consumer c(r.ring());
        const std::size_t max = p.max_record_payload();
        for (std::uint64_t at = 0; at < cap; at += 8) {
            move_tail_to(p, c, r.ring(), at);
            ASSERT_TRUE(p.try_send(9, pattern(max, at))) << "capacity " << cap << ", offset " << at;
            auto m = c.try_receive();
            ASSERT_TRUE(m) << "capacity " << cap << ", offset " << at;
            EXPECT_TRUE(is_pattern(m->bytes, max, at));
        }
    }
}

TEST(record_limits, one_byte_more_is_message_too_large_and_nothing_is_written) {
    for (std::size_t cap : capacities) {
        test::test_region r({cap});
        ring_producer p(r.ring());
        ring_consumer c(r.ring());
        const std::size_t max = p.max_record_payload();
        const std::size_t too_large[] = {max + 1,
                                         max + 8,
                                         cap,
                                         std::size_t{1} << 32,
                                         (std::size_t{1} << 32) + 5,
                                         std::numeric_limits<std::size_t>::max()};
        for (std::size_t n : too_large) {
            EXPECT_EQ(p.try_reserve(n, 1).error(), errc::message_too_large)
                << "capacity " << cap << ", size " << n;
            EXPECT_EQ(p.wait_for_space(n, {}).error(), errc::message_too_large)
                << "capacity " << cap << ", size " << n;
        }
        const auto bytes = pattern(max + 1, 1);
        EXPECT_EQ(p.try_send(1, bytes).error(), errc::message_too_large);
        EXPECT_EQ(shared_tail(r.ring()), 0u) << "a refused record was published";
        EXPECT_FALSE(p.faulted()) << "message_too_large is not a fault";
        EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
        // Not sticky: the largest allowed record goes through.
        ASSERT_TRUE(p.try_send(2, pattern(max, 2)));
        auto m = c.try_receive();
        ASSERT_TRUE(m);
        EXPECT_TRUE(is_pattern(m->bytes, max, 2));
    }
}

TEST(record_limits, a_zero_byte_message_takes_one_header_word) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 1; i <= 100; ++i) {
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(i), {}));
        EXPECT_EQ(shared_tail(r.ring()), 8 * i);
        auto m = c.try_receive();
        ASSERT_TRUE(m) << to_string(m.error());
        EXPECT_EQ(m->tag, i);
        EXPECT_EQ(m->bytes.size(), 0u);
    }
}

TEST(record_limits, records_are_padded_to_whole_words) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    std::uint64_t expected_tail = 0;
    for (std::size_t n = 0; n <= 64; ++n) {
        ASSERT_TRUE(p.try_send(1, pattern(n, n)));
        expected_tail += 8 + (n + 7) / 8 * 8;
        EXPECT_EQ(shared_tail(r.ring()), expected_tail) << "after a " << n << "-byte record";
        auto m = c.try_receive();
        ASSERT_TRUE(m);
        EXPECT_TRUE(is_pattern(m->bytes, n, n));
    }
}
