// SPDX-License-Identifier: Apache-2.0
// Description: several threads post work items and hop thousands of
// coroutines onto one parked executor and back; every item runs exactly once
// on the owner thread, frames freed on the wrong thread return to their pool,
// and nothing is lost (run under TSan).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "airlock/async/executor.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/platform/futex_wait.hh"
#include "async/async_support.hh"
#include "support/region_fixture.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

// Touched only on the target executor's thread: TSan proves the inbox
// hands every item over with a happens-before edge.
struct target_state {
    std::uint64_t items_run = 0;
    std::uint64_t hops_in = 0;
    std::uint64_t child_sum = 0;
};

struct counting_item : work_item {
    counting_item() noexcept : work_item(&on_run) {}
    target_state* state = nullptr;
    static void on_run(work_item& self) noexcept {
        ++static_cast<counting_item&>(self).state->items_run;
    }
};

// noinline: clang could otherwise elide the child's frame into the hopper's
// (HALO), and there would be no cross-thread free to test.
[[gnu::noinline]] task<std::uint64_t> child(std::uint64_t v) {
    co_return v;
}

// Allocated on its home executor; hops to the target, awaits a child task
// (allocated at home, destroyed on the target: a remote free), and half of
// the hoppers come home before finishing. A spawned hopper goes with its
// hops: one that finishes on the target is destroyed there (two more remote
// frees: its frame and the spawn wrapper's).
task<void> hopper(executor& home, executor& target, target_state& ts, std::uint64_t id,
                  std::uint64_t& came_home, std::atomic<std::uint64_t>& finished) {
    {
        task<std::uint64_t> c = child(id);
        co_await target.schedule();
        ++ts.hops_in;
        ts.child_sum += co_await c;
    }  // c's frame is freed here, on the target's thread
    if (id % 2 == 0) {
        co_await home.schedule();
        ++came_home;
    }
    finished.fetch_add(1, std::memory_order_release);
}

task<std::uint64_t> visit_and_answer(executor& target, target_state& ts) {
    co_await target.schedule();
    ++ts.hops_in;
    co_return 7;  // finishes on the target: sync_wait brings it home
}

struct stop_item : work_item {
    explicit stop_item(executor& ex) noexcept : work_item(&on_run), target(&ex) {}
    executor* target;
    static void on_run(work_item& self) noexcept {
        static_cast<stop_item&>(self).target->request_stop();
    }
};

}  // namespace

TEST(cross_thread_post, many_threads_post_items_and_hop_coroutines) {
    const int producers = 4;
    const auto scaled = [](double n, double floor) {
        return static_cast<std::uint64_t>(std::max(floor, n * test::stress_scale()));
    };
    const std::size_t items = scaled(20'000, 200);
    const std::uint64_t hoppers = scaled(2'000, 50);
    test::watchdog dog(std::chrono::seconds(120), "cross_thread_post");
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();

    target_state ts;
    std::atomic<executor*> target{nullptr};
    std::atomic<int> producers_done{0};
    std::atomic<bool> target_stopped{false};

    std::thread target_thread([&] {
        ring::wire::doorbell bell{};
        executor ex(bell, hooks);
        target.store(&ex, std::memory_order_release);
        ex.run();
        EXPECT_EQ(ex.run_once(), 0u) << "work arrived after the stop item";
    });
    executor* t = nullptr;
    while ((t = target.load(std::memory_order_acquire)) == nullptr)
        std::this_thread::yield();

    std::vector<std::uint64_t> came_home(producers, 0);
    std::vector<std::uint64_t> remote_frees(producers, 0);
    std::vector<std::uint64_t> answers(producers, 0);
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&, p] {
            std::vector<counting_item> posted(items);
            ring::wire::doorbell bell{};
            executor home(bell, hooks);
            // Plain work items, posted from this thread.
            for (counting_item& item : posted) {
                item.state = &ts;
                t->post(item);
            }
            // Coroutines that hop over and (half of them) back.
            std::atomic<std::uint64_t> finished{0};
            for (std::uint64_t i = 0; i < hoppers; ++i)
                home.spawn(hopper(home, *t, ts, i, came_home[p], finished));
            home.run_until([&] { return finished.load(std::memory_order_acquire) == hoppers; });
            home.run_until([&] { return home.spawned() == 0; });
            // A synchronous caller whose coroutine finishes on the target.
            answers[p] = sync_wait(home, visit_and_answer(*t, ts));
            producers_done.fetch_add(1, std::memory_order_acq_rel);
            // Keep `posted` and `home` alive until the target has stopped
            // (and so freed every frame it will free).
            while (!target_stopped.load(std::memory_order_acquire))
                std::this_thread::yield();
            remote_frees[p] = home.frame_stats().remote_frees;
            EXPECT_EQ(home.frame_stats().live_frames, 0u);
        });
    }
    while (producers_done.load(std::memory_order_acquire) < producers)
        std::this_thread::yield();
    // Every item was posted before its producer said done, so this stop item
    // is behind all of them in the inbox.
    stop_item stop(*t);
    t->post(stop);
    target_thread.join();
    target_stopped.store(true, std::memory_order_release);
    for (std::thread& th : threads)
        th.join();

    EXPECT_EQ(ts.items_run, static_cast<std::uint64_t>(producers) * items);
    EXPECT_EQ(ts.hops_in, static_cast<std::uint64_t>(producers) * (hoppers + 1));
    EXPECT_EQ(ts.child_sum, static_cast<std::uint64_t>(producers) * (hoppers * (hoppers - 1) / 2));
    for (int p = 0; p < producers; ++p) {
        EXPECT_EQ(came_home[p], (hoppers + 1) / 2) << "producer " << p;
        EXPECT_EQ(answers[p], 7u);
        EXPECT_EQ(remote_frees[p], hoppers + 2 * (hoppers / 2))
            << "each child frame, and each hopper that finished there, was freed on the target";
    }
}
