// SPDX-License-Identifier: Apache-2.0
// Description: tasks of an async_scope that hop to another executor and
// finish there: the last of them leaves its count to the wake-up it posts
// (active() reads 1 until the scope's own thread runs it), so a join that
// completes, and the scope destroyed right after it, never race with the
// thread that finished the task; a scope destroyed with that wake-up still
// queued takes it back (run under TSan and ASan).
#include <atomic>
#include <memory>
#include <thread>

#include "airlock/async/scope.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/platform/futex_wait.hh"
#include "async/async_support.hh"
#include "support/region_fixture.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

// An executor running on a thread of its own until stopped.
class other_thread {
  public:
    other_thread() {
        thread_ = std::thread([this] {
            ring::wire::doorbell bell{};
            executor ex(bell, platform::futex_wait_hooks::instance());
            // release: the executor, to the test thread.
            ex_.store(&ex, std::memory_order_release);
            ex.run();
        });
        while (ex_.load(std::memory_order_acquire) == nullptr)
            std::this_thread::yield();
    }
    ~other_thread() { stop(); }
    other_thread(const other_thread&) = delete;
    other_thread& operator=(const other_thread&) = delete;

    [[nodiscard]] executor& ex() const { return *ex_.load(std::memory_order_acquire); }
    // Stops the executor and joins the thread: whatever it did is done.
    void stop() {
        if (!thread_.joinable()) return;
        ex().request_stop();
        thread_.join();
    }

  private:
    std::atomic<executor*> ex_{nullptr};
    std::thread thread_;
};

task<void> hop_and_finish(executor& to) {
    co_await to.schedule();  // from here on the task belongs to `to`
}

task<void> join_scope(async_scope& s) {
    co_await s.join();
}

}  // namespace

TEST(scope_remote_finish, the_last_task_counts_until_the_owner_runs_its_wake) {
    test::watchdog dog(std::chrono::seconds(60), "scope_remote_finish");
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();
    ring::wire::doorbell bell{};  // rung by the other thread's post: outlives it
    other_thread other;
    executor home(bell, hooks);
    async_scope s(home);
    s.spawn(hop_and_finish(other.ex()));
    home.run_once();  // the task starts and hops away
    // stats() counts the task finished before its count is settled; once
    // the other thread is stopped, all it did is done.
    while (s.stats().finished == 0)
        std::this_thread::yield();
    other.stop();
    EXPECT_EQ(s.active(), 1u) << "the count reached zero on the thread that finished the task";
    sync_wait(home, join_scope(s));  // runs the wake-up
    EXPECT_EQ(s.active(), 0u);
    EXPECT_EQ(s.stats().finished, 1u);
}

TEST(scope_remote_finish, a_scope_destroyed_with_the_wake_queued_takes_it_back) {
    test::watchdog dog(std::chrono::seconds(60), "scope_remote_finish");
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();
    ring::wire::doorbell bell{};
    other_thread other;
    executor home(bell, hooks);
    {
        auto s = std::make_unique<async_scope>(home);
        s->spawn(hop_and_finish(other.ex()));
        home.run_once();
        while (s->stats().finished == 0)
            std::this_thread::yield();
        other.stop();
    }  // destroyed unjoined, the wake-up still in home's inbox
    EXPECT_EQ(home.run_once(), 0u) << "the withdrawn wake-up ran";
}

TEST(scope_remote_finish, joining_then_destroying_never_races_the_finishing_thread) {
    test::watchdog dog(std::chrono::seconds(120), "scope_remote_finish");
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();
    ring::wire::doorbell bell{};
    other_thread other;
    executor home(bell, hooks);
    const int rounds = static_cast<int>(std::max(20.0, 300 * test::stress_scale()));
    for (int i = 0; i < rounds; ++i) {
        const int tasks = 1 + i % 4;
        auto s = std::make_unique<async_scope>(home);
        for (int t = 0; t < tasks; ++t)
            s->spawn(hop_and_finish(other.ex()));
        home.run_once();  // they start and hop away
        // Join as the last task finishes, then destroy the scope at once:
        // the finishing thread must be done with it by then.
        while (s->stats().finished < static_cast<std::uint64_t>(tasks - 1))
            std::this_thread::yield();
        sync_wait(home, join_scope(*s));
        EXPECT_EQ(s->active(), 0u);
        s.reset();
    }
}
