// SPDX-License-Identifier: Apache-2.0
// Description: an async::alarm fires its function once, in a round, when the
// executor's clock reaches the time it was armed for; it may re-arm itself
// from that function; re-arming moves it; disarming or destroying it
// leaves no timer behind.
#include <cstdint>

#include "airlock/async/alarm.hh"
#include "async/async_support.hh"

namespace {

using namespace airlock;

struct counter {
    int fired = 0;
    int rearm = 0;  // times it re-arms itself
    async::alarm* self = nullptr;
    std::uint64_t period = 0;
    static void on_fire(void* p) noexcept {
        auto& c = *static_cast<counter*>(p);
        ++c.fired;
        if (c.rearm-- > 0) c.self->arm_at(c.period * static_cast<std::uint64_t>(c.fired + 1));
    }
};

TEST(alarm, fires_once_when_due) {
    test::harness h;
    h.hooks.now = 0;
    counter c;
    async::alarm a(h.ex, &counter::on_fire, &c);
    EXPECT_FALSE(a.armed());
    a.arm_at(100);
    EXPECT_TRUE(a.armed());
    EXPECT_EQ(h.ex.timers_armed(), 1u);
    h.ex.run_once();
    EXPECT_EQ(c.fired, 0) << "fired before its time";
    h.hooks.now = 100;
    h.ex.run_once();
    EXPECT_EQ(c.fired, 1);
    EXPECT_FALSE(a.armed());
    h.hooks.now = 1000;
    h.ex.run_once();
    EXPECT_EQ(c.fired, 1) << "fired twice";
    EXPECT_EQ(h.ex.timers_armed(), 0u);
}

TEST(alarm, re_arms_from_its_function_and_moves_when_re_armed) {
    test::harness h;
    h.hooks.now = 0;
    counter c;
    async::alarm a(h.ex, &counter::on_fire, &c);
    c.self = &a;
    c.period = 10;
    c.rearm = 2;
    a.arm_at(50);
    a.arm_at(10);  // moved earlier: one timer, not two
    EXPECT_EQ(h.ex.timers_armed(), 1u);
    for (std::uint64_t t = 0; t <= 100; ++t) {
        h.hooks.now = t;
        h.ex.run_once();
    }
    EXPECT_EQ(c.fired, 3) << "at 10, then re-armed for 20 and 30";
    EXPECT_EQ(h.ex.timers_armed(), 0u);
}

TEST(alarm, disarming_or_destroying_it_leaves_no_timer) {
    test::harness h;
    h.hooks.now = 0;
    counter c;
    {
        async::alarm a(h.ex, &counter::on_fire, &c);
        a.arm_at(10);
        a.disarm();
        EXPECT_EQ(h.ex.timers_armed(), 0u);
        a.arm_at(20);
    }
    EXPECT_EQ(h.ex.timers_armed(), 0u) << "destroyed while armed";
    h.hooks.now = 100;
    h.ex.run_once();
    EXPECT_EQ(c.fired, 0);
}

}  // namespace
