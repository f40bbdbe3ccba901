// SPDX-License-Identifier: Apache-2.0
// Description: at steady state, calling and awaiting tasks (when_all,
// timers, yields, cancellation, deadlines, spawn) makes no global allocation:
// a counting global operator new sees zero calls.
#include <atomic>
#include <cstdlib>
#include <new>

#include "airlock/async/deadline.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "async/async_support.hh"

namespace {

std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void* counted_alloc(std::size_t n, std::size_t align) {
    if (counting.load(std::memory_order_relaxed))
        allocations.fetch_add(1, std::memory_order_relaxed);
    void* p = align <= alignof(std::max_align_t)
                  ? std::malloc(n == 0 ? 1 : n)
                  : std::aligned_alloc(align, (n + align - 1) / align * align);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}

}  // namespace

// The replaceable global allocation functions, counting while armed.
void* operator new(std::size_t n) {
    return counted_alloc(n, 0);
}
void* operator new[](std::size_t n) {
    return counted_alloc(n, 0);
}
void* operator new(std::size_t n, std::align_val_t a) {
    return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a) {
    return counted_alloc(n, static_cast<std::size_t>(a));
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n, 0);
    } catch (...) {
        return nullptr;
    }
}
// These deletes free what the replaced operator new got from malloc; gcc at
// -O1 inlines a test's new and delete and then mistakes the pair for a
// mismatch (-Wmismatched-new-delete), so the warning is off for them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}

using namespace airlock;
using namespace airlock::async;

namespace {

task<int> leaf(int v) {
    co_return v + 1;
}

task<expected<int>> cancellable(executor& ex, std::uint64_t delay, cancellation_token t) {
    const expected<void> r = co_await ex.sleep_for(delay, t);
    if (!r) co_return unexpected(r.error());
    co_return 1;
}

task<int> middle(executor& ex, int v) {
    const int a = co_await leaf(v);
    auto [b, c] = co_await when_all(leaf(a), leaf(a + 1));
    (void)co_await ex.sleep_for(10);
    co_await ex.schedule();
    // One deadline that expires, one that does not.
    const expected<int> late = co_await with_timeout(ex, 5, cancellable(ex, 1'000, {}));
    const expected<int> early = co_await with_timeout(ex, 1'000, cancellable(ex, 5, {}));
    co_return b + c + (late ? 100 : 0) + (early ? *early : 0);
}

task<void> background(executor& ex, int& runs) {
    (void)co_await ex.sleep_for(3);
    ++runs;
}

task<long> workload(executor& ex, int n, int& runs) {
    long sum = 0;
    for (int i = 0; i < n; ++i) {
        ex.spawn(background(ex, runs));
        sum += co_await middle(ex, i);
    }
    co_return sum;
}

}  // namespace

TEST(zero_allocation, steady_state_calls_allocate_nothing) {
    test::harness h;
    int runs = 0;
    // Warm-up: fills the frame pool's size classes and sizes the ready queue
    // and the timer heap.
    const long expected_sum = sync_wait(h.ex, workload(h.ex, 200, runs));
    h.ex.run_until([&] { return h.ex.spawned() == 0; });
    const std::uint64_t chunks = h.ex.frame_stats().chunk_allocations;
    const std::uint64_t fallbacks = frame_pool::global_fallbacks();

    allocations.store(0);
    counting.store(true);
    const long sum = sync_wait(h.ex, workload(h.ex, 200, runs));
    h.ex.run_until([&] { return h.ex.spawned() == 0; });
    counting.store(false);

    EXPECT_EQ(allocations.load(), 0) << "global operator new calls at steady state";
    EXPECT_EQ(sum, expected_sum);
    EXPECT_EQ(runs, 400);
    EXPECT_EQ(h.ex.frame_stats().chunk_allocations, chunks);
    EXPECT_EQ(frame_pool::global_fallbacks(), fallbacks);
    EXPECT_EQ(h.ex.frame_stats().live_frames, 0u);
    // Frames did go through the pool (clang elides some, gcc none).
    EXPECT_GT(h.ex.frame_stats().allocations, 1000u);
}

TEST(zero_allocation, the_counter_does_count) {
    // Guards the test above against a replacement that is not in effect.
    allocations.store(0);
    counting.store(true);
    void* p = ::operator new(16);  // a call, not a new-expression: never elided
    counting.store(false);
    ::operator delete(p);
    EXPECT_EQ(allocations.load(), 1);
}
