// SPDX-License-Identifier: Apache-2.0
// Description: an exception thrown in a task is captured and rethrown at the
// co_await of its awaiter, through any depth of tasks, and by sync_wait.
#include <stdexcept>
#include <string>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/task.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;
using airlock::test::counted;

namespace {

task<int> thrower(std::string what) {
    counted local;
    throw std::runtime_error(what);
    co_return 0;  // unreachable; makes this a coroutine
}

task<void> void_thrower() {
    throw std::logic_error("void");
    co_return;
}

task<int> middle(std::string what) {
    counted local;
    const int v = co_await thrower(std::move(what));
    co_return v + 1;  // never reached
}

task<int> catcher() {
    try {
        co_await middle("deep");
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "deep");
        co_return 1;
    }
    co_return 0;
}

}  // namespace

TEST(exceptions, thrown_in_a_task_rethrown_at_its_await) {
    counted::reset();
    test::harness h;
    EXPECT_EQ(sync_wait(h.ex, catcher()), 1);
    EXPECT_EQ(counted::alive(), 0) << "locals of the unwound tasks are destroyed";
}

TEST(exceptions, sync_wait_rethrows) {
    test::harness h;
    EXPECT_THROW((void)sync_wait(h.ex, middle("out")), std::runtime_error);
    EXPECT_THROW(sync_wait(h.ex, void_thrower()), std::logic_error);
}

TEST(exceptions, when_ready_does_not_throw_and_the_result_still_does) {
    test::harness h;
    auto body = []() -> task<bool> {
        task<int> t = thrower("later");
        co_await t.when_ready();  // finishes, does not rethrow
        EXPECT_TRUE(t.is_ready());
        try {
            (void)co_await t;
        } catch (const std::runtime_error&) {
            co_return true;
        }
        co_return false;
    };
    EXPECT_TRUE(sync_wait(h.ex, body()));
}

TEST(exceptions, a_failed_task_leaves_the_executor_usable) {
    test::harness h;
    EXPECT_THROW((void)sync_wait(h.ex, thrower("x")), std::runtime_error);
    EXPECT_EQ(sync_wait(h.ex, []() -> task<int> { co_return 9; }()), 9);
    EXPECT_EQ(h.ex.frame_stats().live_frames, 0u);
}
