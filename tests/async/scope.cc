// SPDX-License-Identifier: Apache-2.0
// Description: an async_scope owns the tasks spawned into it: join resumes
// once all have finished; request_stop cancels every task of it at its next
// cancellation point (its token is inherited); failures are counted and
// reported; destroying a scope destroys the tasks still suspended; a task
// of a scope that hops to another executor and finishes there still wakes
// the join.
#include <atomic>
#include <thread>

#include "airlock/async/scope.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/platform/futex_wait.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;
using airlock::test::counted;

namespace {

task<void> sleep_then_count(executor& ex, std::uint64_t ns, int& done) {
    (void)co_await ex.sleep_for(ns);
    ++done;
}

task<void> wait_for_stop(executor& ex, int& cancelled) {
    const expected<void> r = co_await ex.sleep_for(1'000'000'000);
    if (!r && r.error() == errc::cancelled) ++cancelled;
}

task<expected<void>> fails(executor& ex) {
    (void)co_await ex.sleep_for(5);
    co_return unexpected(errc::rpc_decode);
}

task<void> join_scope(async_scope& s) {
    co_await s.join();
}

void quiet(void* /*context*/, const task_failure& /*failure*/) noexcept {}

}  // namespace

TEST(scope, join_resumes_once_every_task_has_finished) {
    test::harness h;
    async_scope s(h.ex);
    int done = 0;
    for (std::uint64_t i = 1; i <= 10; ++i)
        s.spawn(sleep_then_count(h.ex, i * 100, done));
    EXPECT_EQ(s.active(), 10u);
    sync_wait(h.ex, join_scope(s));
    EXPECT_EQ(done, 10);
    EXPECT_EQ(s.active(), 0u);
    EXPECT_EQ(s.stats().spawned, 10u);
    EXPECT_EQ(s.stats().finished, 10u);
    // A join of an empty scope does not wait.
    sync_wait(h.ex, join_scope(s));
}

TEST(scope, request_stop_cancels_every_task_at_its_next_cancellation_point) {
    test::harness h;
    async_scope s(h.ex);
    int cancelled = 0;
    for (int i = 0; i < 5; ++i)
        s.spawn(wait_for_stop(h.ex, cancelled));
    h.ex.run_once();  // they start and sleep
    const std::uint64_t before = h.hooks.now;
    EXPECT_TRUE(s.request_stop());
    sync_wait(h.ex, join_scope(s));
    EXPECT_EQ(cancelled, 5);
    EXPECT_EQ(h.hooks.now, before) << "the tasks ended at the request, not at their deadline";
    // A task spawned after the stop sees a cancelled token at once.
    s.spawn(wait_for_stop(h.ex, cancelled));
    sync_wait(h.ex, join_scope(s));
    EXPECT_EQ(cancelled, 6);
}

TEST(scope, a_parent_token_stops_the_scope) {
    test::harness h;
    cancellation_source parent;
    async_scope s(h.ex, parent.token());
    int cancelled = 0;
    s.spawn(wait_for_stop(h.ex, cancelled));
    h.ex.run_once();
    parent.request_cancellation();
    sync_wait(h.ex, join_scope(s));
    EXPECT_EQ(cancelled, 1);
    EXPECT_TRUE(s.stop_requested());
}

TEST(scope, failures_are_counted_and_reported) {
    test::harness h;
    h.ex.set_error_handler(&quiet, nullptr);
    async_scope s(h.ex);
    s.spawn(fails(h.ex));
    int done = 0;
    s.spawn(sleep_then_count(h.ex, 10, done));
    sync_wait(h.ex, join_scope(s));
    EXPECT_EQ(s.stats().failed, 1u);
    EXPECT_EQ(h.ex.stats().failures, 1u);
    EXPECT_EQ(done, 1) << "a failure in a scope does not stop the others";
}

TEST(scope, destroying_a_scope_destroys_its_suspended_tasks) {
    counted::reset();
    test::harness h;
    {
        async_scope s(h.ex);
        for (int i = 0; i < 3; ++i)
            s.spawn([](executor& ex, counted) -> task<void> {
                counted local;
                (void)co_await ex.sleep_for(1'000'000);
            }(h.ex, counted{}));
        h.ex.run_once();
        EXPECT_GT(counted::alive(), 0);
        EXPECT_EQ(h.ex.spawned(), 3u);
    }
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(h.ex.spawned(), 0u);
    EXPECT_EQ(h.ex.timers_armed(), 0u);
}

TEST(scope, a_task_finishing_on_another_executor_wakes_the_join) {
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();
    std::atomic<executor*> other{nullptr};
    std::atomic<bool> stop{false};
    std::thread t([&] {
        ring::wire::doorbell bell{};
        executor ex(bell, hooks);
        other.store(&ex, std::memory_order_release);
        ex.run_until([&] { return stop.load(std::memory_order_acquire); });
    });
    executor* o = nullptr;
    while ((o = other.load(std::memory_order_acquire)) == nullptr)
        std::this_thread::yield();
    // The other thread rings this doorbell after it posts to `home`, maybe
    // after `home` is gone (executor::post): it outlives that thread.
    ring::wire::doorbell bell{};
    {
        executor home(bell, hooks);
        async_scope s(home);
        std::atomic<int> finished_elsewhere{0};
        for (int i = 0; i < 50; ++i)
            s.spawn([](executor& to, std::atomic<int>& n) -> task<void> {
                co_await to.schedule();
                n.fetch_add(to.is_owner_thread() ? 1 : 0);
            }(*o, finished_elsewhere));
        sync_wait(home, join_scope(s));
        EXPECT_EQ(finished_elsewhere.load(), 50);
        EXPECT_EQ(s.active(), 0u);
    }
    stop.store(true, std::memory_order_release);
    o->request_stop();
    t.join();
}
