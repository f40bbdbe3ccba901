// SPDX-License-Identifier: Apache-2.0
// Description: sleeps resume in deadline order on a manual clock (ties in
// arming order), never before their deadline; an idle executor parks exactly
// until the next timer is due.
#include <cstdint>
#include <vector>

#include "airlock/async/executor.hh"
#include "airlock/async/sync_wait.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

struct wake {
    int id;
    std::uint64_t at;
};

task<void> sleeper(executor& ex, std::uint64_t delay, int id, std::vector<wake>& log) {
    const std::uint64_t deadline = ex.now_ns() + delay;
    const expected<void> r = co_await ex.sleep_for(delay);
    EXPECT_TRUE(r.has_value());
    EXPECT_GE(ex.now_ns(), deadline) << "sleeper " << id << " woke early";
    log.push_back({id, ex.now_ns()});
}

}  // namespace

TEST(timers, sleeps_resume_in_deadline_order) {
    test::harness h;
    std::vector<wake> log;
    const std::uint64_t delays[] = {500, 100, 400, 100, 300, 0, 200, 100};
    for (int i = 0; i < 8; ++i)
        h.ex.spawn(sleeper(h.ex, delays[i], i, log));
    h.ex.run_until([&] { return h.ex.spawned() == 0; });

    // Ties (100 ns: ids 1, 3, 7) keep the order they were armed in.
    const std::vector<int> expected_order = {5, 1, 3, 7, 6, 4, 2, 0};
    ASSERT_EQ(log.size(), expected_order.size());
    for (std::size_t i = 0; i < log.size(); ++i) {
        EXPECT_EQ(log[i].id, expected_order[i]) << "position " << i;
        if (i > 0) {
            EXPECT_GE(log[i].at, log[i - 1].at);
        }
    }
    EXPECT_EQ(h.ex.timers_armed(), 0u);
}

TEST(timers, a_past_deadline_resumes_in_the_next_round) {
    test::harness h;
    auto body = [](executor& ex) -> task<bool> {
        const expected<void> r = co_await ex.sleep_until(ex.now_ns() - 1);
        co_return r.has_value();
    };
    EXPECT_TRUE(sync_wait(h.ex, body(h.ex)));
    EXPECT_EQ(h.hooks.parks, 0u) << "a due timer never makes the executor park";
}

TEST(timers, the_idle_executor_parks_until_the_next_deadline) {
    test::harness h;
    const std::uint64_t start = h.hooks.now;
    auto body = [](executor& ex) -> task<void> {
        (void)co_await ex.sleep_for(1'000);
        (void)co_await ex.sleep_for(2'000);
    };
    sync_wait(h.ex, body(h.ex));
    // The manual clock moves only when the executor parks, and it parked
    // for exactly the time to each deadline: never past one.
    EXPECT_EQ(h.hooks.now - start, 3'000u);
    EXPECT_EQ(h.hooks.parks, 2u);
}

TEST(timers, many_timers_armed_and_fired_in_order) {
    test::harness h;
    std::vector<wake> log;
    // A pseudo-random permutation of delays, several timers per deadline.
    for (int i = 0; i < 1000; ++i) {
        const auto delay = static_cast<std::uint64_t>((i * 7919) % 257) * 10;
        h.ex.spawn(sleeper(h.ex, delay, i, log));
    }
    h.ex.run_until([&] { return h.ex.spawned() == 0; });
    ASSERT_EQ(log.size(), 1000u);
    for (std::size_t i = 1; i < log.size(); ++i) {
        EXPECT_LE(log[i - 1].at, log[i].at);
        const auto d0 = static_cast<std::uint64_t>((log[i - 1].id * 7919) % 257);
        const auto d1 = static_cast<std::uint64_t>((log[i].id * 7919) % 257);
        EXPECT_LE(d0, d1) << "at " << i;
        if (d0 == d1) {
            EXPECT_LT(log[i - 1].id, log[i].id) << "tie order at " << i;
        }
    }
}
