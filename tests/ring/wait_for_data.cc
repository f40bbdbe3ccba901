// SPDX-License-Identifier: Apache-2.0
// Description: a waiting consumer returns once data is published, or times out by its deadline.
//
// Deterministic: fake_wait_hooks runs on a simulated clock that only yield
// and park advance, and lets the test act as the producer while the
// consumer "sleeps" (on_park / on_yield).
#include <cstdint>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;

namespace {

struct waiting_pair {
    test::fake_wait_hooks hooks;
    test::test_region region{{256}};
    ring_producer producer{region.ring(), {.hooks = &hooks}};
    ring_consumer consumer{region.ring(), {{.hooks = &hooks}}};
    wait_policy policy{.spin_iterations = 16, .yield_iterations = 3, .hooks = &hooks};
    shared_u64& bell() { return region.ring().control->consumer_bell.word; }
};

}  // namespace

TEST(wait_for_data, data_already_there_needs_no_yield_or_park) {
    waiting_pair w;
    ASSERT_TRUE(w.producer.try_send(1, pattern(5, 1)));
    EXPECT_TRUE(w.consumer.wait_for_data(w.policy));
    EXPECT_EQ(w.hooks.yields, 0u);
    EXPECT_EQ(w.hooks.parks, 0u);
    auto m = w.consumer.receive(w.policy);
    ASSERT_TRUE(m);
    EXPECT_TRUE(is_pattern(m->bytes, 5, 1));
}

TEST(wait_for_data, returns_when_data_is_published_during_a_park) {
    waiting_pair w;
    int park = 0;
    w.hooks.on_park = [&] {
        EXPECT_EQ(shared::load_relaxed(w.bell()), 1u) << "parked without announcing";
        if (++park == 3) {
            ASSERT_TRUE(w.producer.try_send(7, pattern(40, 7)));
        }
    };
    auto r = w.consumer.wait_for_data(w.policy);
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(w.hooks.yields, 3u) << "the yield phase";
    EXPECT_EQ(w.hooks.parks, 3u);
    EXPECT_EQ(w.hooks.parks_spurious, 2u);
    EXPECT_EQ(w.hooks.parks_woken, 1u);
    EXPECT_EQ(w.hooks.unparks, 1u) << "the producer must wake an announced consumer";
    EXPECT_EQ(w.hooks.last_unparked, &w.bell());
    EXPECT_EQ(shared::load_relaxed(w.bell()), 0u);
    auto m = w.consumer.try_receive();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->tag, 7);
    EXPECT_TRUE(is_pattern(m->bytes, 40, 7));
}

TEST(wait_for_data, data_published_while_yielding_needs_no_park_and_no_unpark) {
    waiting_pair w;
    int yield = 0;
    w.hooks.on_yield = [&] {
        if (++yield == 2) {
            ASSERT_TRUE(w.producer.try_send(1, pattern(5, 1)));
        }
    };
    ASSERT_TRUE(w.consumer.wait_for_data(w.policy));
    EXPECT_EQ(w.hooks.yields, 2u);
    EXPECT_EQ(w.hooks.parks, 0u);
    EXPECT_EQ(w.hooks.unparks, 0u) << "nobody had announced a park";
}

TEST(wait_for_data, receive_assembles_a_message_that_arrives_across_parks) {
    waiting_pair w;
    const auto big = pattern(5 * 256 + 3, 4);
    outgoing_message out(4, big);
    w.hooks.on_park = [&] {
        if (!out.done()) {
            auto s = w.producer.try_send(out);
            if (!s) {
                ASSERT_EQ(s.error(), errc::ring_full);
            }
        }
    };
    auto m = w.consumer.receive(w.policy);
    ASSERT_TRUE(m) << to_string(m.error());
    EXPECT_EQ(m->tag, 4);
    EXPECT_TRUE(is_pattern(m->bytes, big.size(), 4));
    EXPECT_GE(w.hooks.parks, 5u) << "a 256-byte ring cannot carry it in fewer turns";
    EXPECT_EQ(w.hooks.unparks, w.hooks.parks_woken);
}

TEST(wait_for_data, an_empty_ring_times_out_by_the_deadline) {
    waiting_pair w;
    w.policy.timeout_ns = 2'000'000;
    const std::uint64_t start = w.hooks.clock_ns;
    auto r = w.consumer.wait_for_data(w.policy);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::timed_out);
    const std::uint64_t elapsed = w.hooks.clock_ns - start;
    EXPECT_GE(elapsed, w.policy.timeout_ns) << "gave up before the deadline";
    EXPECT_LE(elapsed, w.policy.timeout_ns + w.hooks.yields * w.hooks.yield_ns)
        << "slept past the deadline";
    EXPECT_GE(w.hooks.parks, 1u);
    EXPECT_LE(w.hooks.last_park_timeout_ns, w.policy.timeout_ns);
    EXPECT_FALSE(w.consumer.faulted()) << "a timeout is not a fault";
    // receive() times out the same way, and the consumer still works after.
    EXPECT_EQ(w.consumer.receive(w.policy).error(), errc::timed_out);
    ASSERT_TRUE(w.producer.try_send(2, pattern(3, 2)));
    auto m = w.consumer.receive(w.policy);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->tag, 2);
}

TEST(wait_for_data, a_zero_timeout_never_parks) {
    waiting_pair w;
    w.policy.timeout_ns = 0;
    EXPECT_EQ(w.consumer.wait_for_data(w.policy).error(), errc::timed_out);
    EXPECT_EQ(w.hooks.parks, 0u);
}

TEST(wait_for_data, without_hooks_the_wait_is_a_bounded_spin) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const wait_policy spin_only{.spin_iterations = 100};
    EXPECT_EQ(c.wait_for_data(spin_only).error(), errc::timed_out);
    EXPECT_EQ(c.receive(spin_only).error(), errc::timed_out);
    ASSERT_TRUE(p.try_send(1, pattern(1, 1)));
    EXPECT_TRUE(c.wait_for_data(spin_only));
    EXPECT_TRUE(c.receive(spin_only));
}

TEST(wait_for_data, the_wait_ends_when_the_consumer_faults) {
    waiting_pair w;
    consumer_options o;
    o.hooks = &w.hooks;
    o.max_message = 10;
    ring_consumer capped(w.region.ring(), o);
    int park = 0;
    w.hooks.on_park = [&] {
        if (++park == 2) {
            ASSERT_TRUE(w.producer.try_send(1, pattern(11, 1)));
        }
    };
    // wait_for_data sees a record; receive finds it over the cap.
    auto m = capped.receive(w.policy);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), errc::fault_fragment_total);
    EXPECT_EQ(capped.wait_for_data(w.policy).error(), errc::fault_fragment_total);
}
