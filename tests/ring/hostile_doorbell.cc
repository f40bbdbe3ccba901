// SPDX-License-Identifier: Apache-2.0
// Description: doorbells are hints: a host that writes any value into the
// doorbell words, and parks that return without data (spurious wake-ups),
// never make an endpoint report data or space that is not there, never fault
// it, and never lose a real wake-up; every wait re-checks a fresh snapshot
// of the indices (HOSTILE-INPUTS #17).
#include <cstdint>
#include <vector>

#include "airlock/ring/fan_in.hh"
#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::code_of;

namespace {

constexpr std::uint64_t capacity = 1024;
const std::vector<std::uint64_t> bell_values = {1, 2, ~0ull, 0x8000'0000'0000'0000ull, 0};

template <class Options>
Options hooked(test::fake_hooks& hooks) {
    Options o;
    o.hooks = &hooks;
    return o;
}

}  // namespace

TEST(hostile_doorbell, scribbled_bells_and_spurious_wakes_do_not_make_data) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    test::fake_hooks hooks;
    ring_consumer c(r.ring(), hooked<consumer_options>(hooks));
    auto& ctl = *r.ring().control;
    for (std::uint64_t v : bell_values) {
        SCOPED_TRACE(v);
        // Every park "wakes" at once, and the host keeps rewriting both bells.
        hooks.on_park = [&](shared_u64&) {
            shared::store_relaxed(ctl.consumer_bell.word, v);
            shared::store_relaxed(ctl.producer_bell.word, v);
        };
        shared::store_relaxed(ctl.consumer_bell.word, v);
        shared::store_relaxed(ctl.producer_bell.word, v);
        const std::uint64_t parks = hooks.parks;
        EXPECT_FALSE(c.has_data());
        AIRLOCK_EXPECT_ERRC(code_of(c.wait_for_data(test::short_wait(&hooks))), errc::timed_out);
        AIRLOCK_EXPECT_ERRC(code_of(c.try_receive()), errc::ring_empty);
        AIRLOCK_EXPECT_ERRC(code_of(c.receive(test::short_wait(&hooks))), errc::timed_out);
        EXPECT_GT(hooks.parks, parks) << "the waits should have parked (and woken spuriously)";
        EXPECT_FALSE(c.faulted()) << to_string(c.fault());
    }
}

TEST(hostile_doorbell, data_that_arrives_during_a_spurious_wake_is_found) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    test::fake_hooks hooks;
    ring_producer host(r.ring());
    ring_consumer c(r.ring(), hooked<consumer_options>(hooks));
    int parks = 0;
    // The first two wakes are empty; during the third park the host sends a
    // message and, hostile, clears the bell without waking anybody.
    hooks.on_park = [&](shared_u64& bell) {
        if (++parks == 3) {
            ASSERT_TRUE(host.try_send(3, test::pattern(50, 3)).has_value());
            shared::store_relaxed(bell, 0);
        }
    };
    wait_policy forever = test::short_wait(&hooks);
    forever.timeout_ns = ~0ull;
    auto m = c.receive(forever);
    ASSERT_TRUE(m.has_value()) << to_string(m.error());
    EXPECT_EQ(m->tag, 3);
    EXPECT_EQ(test::first_mismatch(m->bytes, 3), -1);
    EXPECT_EQ(parks, 3);
}

TEST(hostile_doorbell, producer_rings_whatever_the_host_wrote_and_goes_on) {
    // The host keeps the consumer's bell non-zero: every publish then wakes
    // (an unpark call, a cost, not an error); records are unaffected.
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    test::fake_hooks hooks;
    auto& ctl = *r.ring().control;
    hooks.on_unpark = [&](shared_u64& bell) { shared::store_relaxed(bell, ~0ull); };
    shared::store_relaxed(ctl.consumer_bell.word, 7);
    ring_producer p(r.ring(), hooked<endpoint_options>(hooks));
    ring_consumer host(r.ring());
    for (std::uint64_t seq = 0; seq < 100; ++seq) {
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(seq), test::pattern(30, seq)))
            << "send " << seq;
        auto m = host.try_receive();
        ASSERT_TRUE(m.has_value()) << to_string(m.error());
        EXPECT_EQ(test::first_mismatch(m->bytes, seq), -1);
    }
    EXPECT_EQ(hooks.unparks, 100u);
    EXPECT_FALSE(p.faulted()) << to_string(p.fault());
}

TEST(hostile_doorbell, full_ring_waits_recheck_the_head) {
    // A producer waiting for space on a full ring: spurious wakes and bell
    // scribbles do not make space; a real release during a park does.
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    test::fake_hooks hooks;
    ring_producer p(r.ring(), hooked<endpoint_options>(hooks));
    while (p.try_send(1, test::pattern(100, 1))) {
    }
    hooks.on_park = [&](shared_u64& bell) { shared::store_relaxed(bell, ~0ull); };
    AIRLOCK_EXPECT_ERRC(code_of(p.wait_for_space(100, test::short_wait(&hooks))), errc::timed_out);
    EXPECT_FALSE(p.faulted());
    ring_consumer host(r.ring());
    int parks = 0;
    hooks.on_park = [&](shared_u64& bell) {
        shared::store_relaxed(bell, 0);
        if (++parks == 2) {
            while (auto m = host.try_receive()) {
            }
            host.publish();
        }
    };
    wait_policy forever = test::short_wait(&hooks);
    forever.timeout_ns = ~0ull;
    EXPECT_TRUE(p.wait_for_space(100, forever).has_value());
    EXPECT_EQ(parks, 2);
    EXPECT_TRUE(p.try_send(2, test::pattern(100, 2)).has_value());
    EXPECT_FALSE(p.faulted()) << to_string(p.fault());
}

TEST(hostile_doorbell, standalone_doorbells_are_never_read_as_state) {
    // A region's stand-alone doorbells (for consumers polling many rings)
    // can hold anything: a fan-in parked on one still sees only real data.
    test::exact_region r({{capacity, capacity}, 2});
    test::fake_hooks hooks;
    for (std::size_t b = 0; b < 2; ++b)
        shared::store_relaxed(r.region().doorbell(b).word, ~0ull);
    hooks.on_park = [&](shared_u64& bell) { shared::store_relaxed(bell, 0xdead); };
    const std::vector<ring_view> rings = {r.ring(0), r.ring(1)};
    fan_in_consumer fan(rings, r.region().doorbell(0), hooked<consumer_options>(hooks));
    AIRLOCK_EXPECT_ERRC(code_of(fan.receive(test::short_wait(&hooks))), errc::timed_out);
    EXPECT_EQ(fan.healthy_rings(), 2u);
    ring_producer p(r.ring(1), [&] {
        endpoint_options o;
        o.peer_bell = &r.region().doorbell(0);
        return o;
    }());
    ASSERT_TRUE(p.try_send(5, test::pattern(8, 5)).has_value());
    auto m = fan.receive(test::short_wait(&hooks));
    ASSERT_TRUE(m.has_value()) << to_string(m.error());
    EXPECT_EQ(m->ring, 1u);
    EXPECT_EQ(m->tag, 5);
}
