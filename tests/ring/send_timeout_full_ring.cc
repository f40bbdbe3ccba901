// SPDX-License-Identifier: Apache-2.0
// Description: send() into a ring never drained returns timed_out by its deadline, never hangs.
//
// HOSTILE-INPUTS #16 as an API contract. Deterministic: fake_wait_hooks' clock only moves when the
// producer yields or parks, so "by its deadline" is checked exactly, and a wait that never ends
// aborts after fake_wait_hooks::max_parks instead of hanging.
#include <cstdint>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;
using airlock::test::shared_tail;

namespace {

struct full_ring {
    test::fake_wait_hooks hooks;
    test::test_region region{{256}};
    ring_producer producer{region.ring(), {.hooks = &hooks}};
    ring_consumer consumer{region.ring(), {{.hooks = &hooks}}};
    wait_policy policy{
        .spin_iterations = 32, .yield_iterations = 4, .timeout_ns = 5'000'000, .hooks = &hooks};
    std::uint64_t queued = 0;

    full_ring() {
        while (producer.try_send(1, pattern(24, queued)))
            ++queued;
    }
    shared_u64& bell() { return region.ring().control->producer_bell.word; }
    // Receives and checks everything queued by the constructor.
    void drain_queued() {
        for (std::uint64_t i = 0; i < queued; ++i) {
            auto m = consumer.try_receive();
            ASSERT_TRUE(m) << i << ": " << to_string(m.error());
            ASSERT_TRUE(is_pattern(m->bytes, 24, i));
        }
    }
};

}  // namespace

TEST(send_timeout_full_ring, a_permanently_full_ring_times_out_by_the_deadline) {
    full_ring f;
    const std::uint64_t tail = shared_tail(f.region.ring());
    const std::uint64_t start = f.hooks.clock_ns;
    auto s = f.producer.send(2, pattern(24, 99), f.policy);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), errc::timed_out);
    const std::uint64_t elapsed = f.hooks.clock_ns - start;
    EXPECT_GE(elapsed, f.policy.timeout_ns) << "gave up before the deadline";
    EXPECT_LE(elapsed, f.policy.timeout_ns + f.hooks.yields * f.hooks.yield_ns)
        << "waited past the deadline";
    EXPECT_GE(f.hooks.parks, 1u);
    EXPECT_EQ(f.hooks.unparks, 0u);
    EXPECT_EQ(shared_tail(f.region.ring()), tail) << "a timed-out message was written";
    EXPECT_FALSE(f.producer.faulted()) << "a timeout is not a fault";
    // Nothing was lost or duplicated: the consumer gets exactly what was queued.
    f.drain_queued();
    EXPECT_EQ(f.consumer.try_receive().error(), errc::ring_empty);
    ASSERT_TRUE(f.producer.send(3, pattern(24, 3), f.policy));
    auto m = f.consumer.try_receive();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->tag, 3);
}

TEST(send_timeout_full_ring, wait_for_space_times_out_the_same_way) {
    full_ring f;
    const std::uint64_t start = f.hooks.clock_ns;
    EXPECT_EQ(f.producer.wait_for_space(8, f.policy).error(), errc::timed_out);
    EXPECT_GE(f.hooks.clock_ns - start, f.policy.timeout_ns);
    f.policy.timeout_ns = 0;
    const std::size_t parks = f.hooks.parks;
    EXPECT_EQ(f.producer.wait_for_space(8, f.policy).error(), errc::timed_out);
    EXPECT_EQ(f.hooks.parks, parks) << "a zero timeout parked";
}

TEST(send_timeout_full_ring, without_hooks_send_gives_up_after_spinning) {
    test::test_region r({256});
    ring_producer p(r.ring());
    std::uint64_t queued = 0;
    while (p.try_send(1, pattern(24, queued)))
        ++queued;
    EXPECT_EQ(p.send(2, pattern(24, 0), {.spin_iterations = 64}).error(), errc::timed_out);
    EXPECT_EQ(p.send(2, pattern(24, 0), {.spin_iterations = 0}).error(), errc::timed_out);
}

TEST(send_timeout_full_ring, a_partly_sent_message_is_abandoned_on_timeout) {
    full_ring f;
    // The consumer drains once, during the first park, then never again.
    int park = 0;
    f.hooks.on_park = [&] {
        if (++park == 1) f.drain_queued();
    };
    const auto big = pattern(3 * 256 + 5, 7);
    auto s = f.producer.send(7, big, f.policy);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error(), errc::timed_out);
    EXPECT_GE(f.hooks.parks, 2u);
    // The consumer takes the fragments that made it, then must drop them.
    EXPECT_EQ(f.consumer.try_receive().error(), errc::ring_empty);
    f.hooks.on_park = nullptr;
    ASSERT_TRUE(f.producer.send(8, pattern(40, 8), f.policy));
    auto m = f.consumer.try_receive();
    ASSERT_TRUE(m) << to_string(m.error());
    EXPECT_EQ(m->tag, 8) << "the abandoned message was delivered";
    EXPECT_TRUE(is_pattern(m->bytes, 40, 8));
    EXPECT_FALSE(f.consumer.faulted());
}

TEST(send_timeout_full_ring, space_freed_during_a_park_lets_send_finish) {
    full_ring f;
    int park = 0;
    f.hooks.on_park = [&] {
        EXPECT_EQ(shared::load_relaxed(f.bell()), 1u) << "parked without announcing";
        if (++park == 3) f.drain_queued();
    };
    f.policy.timeout_ns = test::no_timeout;
    auto s = f.producer.send(2, pattern(24, 2), f.policy);
    ASSERT_TRUE(s) << to_string(s.error());
    EXPECT_EQ(f.hooks.parks, 3u);
    EXPECT_GE(f.hooks.unparks, 1u) << "the consumer freed space but did not ring";
    EXPECT_EQ(f.hooks.last_unparked, &f.bell());
    auto m = f.consumer.try_receive();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->tag, 2);
}

TEST(send_timeout_full_ring, a_fragmented_send_completes_across_many_parks) {
    full_ring f;
    f.drain_queued();
    const auto big = pattern(10 * 256 + 1, 5);
    std::uint64_t got = 0;
    f.hooks.on_park = [&] {
        for (;;) {
            auto m = f.consumer.try_receive();
            if (!m) {
                ASSERT_EQ(m.error(), errc::ring_empty);
                return;
            }
            EXPECT_TRUE(is_pattern(m->bytes, big.size(), 5));
            ++got;
        }
    };
    ASSERT_TRUE(f.producer.send(5, big, f.policy));
    f.hooks.on_park();
    EXPECT_EQ(got, 1u);
    EXPECT_GE(f.hooks.parks, 5u) << "22 fragments through a 256-byte ring";
}
