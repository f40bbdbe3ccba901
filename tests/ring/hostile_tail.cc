// SPDX-License-Identifier: Apache-2.0
// Description: a forged producer index (tail) beyond capacity, wrapped, far
// ahead, rewound to replay consumed records, or misaligned puts the consumer
// into a sticky fault and nothing past the forged index is read
// (HOSTILE-INPUTS #1, #2).
#include <cstdint>
#include <limits>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::code_of;

namespace {

constexpr std::uint64_t capacity = 256;
constexpr std::uint64_t max_u64 = std::numeric_limits<std::uint64_t>::max();

// Fills the ring exactly (4 records of 64 bytes) with an honest producer and
// consumes all of it, so the consumer's private head is `capacity`.
void fill_and_drain(ring_producer& p, ring_consumer& c) {
    for (std::uint64_t i = 0; i < 4; ++i)
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(i), test::pattern(56, i)).has_value())
            << "honest send " << i;
    for (std::uint64_t i = 0; i < 4; ++i) {
        auto m = c.try_receive();
        ASSERT_TRUE(m.has_value()) << "message " << i << ": " << to_string(m.error());
        EXPECT_EQ(test::first_mismatch(m->bytes, i), -1) << "message " << i;
    }
    AIRLOCK_EXPECT_ERRC(code_of(c.try_receive()), errc::ring_empty);
}

struct bad_tail {
    const char* what;
    std::uint64_t tail;  // absolute value written over the tail word
    errc want;
};

// Head (private and published) is `capacity` when these are written.
const std::vector<bad_tail> bad_tails_after_one_lap = {
    {"one word beyond capacity", capacity + capacity + 8, errc::fault_tail_beyond_capacity},
    {"two laps ahead", capacity + 2 * capacity, errc::fault_tail_beyond_capacity},
    {"far ahead (2^40)", capacity + (std::uint64_t{1} << 40), errc::fault_tail_beyond_capacity},
    {"just under half the index space ahead", capacity + (std::uint64_t{1} << 63) - 8,
     errc::fault_tail_beyond_capacity},
    {"just over half the index space ahead (a rewind)", capacity + (std::uint64_t{1} << 63) + 8,
     errc::fault_tail_rewound},
    {"wrapped to 2^64 - 8", max_u64 - 7, errc::fault_tail_rewound},
    {"rewound one word", capacity - 8, errc::fault_tail_rewound},
    {"rewound a whole lap (replay)", 0, errc::fault_tail_rewound},
    {"rewound to mid-record", 64, errc::fault_tail_rewound},
    {"misaligned by 1", capacity + 1, errc::fault_index_misaligned},
    {"misaligned by 4", capacity + 4, errc::fault_index_misaligned},
    {"misaligned and beyond capacity", capacity + capacity + 3, errc::fault_index_misaligned},
    {"all ones", max_u64, errc::fault_index_misaligned},
};

}  // namespace

TEST(hostile_tail, table_of_forged_tails_after_one_lap) {
    for (const bad_tail& t : bad_tails_after_one_lap) {
        SCOPED_TRACE(t.what);
        test::exact_region r({{capacity}});
        r.guard_ring(0);
        ring_producer host(r.ring());
        ring_consumer c(r.ring());
        fill_and_drain(host, c);
        shared::store_release(r.ring().control->tail, t.tail);
        auto got = c.try_receive();
        AIRLOCK_EXPECT_ERRC(code_of(got), t.want);
        test::expect_consumer_stuck(c, t.want);
        // Restoring an honest tail does not heal the ring: the fault is sticky.
        shared::store_release(r.ring().control->tail, capacity);
        test::expect_consumer_stuck(c, t.want);
    }
}

TEST(hostile_tail, table_of_forged_tails_on_a_fresh_ring) {
    const std::vector<bad_tail> fresh = {
        {"capacity + 8", capacity + 8, errc::fault_tail_beyond_capacity},
        {"2^64 - 8 (before the start)", max_u64 - 7, errc::fault_tail_rewound},
        {"2^63", std::uint64_t{1} << 63, errc::fault_tail_rewound},
        {"2^63 - 8", (std::uint64_t{1} << 63) - 8, errc::fault_tail_beyond_capacity},
        {"7", 7, errc::fault_index_misaligned},
    };
    for (const bad_tail& t : fresh) {
        SCOPED_TRACE(t.what);
        test::exact_region r({{capacity}});
        r.guard_ring(0);
        ring_consumer c(r.ring());
        shared::store_release(r.ring().control->tail, t.tail);
        // has_data() is the first call to look: it must not report data.
        EXPECT_FALSE(c.has_data());
        test::expect_consumer_stuck(c, t.want);
    }
}

TEST(hostile_tail, a_full_lap_is_the_limit_not_a_fault) {
    // tail - head == capacity exactly is a full ring, which is legal.
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer host(r.ring());
    ring_consumer c(r.ring());
    for (int lap = 0; lap < 8; ++lap) {
        SCOPED_TRACE(lap);
        fill_and_drain(host, c);
        EXPECT_FALSE(c.faulted()) << to_string(c.fault());
    }
}

TEST(hostile_tail, replaying_consumed_records_is_refused) {
    // The host rewinds the tail to present the records already consumed a
    // second time; none is delivered twice.
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer host(r.ring());
    ring_consumer c(r.ring());
    fill_and_drain(host, c);
    c.publish();
    const std::uint64_t tail = shared::load_acquire(r.ring().control->tail);
    ASSERT_EQ(tail, capacity);
    // Rewind by one lap, then forward again by one lap: the snapshot the
    // consumer takes is the rewound one.
    shared::store_release(r.ring().control->tail, tail - capacity + 64);
    std::size_t replayed = 0;
    auto polled = c.poll(8, [&](const message&) { ++replayed; });
    AIRLOCK_EXPECT_ERRC(code_of(polled), errc::fault_tail_rewound);
    EXPECT_EQ(replayed, 0u) << "consumed records were delivered again";
    shared::store_release(r.ring().control->tail, tail + capacity);
    test::expect_consumer_stuck(c, errc::fault_tail_rewound);
}

TEST(hostile_tail, tail_jumps_while_records_are_still_cached) {
    // The consumer only looks at the tail when its cached copy is used up;
    // the records it already validated are delivered, then the jump faults.
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer host(r.ring());
    ring_consumer c(r.ring());
    ASSERT_TRUE(host.try_send(1, test::pattern(56, 1)).has_value());
    ASSERT_TRUE(host.try_send(2, test::pattern(56, 2)).has_value());
    auto first = c.try_receive();
    ASSERT_TRUE(first.has_value()) << to_string(first.error());
    EXPECT_EQ(first->tag, 1);
    shared::store_release(r.ring().control->tail, capacity * 4);
    auto second = c.try_receive();
    ASSERT_TRUE(second.has_value()) << to_string(second.error());
    EXPECT_EQ(second->tag, 2);
    EXPECT_EQ(test::first_mismatch(second->bytes, 2), -1);
    AIRLOCK_EXPECT_ERRC(code_of(c.try_receive()), errc::fault_tail_beyond_capacity);
    test::expect_consumer_stuck(c, errc::fault_tail_beyond_capacity);
}
