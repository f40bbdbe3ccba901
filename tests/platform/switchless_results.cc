// SPDX-License-Identifier: Apache-2.0
// Description: a switchless call runs its function once on a worker thread
// and hands back the value, reference, void or exception it produced, with
// every object constructed and destroyed exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "airlock/platform/switchless.hh"
#include "support/region_fixture.hh"

using namespace airlock::platform;
using airlock::test::watchdog;

namespace {

// Counts live instances: a leak or a double destruction shows as a non-zero
// balance.
struct counted {
    static inline std::atomic<int> live{0};
    int value;
    explicit counted(int v) : value(v) { live.fetch_add(1, std::memory_order_relaxed); }
    counted(const counted& o) : value(o.value) { live.fetch_add(1, std::memory_order_relaxed); }
    counted(counted&& o) noexcept : value(o.value) { live.fetch_add(1, std::memory_order_relaxed); }
    counted& operator=(const counted&) = default;
    ~counted() { live.fetch_sub(1, std::memory_order_relaxed); }
};

// A fallback that costs nothing, so a test never waits for the model.
struct free_fallback {
    tsc_clock clock{1.0};
    modelled_transition transition{0, clock};
};

switchless_options no_cost(free_fallback& f) {
    switchless_options o;
    o.fallback = &f.transition;
    return o;
}

}  // namespace

TEST(switchless_results, values_run_on_a_worker_thread) {
    watchdog dog(std::chrono::seconds(120), "switchless_results.values");
    free_fallback f;
    // The caller waits for acceptance without limit, so every call is served.
    switchless_options o = no_cost(f);
    o.retries_before_fallback = UINT32_MAX;
    switchless_pool pool(2, 8, o);
    EXPECT_EQ(pool.workers(), 2u);
    EXPECT_EQ(pool.slots(), 8u);

    const std::thread::id caller = std::this_thread::get_id();
    std::thread::id ran_on;
    EXPECT_EQ(pool.call([&] {
        ran_on = std::this_thread::get_id();
        return 42;
    }),
              42);
    EXPECT_NE(ran_on, caller) << "the call ran on the caller's thread";

    const std::string s = pool.call([] { return std::string(1000, 'x'); });
    EXPECT_EQ(s, std::string(1000, 'x'));

    auto owned = pool.call([] { return std::make_unique<int>(7); });
    ASSERT_NE(owned, nullptr);
    EXPECT_EQ(*owned, 7);

    int target = 1;
    int& ref = pool.call([&]() -> int& { return target; });
    EXPECT_EQ(&ref, &target);

    int side_effect = 0;
    pool.call([&] { side_effect = 9; });
    EXPECT_EQ(side_effect, 9) << "a write on the worker is visible to the caller";

    const switchless_stats st = pool.stats();
    EXPECT_EQ(st.served, 5u);
    EXPECT_EQ(st.fallbacks(), 0u);
    EXPECT_EQ(st.calls(), 5u);
    EXPECT_EQ(f.transition.calls(), 0u);
}

TEST(switchless_results, lvalue_and_rvalue_callables) {
    watchdog dog(std::chrono::seconds(120), "switchless_results.callables");
    free_fallback f;
    switchless_options o = no_cost(f);
    o.retries_before_fallback = UINT32_MAX;
    switchless_pool pool(1, 4, o);
    struct callable {
        int lvalue_calls = 0;
        int operator()() & { return ++lvalue_calls; }
        int operator()() && { return -1; }
    };
    callable c;
    EXPECT_EQ(pool.call(c), 1);
    EXPECT_EQ(pool.call(c), 2);
    EXPECT_EQ(c.lvalue_calls, 2) << "an lvalue callable is called in place";
    EXPECT_EQ(pool.call(callable{}), -1) << "an rvalue callable is called as an rvalue";
}

TEST(switchless_results, objects_live_and_die_once) {
    watchdog dog(std::chrono::seconds(120), "switchless_results.lifetimes");
    ASSERT_EQ(counted::live.load(), 0);
    {
        free_fallback f;
        switchless_options o = no_cost(f);
        o.retries_before_fallback = UINT32_MAX;
        switchless_pool pool(1, 2, o);
        for (int i = 0; i < 100; ++i) {
            const counted c = pool.call([i] { return counted(i); });
            EXPECT_EQ(c.value, i);
            EXPECT_EQ(counted::live.load(), 1) << "call " << i;
        }
        const counted arg(5);
        const counted copy = pool.call([arg] { return arg; });
        EXPECT_EQ(copy.value, 5);
    }
    EXPECT_EQ(counted::live.load(), 0) << "a result leaked or was destroyed twice";
}

TEST(switchless_results, an_exception_crosses_back_to_the_caller) {
    watchdog dog(std::chrono::seconds(120), "switchless_results.exception");
    free_fallback f;
    switchless_options o = no_cost(f);
    o.retries_before_fallback = UINT32_MAX;
    switchless_pool pool(1, 1, o);
    try {
        pool.call([]() -> int { throw std::runtime_error("from the worker"); });
        ADD_FAILURE() << "expected an exception";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "from the worker");
    }
    EXPECT_EQ(pool.call([] { return 3; }), 3) << "the worker survives a throwing call";
    EXPECT_EQ(pool.stats().served, 2u);
}

TEST(switchless_results, the_default_fallback_is_owned_by_the_pool) {
    watchdog dog(std::chrono::seconds(120), "switchless_results.default_fallback");
    switchless_pool pool(1, 64);
    EXPECT_EQ(pool.fallback().cycles_per_call(), modelled_transition::default_cycles_per_call);
    EXPECT_EQ(pool.call([] { return 11; }), 11);
    EXPECT_EQ(pool.stats().calls(), 1u);
}
