// SPDX-License-Identifier: Apache-2.0
// Description: sync_wait lets plain code call a coroutine: it runs the
// executor (spawned work, timers) until the task finishes and returns its
// result; it uses the thread's current executor; nesting it inside a
// coroutine of the same executor is refused loudly.
#include <string>

#include "airlock/async/sync_wait.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

task<std::string> slow_greeting(executor& ex) {
    (void)co_await ex.sleep_for(1'000);
    co_return "done";
}

task<void> ticker(executor& ex, int& ticks) {
    for (int i = 0; i < 5; ++i) {
        (void)co_await ex.sleep_for(100);
        ++ticks;
    }
}

// "Legacy" synchronous code that needs a coroutine's answer.
int legacy_compute() {
    return sync_wait([]() -> task<int> { co_return 6 * 7; }());
}

}  // namespace

TEST(sync_wait, returns_the_result_and_runs_other_work_meanwhile) {
    test::harness h;
    int ticks = 0;
    h.ex.spawn(ticker(h.ex, ticks));
    EXPECT_EQ(sync_wait(h.ex, slow_greeting(h.ex)), "done");
    EXPECT_EQ(ticks, 5) << "the spawned ticker ran during the wait";
}

TEST(sync_wait, uses_the_current_executor) {
    test::harness h;
    EXPECT_EQ(executor::current(), &h.ex);
    EXPECT_EQ(legacy_compute(), 42);
    {
        test::harness inner;
        EXPECT_EQ(executor::current(), &inner.ex) << "executors nest";
        EXPECT_EQ(legacy_compute(), 42);
    }
    EXPECT_EQ(executor::current(), &h.ex);
}

TEST(sync_wait, is_repeatable_and_leaves_no_frames) {
    test::harness h;
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(sync_wait(h.ex, slow_greeting(h.ex)), "done");
    EXPECT_EQ(h.ex.frame_stats().live_frames, 0u);
    EXPECT_EQ(h.ex.ready(), 0u);
}

TEST(sync_wait_death, nesting_inside_a_coroutine_is_refused) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            test::harness h;
            auto outer = [](executor& ex) -> task<int> {
                co_return sync_wait(ex, []() -> task<int> { co_return 1; }());
            };
            (void)sync_wait(h.ex, outer(h.ex));
        },
        "inside a round");
}
