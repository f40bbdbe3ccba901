// SPDX-License-Identifier: Apache-2.0
// Description: destroying an unstarted or suspended task (or an executor with
// suspended spawned tasks) destroys every frame, local and parameter, disarms
// timers and unlinks cancellation registrations: nothing leaks.
#include <coroutine>
#include <exception>
#include <utility>

#include "airlock/async/cancellation.hh"
#include "airlock/async/executor.hh"
#include "airlock/async/when_all.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;
using airlock::test::counted;

namespace {

// The coroutines whose frames are counted are noinline: clang may otherwise
// inline the ramp and elide the frame allocation (HALO), which is fine in
// production but hides the pool from the counts.
[[gnu::noinline]] task<void> sleeper(counted /*param*/, executor& ex, cancellation_token token,
                                     bool& resumed) {
    counted local;
    (void)co_await ex.sleep_for(1'000, token);
    resumed = true;
}

[[gnu::noinline]] task<void> parent(counted /*param*/, executor& ex, cancellation_token token,
                                    bool& resumed) {
    counted local;
    co_await sleeper(counted{}, ex, token, resumed);
    resumed = true;
}

// Starts a task from plain code: runs it to its first suspension. Owns its
// own (global) frame, destroyed with the starter.
struct starter {
    struct promise_type {
        starter get_return_object() {
            return starter(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { std::terminate(); }
    };
    explicit starter(std::coroutine_handle<promise_type> h) noexcept : handle(h) {}
    starter(starter&& other) noexcept : handle(std::exchange(other.handle, {})) {}
    ~starter() {
        if (handle) handle.destroy();
    }
    std::coroutine_handle<promise_type> handle;
};

starter start(task<void>& t) {
    co_await t;
}

}  // namespace

TEST(task_destruction, an_unstarted_task_destroys_its_parameters) {
    counted::reset();
    test::harness h;
    bool resumed = false;
    {
        task<void> t = parent(counted{}, h.ex, {}, resumed);
        EXPECT_EQ(counted::alive(), 1) << "the parameter copy in the frame";
        EXPECT_EQ(h.ex.frame_stats().live_frames, 1u);
    }
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(counted::constructed.load(), counted::destroyed.load());
    EXPECT_EQ(h.ex.frame_stats().live_frames, 0u);
    EXPECT_FALSE(resumed);
}

TEST(task_destruction, a_suspended_chain_is_destroyed_whole) {
    counted::reset();
    test::harness h;
    cancellation_source cancel;
    bool resumed = false;
    {
        task<void> t = parent(counted{}, h.ex, cancel.token(), resumed);
        const starter s = start(t);
        EXPECT_FALSE(t.is_ready());
        // Two parameter copies in the frames, two locals, and the argument
        // of sleeper(), which lives until parent's co_await expression ends.
        EXPECT_EQ(counted::alive(), 5);
        EXPECT_EQ(h.ex.timers_armed(), 1u);
        EXPECT_EQ(cancel.registrations(), 1u);
        // Two frames, and the cancellation source's state (pooled too).
        EXPECT_EQ(h.ex.frame_stats().live_frames, 3u);

        t = task<void>{};  // destroys parent, which destroys sleeper

        EXPECT_EQ(counted::alive(), 0);
        EXPECT_EQ(h.ex.timers_armed(), 0u) << "the sleep's timer must be disarmed";
        EXPECT_EQ(cancel.registrations(), 0u) << "the sleep's registration must unlink";
        EXPECT_EQ(h.ex.frame_stats().live_frames, 1u) << "only the source's state is left";
    }
    // Nothing is left to fire: the clock moves past the old deadline.
    h.hooks.now += 10'000;
    h.ex.run_once();
    cancel.request_cancellation();
    h.ex.run_once();
    EXPECT_FALSE(resumed);
    EXPECT_EQ(counted::constructed.load(), counted::destroyed.load());
}

TEST(task_destruction, an_executor_destroys_its_suspended_spawned_tasks) {
    counted::reset();
    const std::uint64_t orphans = frame_pool::orphaned_pools();
    bool resumed = false;
    {
        test::harness h;
        h.ex.spawn(parent(counted{}, h.ex, {}, resumed));
        h.ex.spawn(parent(counted{}, h.ex, {}, resumed));
        h.ex.run_once();
        EXPECT_EQ(h.ex.spawned(), 2u);
        EXPECT_EQ(h.ex.timers_armed(), 2u);
        EXPECT_EQ(counted::alive(), 10) << "5 per chain (see above)";
    }
    EXPECT_FALSE(resumed);
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(counted::constructed.load(), counted::destroyed.load());
    EXPECT_EQ(frame_pool::orphaned_pools(), orphans) << "every frame was freed before the pool";
}

TEST(task_destruction, a_suspended_when_all_destroys_its_children) {
    counted::reset();
    test::harness h;
    bool resumed = false;
    {
        task<void> t = [](executor& ex, bool& r) -> task<void> {
            co_await when_all(parent(counted{}, ex, {}, r), parent(counted{}, ex, {}, r));
        }(h.ex, resumed);
        const starter s = start(t);
        EXPECT_EQ(h.ex.timers_armed(), 2u);
        EXPECT_EQ(counted::alive(), 12) << "5 per chain and the two arguments of parent()";
    }
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(h.ex.timers_armed(), 0u);
    EXPECT_EQ(h.ex.frame_stats().live_frames, 0u);
    EXPECT_FALSE(resumed);
}
