// SPDX-License-Identifier: Apache-2.0
// Description: destroying a suspended coroutine whose resumption is already
// queued (its timer fired in the same round) takes the resumption back: the
// dead frame is never resumed, nor a new coroutine that reuses its frame;
// and an executor destroyed while one of its spawned tasks hops to another
// executor leaves that task to the other, which runs it to the end.
#include <atomic>
#include <optional>
#include <thread>

#include "airlock/async/executor.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/platform/futex_wait.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

constexpr std::uint64_t deadline = 2'000'000;

// Sleeps until `until`, then says so. noinline: every instance has the same
// frame, so a new one reuses the block of a destroyed one.
[[gnu::noinline]] task<void> sleeper(executor& ex, std::uint64_t until, bool& resumed) {
    (void)co_await ex.sleep_until(until);
    resumed = true;
}

// Awaits the task in `slot` (which the test owns), so that it runs.
task<void> holder(std::optional<task<void>>& slot) {
    co_await *slot;
}

// Wakes at the same deadline as the victim, armed first, so it runs first
// in the round where both timers fire: destroys the victim, then starts a
// newcomer whose frame reuses the victim's block.
task<void> killer(executor& ex, std::optional<task<void>>& victim,
                  std::optional<task<void>>& newcomer, bool& newcomer_resumed) {
    (void)co_await ex.sleep_until(deadline);
    victim.reset();
    newcomer.emplace(sleeper(ex, deadline + 1'000'000, newcomer_resumed));
    ex.spawn(holder(newcomer));
}

}  // namespace

TEST(stale_resumption, a_frame_destroyed_with_its_resumption_queued_is_never_resumed) {
    test::harness h;
    bool victim_resumed = false;
    bool newcomer_resumed = false;
    std::optional<task<void>> victim;
    std::optional<task<void>> newcomer;
    h.ex.spawn(killer(h.ex, victim, newcomer, newcomer_resumed));
    victim.emplace(sleeper(h.ex, deadline, victim_resumed));
    h.ex.spawn(holder(victim));
    h.ex.run_once();  // both start: the killer's timer is armed first
    ASSERT_EQ(h.ex.timers_armed(), 2u);

    h.hooks.now = deadline;
    h.ex.run_once();  // both timers fire; the killer runs first
    // Give anything stale every chance to run.
    for (int i = 0; i < 4; ++i)
        h.ex.run_once();
    EXPECT_FALSE(victim_resumed) << "a destroyed coroutine was resumed";
    EXPECT_FALSE(newcomer_resumed) << "a stale resumption woke the coroutine that took its frame";
    EXPECT_EQ(h.ex.timers_armed(), 1u) << "the newcomer still waits for its own deadline";

    h.hooks.now = deadline + 1'000'000;
    h.ex.run_once();
    h.ex.run_once();
    EXPECT_TRUE(newcomer_resumed) << "the newcomer wakes at its own deadline";
    EXPECT_FALSE(victim_resumed);
}

TEST(stale_resumption, an_executor_destroyed_while_its_task_hops_away_leaves_it_to_the_target) {
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();
    std::atomic<executor*> target{nullptr};
    std::atomic<bool> go{false};
    std::atomic<bool> finished_on_target{false};
    std::thread target_thread([&] {
        ring::wire::doorbell bell{};
        executor ex(bell, hooks);
        target.store(&ex, std::memory_order_release);
        while (!go.load(std::memory_order_acquire))
            std::this_thread::yield();
        ex.run_until([&] { return finished_on_target.load(std::memory_order_acquire); });
        EXPECT_EQ(ex.spawned(), 0u) << "the task finished and was retired on the target";
    });
    executor* t = nullptr;
    while ((t = target.load(std::memory_order_acquire)) == nullptr)
        std::this_thread::yield();

    {
        ring::wire::doorbell bell{};
        executor home(bell, hooks);
        home.spawn([](executor& to, std::atomic<bool>& done) -> task<void> {
            co_await to.schedule();  // queued in the target's inbox, which is not running
            done.store(to.is_owner_thread(), std::memory_order_release);
        }(*t, finished_on_target));
        home.run_once();  // the task starts and hops
        EXPECT_EQ(home.spawned(), 0u) << "the hop carried the task to the target";
    }  // home dies with the hop still queued on the target

    go.store(true, std::memory_order_release);
    target_thread.join();
    EXPECT_TRUE(finished_on_target.load()) << "the task ran to its end on the target";
}
