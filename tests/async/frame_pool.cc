// SPDX-License-Identifier: Apache-2.0
// Description: frames come from the current executor's pool by size class
// and are reused; without an executor, or above the largest class, they come
// from global new and are counted; a frame freed on another thread returns
// to its own pool; a pool retired with blocks still out is freed by the last
// of them, on any thread.
#include <array>
#include <optional>
#include <thread>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/frame_pool.hh"
#include "airlock/async/sync_wait.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

// The coroutines whose frames are counted are noinline: clang may otherwise
// inline the ramp and elide the frame allocation (HALO), which is fine in
// production but hides the pool from the counts.
[[gnu::noinline]] task<int> small() {
    co_return 1;
}

[[gnu::noinline]] int checksum(const std::array<char, 8192>& bytes) {
    int sum = 0;
    for (const char c : bytes)
        sum += c;
    return sum;
}

// Keeps 8 KiB alive across a suspension (its address escapes after it), so
// the frame holds it.
[[gnu::noinline]] task<int> large(executor& ex) {
    std::array<char, 8192> buffer{};
    buffer[100] = 5;
    co_await ex.schedule();
    co_return checksum(buffer);
}

}  // namespace

TEST(frame_pool, size_classes) {
    using async::detail::frame_size_class;
    EXPECT_EQ(frame_size_class(1), 0u);
    EXPECT_EQ(frame_size_class(64), 0u);
    EXPECT_EQ(frame_size_class(65), 1u);
    EXPECT_EQ(frame_size_class(128), 1u);
    EXPECT_EQ(frame_size_class(129), 2u);
    EXPECT_EQ(frame_size_class(4096), 6u);
}

TEST(frame_pool, frames_are_reused_from_the_pool) {
    test::harness h;
    (void)sync_wait(h.ex, small());
    const frame_pool_stats before = h.ex.frame_stats();
    for (int i = 0; i < 1000; ++i)
        (void)sync_wait(h.ex, small());
    const frame_pool_stats after = h.ex.frame_stats();
    EXPECT_EQ(after.chunk_allocations, before.chunk_allocations);
    // The tasks' frames, and the sync_wait drivers' unless the compiler
    // elided those into sync_wait's stack (clang does).
    EXPECT_GE(after.allocations - before.allocations, 1000u);
    EXPECT_LE(after.allocations - before.allocations, 2000u);
    EXPECT_EQ(after.live_frames, 0u);
}

TEST(frame_pool, oversize_frames_fall_back_to_global_new_and_are_counted) {
    test::harness h;
    const std::uint64_t global = frame_pool::global_fallbacks();
    EXPECT_EQ(sync_wait(h.ex, large(h.ex)), 5);
    EXPECT_EQ(h.ex.frame_stats().oversize_allocations, 1u);
    EXPECT_EQ(frame_pool::global_fallbacks(), global + 1);
}

TEST(frame_pool, without_an_executor_frames_come_from_global_new) {
    ASSERT_EQ(executor::current(), nullptr);
    const std::uint64_t global = frame_pool::global_fallbacks();
    task<int> t = small();
    EXPECT_EQ(frame_pool::global_fallbacks(), global + 1);
    test::harness h;
    EXPECT_EQ(sync_wait(h.ex, std::move(t)), 1);  // runs fine, freed with global delete
}

TEST(frame_pool, a_frame_freed_on_another_thread_returns_to_its_pool) {
    test::harness h;
    task<int> t = small();
    EXPECT_EQ(h.ex.frame_stats().live_frames, 1u);
    std::thread([moved = std::move(t)]() mutable { moved = task<int>{}; }).join();
    const frame_pool_stats s = h.ex.frame_stats();  // reclaims
    EXPECT_EQ(s.remote_frees, 1u);
    EXPECT_EQ(s.live_frames, 0u);
}

TEST(frame_pool, a_pool_outlived_by_a_frame_is_freed_with_that_frame) {
    const std::uint64_t orphans = frame_pool::orphaned_pools();
    const std::uint64_t alive = frame_pool::orphaned_pools_alive();
    task<int> survivor;
    {
        test::harness h;
        survivor = small();
    }
    EXPECT_EQ(frame_pool::orphaned_pools(), orphans + 1);
    EXPECT_EQ(frame_pool::orphaned_pools_alive(), alive + 1);
    survivor = task<int>{};  // safe: the last block out frees the pool
    EXPECT_EQ(frame_pool::orphaned_pools_alive(), alive);
}

TEST(frame_pool, a_cancellation_source_outliving_its_executor_frees_the_pool) {
    // The source's shared state comes from the executor's pool; an object
    // that holds a source and outlives the executor is common.
    const std::uint64_t alive = frame_pool::orphaned_pools_alive();
    std::optional<cancellation_source> source;
    {
        test::harness h;
        source.emplace();
    }
    EXPECT_EQ(frame_pool::orphaned_pools_alive(), alive + 1);
    source.reset();
    EXPECT_EQ(frame_pool::orphaned_pools_alive(), alive);
}

TEST(frame_pool, a_retired_pool_is_freed_by_frees_on_other_threads) {
    const std::uint64_t alive = frame_pool::orphaned_pools_alive();
    std::vector<task<int>> survivors;
    {
        test::harness h;
        for (int i = 0; i < 64; ++i)
            survivors.push_back(small());
    }
    EXPECT_EQ(frame_pool::orphaned_pools_alive(), alive + 1);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&survivors, t] {
            for (std::size_t i = static_cast<std::size_t>(t); i < survivors.size(); i += 4)
                survivors[i] = task<int>{};
        });
    for (std::thread& th : threads)
        th.join();
    EXPECT_EQ(frame_pool::orphaned_pools_alive(), alive);
}
