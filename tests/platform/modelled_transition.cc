// SPDX-License-Identifier: Apache-2.0
// Description: the modelled transition runs the function once, returns what
// it returns, counts calls, and converts its cycle cost to nanoseconds at the
// clock's rate (checked with an injected rate); the calibrated rate agrees
// with steady_clock over a known interval.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "airlock/platform/transition.hh"

using namespace airlock::platform;

TEST(modelled_transition, cycles_to_ns_at_an_injected_rate) {
    constexpr tsc_clock two_ghz(2.0);
    EXPECT_DOUBLE_EQ(two_ghz.cycles_per_ns(), 2.0);
    EXPECT_DOUBLE_EQ(two_ghz.cycles_to_ns(8'200), 4'100.0);
    EXPECT_EQ(two_ghz.ns_to_cycles(4'100.0), 8'200u);
    EXPECT_EQ(two_ghz.ns_to_cycles(0.24), 0u) << "rounds to the nearest cycle";
    EXPECT_EQ(two_ghz.ns_to_cycles(0.26), 1u) << "rounds to the nearest cycle";
    const tsc_clock three_ghz(3.0);
    EXPECT_NEAR(three_ghz.cycles_to_ns(17'000), 5'666.667, 0.001);
    EXPECT_EQ(three_ghz.ns_to_cycles(three_ghz.cycles_to_ns(17'000)), 17'000u);
}

TEST(modelled_transition, cost_splits_into_entry_and_exit_halves) {
    const tsc_clock clock(2.5);
    const modelled_transition standard(modelled_transition::default_cycles_per_call, clock);
    EXPECT_EQ(modelled_transition::default_cycles_per_call, 8'200u) << "HotCalls' lower bound";
    EXPECT_EQ(standard.cycles_per_call(), 8'200u);
    EXPECT_EQ(standard.entry_cycles(), 4'100u);
    EXPECT_EQ(standard.exit_cycles(), 4'100u);
    EXPECT_DOUBLE_EQ(standard.ns_per_call(), 3'280.0);
    EXPECT_EQ(&standard.clock(), &clock);

    const modelled_transition odd(17'001, clock);
    EXPECT_EQ(odd.entry_cycles() + odd.exit_cycles(), 17'001u);
    EXPECT_EQ(odd.entry_cycles(), 8'500u);
    EXPECT_EQ(odd.exit_cycles(), 8'501u);
}

TEST(modelled_transition, runs_the_function_once_and_returns_its_result) {
    const tsc_clock clock(1.0);
    modelled_transition t(100, clock);
    int runs = 0;
    EXPECT_EQ(t.call([&] { return ++runs * 7; }), 7);
    EXPECT_EQ(runs, 1);

    int target = 3;
    int& ref = t.call([&]() -> int& { return target; });
    EXPECT_EQ(&ref, &target) << "a reference result is the same object";

    t.call([&] { ++runs; });  // void
    EXPECT_EQ(runs, 2);

    auto owned = t.call([] { return std::make_unique<std::string>("moved out"); });
    ASSERT_NE(owned, nullptr);
    EXPECT_EQ(*owned, "moved out");

    EXPECT_EQ(t.calls(), 4u);
}

TEST(modelled_transition, an_exception_propagates_and_the_call_still_counts) {
    const tsc_clock clock(1.0);
    modelled_transition t(64, clock);
    EXPECT_THROW(t.call([]() -> int { throw std::runtime_error("inside"); }), std::runtime_error);
    EXPECT_EQ(t.calls(), 1u);
}

// The busy wait spins until the TSC has advanced by the modelled cycles: a
// lower bound that holds by construction, not a measurement of speed.
TEST(modelled_transition, pays_at_least_the_modelled_cycles) {
    const tsc_clock clock(1.0);
    modelled_transition t(20'000, clock);
    const std::uint64_t start = read_tsc();
    std::uint64_t inside = 0;
    t.call([&] { inside = read_tsc(); });
    const std::uint64_t end = read_tsc();
    EXPECT_GE(inside - start, t.entry_cycles()) << "entry half paid before the function";
    EXPECT_GE(end - inside, t.exit_cycles()) << "exit half paid after it";
}

TEST(modelled_transition, the_calibrated_clock_is_measured_once) {
    const tsc_clock& a = tsc_clock::calibrated();
    const tsc_clock& b = tsc_clock::calibrated();
    EXPECT_EQ(&a, &b);
    EXPECT_TRUE(std::isfinite(a.cycles_per_ns()));
    EXPECT_GT(a.cycles_per_ns(), 0.0);
    const modelled_transition by_default;
    EXPECT_EQ(by_default.cycles_per_call(), modelled_transition::default_cycles_per_call);
    EXPECT_EQ(&by_default.clock(), &a);
}

// Every modelled cost and every ratio against the baselines is converted at
// the calibrated rate, so it must be the rate at which read_tsc advances in
// steady_clock time. Over 200 ms (slept, so a busy machine only lengthens it)
// the two may differ by scheduling noise, never by a factor of two: a rate
// off by that much means a broken calibration, not a slow machine.
TEST(modelled_transition, the_calibrated_rate_matches_steady_clock) {
    const double calibrated = tsc_clock::calibrated().cycles_per_ns();
    using std::chrono::steady_clock;
    const auto t0 = steady_clock::now();
    const std::uint64_t c0 = read_tsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::uint64_t c1 = read_tsc();
    const auto t1 = steady_clock::now();
    const double ns =
        static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    ASSERT_GT(c1, c0) << "the cycle counter does not advance";
    const double measured = static_cast<double>(c1 - c0) / ns;
    EXPECT_GT(calibrated, measured / 2) << "calibrated " << calibrated << " cycles/ns, measured "
                                        << measured << " over " << ns << " ns";
    EXPECT_LT(calibrated, measured * 2) << "calibrated " << calibrated << " cycles/ns, measured "
                                        << measured << " over " << ns << " ns";
}
