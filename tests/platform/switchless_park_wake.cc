// SPDX-License-Identifier: Apache-2.0
// Description: an idle worker spins, then parks; a call submitted while it
// parks wakes it (no lost wake-up), and destroying the pool wakes and joins
// parked workers; the parks and wake-ups are counted.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "airlock/platform/futex_wait.hh"
#include "airlock/platform/switchless.hh"
#include "support/region_fixture.hh"

using namespace airlock;
using namespace airlock::platform;
using airlock::test::watchdog;

namespace {

// Futex hooks that count the parks and the threads that parked, so a test
// can wait until a worker is parked (or about to park) before it calls.
class counting_hooks final : public ring::wait_hooks {
  public:
    void yield() noexcept override { futex_.yield(); }
    void park(ring::shared_u64& word, std::uint64_t expected,
              std::uint64_t timeout_ns) noexcept override {
        {
            const std::lock_guard lock(mutex_);
            parkers_.insert(std::this_thread::get_id());
        }
        parks_.fetch_add(1, std::memory_order_relaxed);
        futex_.park(word, expected, timeout_ns);
    }
    void unpark(ring::shared_u64& word) noexcept override {
        unparks_.fetch_add(1, std::memory_order_relaxed);
        futex_.unpark(word);
    }
    [[nodiscard]] std::uint64_t now_ns() noexcept override { return futex_.now_ns(); }

    [[nodiscard]] std::uint64_t parks() const { return parks_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t unparks() const { return unparks_.load(std::memory_order_relaxed); }
    // Waits (yielding) until more than `seen` parks happened.
    void wait_for_park_after(std::uint64_t seen) const {
        while (parks() <= seen)
            std::this_thread::yield();
    }
    // Waits (yielding) until `n` distinct threads have parked at least once.
    void wait_for_parkers(std::size_t n) {
        for (;;) {
            {
                const std::lock_guard lock(mutex_);
                if (parkers_.size() >= n) return;
            }
            std::this_thread::yield();
        }
    }

  private:
    futex_wait_hooks futex_;
    std::mutex mutex_;
    std::set<std::thread::id> parkers_;
    std::atomic<std::uint64_t> parks_{0};
    std::atomic<std::uint64_t> unparks_{0};
};

}  // namespace

TEST(switchless_park_wake, a_call_wakes_a_parked_worker) {
    watchdog dog(std::chrono::seconds(120), "switchless_park_wake.call_wakes (lost wake-up?)");
    counting_hooks hooks;
    const tsc_clock clock(1.0);
    modelled_transition regular(0, clock);
    switchless_options o;
    o.fallback = &regular;
    o.hooks = &hooks;
    o.retries_before_sleep = 0;              // park as soon as idle
    o.retries_before_fallback = UINT32_MAX;  // so every call must be served
    switchless_pool pool(1, 4, o);

    constexpr std::uint64_t rounds = 50;
    for (std::uint64_t i = 0; i < rounds; ++i) {
        hooks.wait_for_park_after(i);
        EXPECT_EQ(pool.call([i] { return i * 3; }), i * 3) << "round " << i;
    }
    EXPECT_EQ(pool.stats().served, rounds);
    EXPECT_EQ(regular.calls(), 0u);
    // Each call came after a park of the worker, whose announcement on the
    // doorbell only a call clears, so each call rang and woke it. The futex
    // may return spuriously, and then the worker parks again: each such
    // extra park may let one later call find the worker awake.
    const std::uint64_t parks = hooks.parks();
    const std::uint64_t unparks = hooks.unparks();
    ASSERT_GE(parks, rounds);
    EXPECT_LE(unparks, rounds) << "only the calls ring while the pool lives";
    EXPECT_GE(unparks + (parks - rounds), rounds)
        << parks << " parks, " << unparks << " wake-ups: a call did not wake the parked worker";
}

TEST(switchless_park_wake, destruction_wakes_and_joins_parked_workers) {
    watchdog dog(std::chrono::seconds(120), "switchless_park_wake.destruction");
    counting_hooks hooks;
    {
        switchless_options o;
        o.hooks = &hooks;
        o.retries_before_sleep = 16;
        const tsc_clock clock(1.0);
        modelled_transition regular(0, clock);
        o.fallback = &regular;
        switchless_pool pool(3, 8, o);
        hooks.wait_for_parkers(3);  // every worker asleep or about to be
        EXPECT_EQ(hooks.unparks(), 0u) << "no call was made";
    }
    // The destructor rang the doorbell once, and that one wake-up reached
    // all three parked workers: it returned, so it joined them.
    EXPECT_GE(hooks.parks(), 3u);
    EXPECT_EQ(hooks.unparks(), 1u);
}

TEST(switchless_park_wake, worker_start_callback_runs_on_each_worker) {
    watchdog dog(std::chrono::seconds(120), "switchless_park_wake.start_callback");
    std::atomic<unsigned> started_mask{0};
    {
        switchless_options o;
        const tsc_clock clock(1.0);
        modelled_transition regular(0, clock);
        o.fallback = &regular;
        o.on_worker_start = [&](std::size_t w) {
            started_mask.fetch_or(1u << w, std::memory_order_relaxed);
        };
        switchless_pool pool(3, 4, o);
        while (started_mask.load(std::memory_order_relaxed) != 0b111)
            std::this_thread::yield();
    }
    EXPECT_EQ(started_mask.load(), 0b111u);
}
