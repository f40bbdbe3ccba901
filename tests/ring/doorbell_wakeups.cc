// SPDX-License-Identifier: Apache-2.0
// Description: ring_doorbell wakes only an announced waiter; a spurious wake-up is a re-check.
//
// Doorbells are hints (HOSTILE-INPUTS #17): a waker unparks only when the
// word says someone may be parked, and a waiter that wakes without its
// condition re-checks, announces again and parks again; it never returns
// early and never reports an error because of it.
#include <cstdint>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::pattern;

namespace {

struct bell_fixture {
    test::fake_wait_hooks hooks;
    test::test_region region{{256}, 1};
    wire::doorbell& bell() { return region.region().doorbell(0); }
    std::uint64_t word() { return shared::load_relaxed(bell().word); }
    void set_word(std::uint64_t v) { shared::store_relaxed(bell().word, v); }
};

}  // namespace

TEST(doorbell_wakeups, ring_doorbell_unparks_only_when_the_word_is_set) {
    bell_fixture f;
    ring_doorbell(f.bell(), &f.hooks);
    EXPECT_EQ(f.hooks.unparks, 0u) << "nobody announced";
    f.set_word(1);
    ring_doorbell(f.bell(), &f.hooks);
    EXPECT_EQ(f.hooks.unparks, 1u);
    EXPECT_EQ(f.hooks.last_unparked, &f.bell().word);
    EXPECT_EQ(f.word(), 0u) << "the waker clears the word";
    ring_doorbell(f.bell(), &f.hooks);
    EXPECT_EQ(f.hooks.unparks, 1u) << "a second ring without a new announcement";
}

TEST(doorbell_wakeups, any_non_zero_word_is_treated_as_a_possible_waiter) {
    bell_fixture f;
    for (std::uint64_t v : {std::uint64_t{2}, std::uint64_t{0xdeadbeef}, ~std::uint64_t{0}}) {
        f.set_word(v);  // the host scribbled on it
        const std::size_t before = f.hooks.unparks;
        ring_doorbell(f.bell(), &f.hooks);
        EXPECT_EQ(f.hooks.unparks, before + 1) << std::hex << v;
        EXPECT_EQ(f.word(), 0u);
    }
}

TEST(doorbell_wakeups, without_hooks_ringing_is_a_no_op) {
    bell_fixture f;
    f.set_word(1);
    ring_doorbell(f.bell(), nullptr);
    EXPECT_EQ(f.word(), 1u) << "nobody can be parked without hooks; the word is left alone";
}

TEST(doorbell_wakeups, publishing_rings_only_an_announced_peer) {
    test::fake_wait_hooks hooks;
    test::test_region r({256});
    ring_producer p(r.ring(), {.hooks = &hooks});
    ring_consumer c(r.ring(), {{.hooks = &hooks}});
    shared_u64& consumer_bell = r.ring().control->consumer_bell.word;
    shared_u64& producer_bell = r.ring().control->producer_bell.word;
    for (std::uint64_t i = 0; i < 10; ++i)
        ASSERT_TRUE(p.try_send(1, pattern(8, i)));
    EXPECT_EQ(hooks.unparks, 0u) << "publishing to a consumer that never announced";
    shared::store_relaxed(consumer_bell, 1);
    ASSERT_TRUE(p.try_send(1, pattern(8, 10)));
    EXPECT_EQ(hooks.unparks, 1u);
    EXPECT_EQ(hooks.last_unparked, &consumer_bell);
    ASSERT_TRUE(p.try_send(1, pattern(8, 11)));
    EXPECT_EQ(hooks.unparks, 1u) << "one announcement, one unpark";

    while (c.try_receive()) {
    }
    EXPECT_EQ(hooks.unparks, 1u) << "the producer never announced";
    ASSERT_TRUE(p.try_send(1, pattern(8, 12)));
    shared::store_relaxed(producer_bell, 1);
    while (c.try_receive()) {
    }
    EXPECT_EQ(hooks.unparks, 2u);
    EXPECT_EQ(hooks.last_unparked, &producer_bell);
}

