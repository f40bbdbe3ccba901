// SPDX-License-Identifier: Apache-2.0
// Description: a call with no free slot, or that no worker accepts within
// the retry budget, does not run switchless: it falls back to the regular
// transition on the caller's thread, exactly once, and is counted.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "airlock/platform/switchless.hh"
#include "support/region_fixture.hh"

using namespace airlock::platform;
using airlock::test::watchdog;

namespace {

// Occupies the pool's only worker with a call that waits for `release`,
// from its own caller thread, until `finish()`. The call is retried until a
// worker serves it (a revoked attempt never runs), so once constructed the
// worker is certainly busy.
class busy_worker {
  public:
    explicit busy_worker(switchless_pool& pool)
        : thread_([this, &pool] {
              auto task = [](void* self) noexcept {
                  auto& b = *static_cast<busy_worker*>(self);
                  b.started_.store(true, std::memory_order_release);
                  while (!b.release_.load(std::memory_order_acquire))
                      airlock::ring::cpu_relax();
                  b.result_ = 77;
              };
              while (pool.run_switchless(task, this) != switchless_outcome::served) {
              }
          }) {
        while (!started_.load(std::memory_order_acquire))
            std::this_thread::yield();
    }
    int finish() {
        release_.store(true, std::memory_order_release);
        thread_.join();
        return result_;
    }

  private:
    std::atomic<bool> started_{false};
    std::atomic<bool> release_{false};
    int result_ = 0;
    std::thread thread_;
};

}  // namespace

TEST(switchless_fallback, no_free_slot_falls_back_at_once) {
    watchdog dog(std::chrono::seconds(120), "switchless_fallback.no_free_slot");
    const tsc_clock clock(1.0);
    modelled_transition regular(0, clock);
    switchless_options o;
    o.fallback = &regular;
    o.retries_before_fallback = UINT32_MAX;  // the busy call is never revoked
    switchless_pool pool(1, 1, o);
    busy_worker busy(pool);  // holds the only slot

    bool ran = false;
    auto task = [](void* flag) noexcept { *static_cast<bool*>(flag) = true; };
    EXPECT_EQ(pool.run_switchless(task, &ran), switchless_outcome::no_free_slot);
    EXPECT_FALSE(ran) << "a refused task must not run";

    const std::thread::id caller = std::this_thread::get_id();
    std::thread::id ran_on;
    EXPECT_EQ(pool.call([&] {
        ran_on = std::this_thread::get_id();
        return 5;
    }),
              5);
    EXPECT_EQ(ran_on, caller) << "the fallback runs on the caller's thread";
    EXPECT_EQ(regular.calls(), 1u);

    EXPECT_EQ(busy.finish(), 77);
    const switchless_stats st = pool.stats();
    EXPECT_EQ(st.fallback_no_slot, 2u);
    EXPECT_EQ(st.served, 1u);
    EXPECT_EQ(st.calls(), st.served + st.fallbacks());
}

TEST(switchless_fallback, an_unaccepted_call_is_revoked_and_falls_back) {
    watchdog dog(std::chrono::seconds(120), "switchless_fallback.not_accepted");
    const tsc_clock clock(1.0);
    modelled_transition regular(0, clock);
    switchless_options o;
    o.fallback = &regular;
    o.retries_before_fallback = 1000;
    switchless_pool pool(1, 2, o);
    busy_worker busy(pool);  // the only worker is inside a call: nobody accepts

    int runs = 0;
    auto task = [](void* count) noexcept { ++*static_cast<int*>(count); };
    EXPECT_EQ(pool.run_switchless(task, &runs), switchless_outcome::not_accepted);
    EXPECT_EQ(runs, 0) << "a revoked task must not run";

    const std::thread::id caller = std::this_thread::get_id();
    std::thread::id ran_on;
    EXPECT_EQ(pool.call([&] {
        ran_on = std::this_thread::get_id();
        return ++runs;
    }),
              1);
    EXPECT_EQ(ran_on, caller);
    EXPECT_EQ(regular.calls(), 1u);

    EXPECT_EQ(busy.finish(), 77);
    // The revoked slots are free again: never `no_free_slot`, and served once
    // the idle worker accepts (it may miss the budget while descheduled).
    const switchless_stats before = pool.stats();
    switchless_outcome outcome;
    do
        outcome = pool.run_switchless(task, &runs);
    while (outcome == switchless_outcome::not_accepted);
    EXPECT_EQ(outcome, switchless_outcome::served);
    EXPECT_EQ(runs, 2) << "each revoked task never ran, the served one once";
    const switchless_stats st = pool.stats();
    EXPECT_GE(before.fallback_not_accepted, 2u);
    EXPECT_EQ(st.fallback_no_slot, 0u);
    EXPECT_EQ(st.served, before.served + 1);
}