TEST(doorbell_wakeups, a_spurious_wake_up_only_causes_a_re_check) {
    bell_fixture f;
    bool ready_flag = false;
    std::size_t checks = 0;
    std::vector<std::size_t> checks_at_park;
    auto ready = [&] {
        ++checks;
        return ready_flag;
    };
    f.hooks.on_park = [&] {
        checks_at_park.push_back(checks);
        EXPECT_EQ(f.word(), 1u) << "parked without announcing first";
        if (f.hooks.parks == 5) {
            ready_flag = true;                  // the peer's change ...
            ring_doorbell(f.bell(), &f.hooks);  // ... then its wake-up
        }
    };
    const wait_policy policy{.spin_iterations = 0, .yield_iterations = 0, .hooks = &f.hooks};
    auto r = wait_until(ready, f.bell(), policy);
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(f.hooks.parks, 5u);
    EXPECT_EQ(f.hooks.parks_spurious, 4u) << "parks 1-4 returned with nothing changed";
    EXPECT_EQ(f.hooks.parks_woken, 1u);
    EXPECT_EQ(f.hooks.unparks, 1u);
    // Between two parks the waiter re-checked (after waking, and after
    // announcing again) and did nothing else.
    ASSERT_EQ(checks_at_park.size(), 5u);
    for (std::size_t k = 1; k < checks_at_park.size(); ++k) {
        const std::size_t between = checks_at_park[k] - checks_at_park[k - 1];
        EXPECT_GE(between, 1u) << "no re-check after spurious wake-up " << k;
        EXPECT_LE(between, 2u) << "after spurious wake-up " << k;
    }
}

TEST(doorbell_wakeups, a_host_cleared_doorbell_without_data_is_only_a_hint) {
    // The host clears the word (as a waker would) but publishes nothing:
    // park returns at once, the consumer finds no data, announces again and
    // parks again; the data that finally comes is received normally.
    test::fake_wait_hooks hooks;
    test::test_region r({256});
    ring_producer p(r.ring(), {.hooks = &hooks});
    ring_consumer c(r.ring(), {{.hooks = &hooks}});
    shared_u64& bell = r.ring().control->consumer_bell.word;
    hooks.on_park = [&] {
        EXPECT_EQ(shared::load_relaxed(bell), 1u) << "did not announce again after a false alarm";
        if (hooks.parks < 4)
            shared::store_relaxed(bell, 0);
        else
            ASSERT_TRUE(p.try_send(3, pattern(12, 3)));
    };
    auto m = c.receive({.spin_iterations = 8, .yield_iterations = 1, .hooks = &hooks});
    ASSERT_TRUE(m) << to_string(m.error());
    EXPECT_EQ(m->tag, 3);
    EXPECT_TRUE(test::is_pattern(m->bytes, 12, 3));
    EXPECT_EQ(hooks.parks, 4u);
    EXPECT_EQ(hooks.parks_woken, 4u);
    EXPECT_EQ(hooks.unparks, 1u);
    EXPECT_FALSE(c.faulted());
}

TEST(doorbell_wakeups, a_host_set_doorbell_costs_one_unpark_and_nothing_else) {
    test::fake_wait_hooks hooks;
    test::test_region r({256});
    ring_producer p(r.ring(), {.hooks = &hooks});
    ring_consumer c(r.ring(), {{.hooks = &hooks}});
    shared::store_relaxed(r.ring().control->consumer_bell.word, 1);  // nobody is parked
    ASSERT_TRUE(p.try_send(1, pattern(4, 1)));
    EXPECT_EQ(hooks.unparks, 1u);
    ASSERT_TRUE(p.try_send(2, pattern(4, 2)));
    EXPECT_EQ(hooks.unparks, 1u);
    for (int tag : {1, 2}) {
        auto m = c.try_receive();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->tag, tag);
    }
    EXPECT_FALSE(p.faulted());
    EXPECT_FALSE(c.faulted());
}
