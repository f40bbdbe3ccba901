// SPDX-License-Identifier: Apache-2.0
// Description: each round polls every source once with the poll budget, so
// two always-busy sources share the executor evenly; busy sources do not
// starve ready coroutines, and a coroutine that keeps yielding does not
// starve the sources (the ready budget bounds a round).
#include <cstddef>
#include <vector>

#include "airlock/async/executor.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

// A source with endless work: every poll uses its whole budget.
class busy_source final : public source {
  public:
    std::size_t poll(std::size_t budget) noexcept override {
        ++polls;
        budgets.push_back(budget);
        work += budget;
        return budget;
    }
    bool has_work() noexcept override { return true; }
    std::size_t polls = 0;
    std::size_t work = 0;
    std::vector<std::size_t> budgets;
};

// A source with a finite backlog.
class backlog_source final : public source {
  public:
    explicit backlog_source(std::size_t n) : left(n) {}
    std::size_t poll(std::size_t budget) noexcept override {
        const std::size_t n = left < budget ? left : budget;
        left -= n;
        return n;
    }
    bool has_work() noexcept override { return left > 0; }
    std::size_t left;
};

task<void> yielder(executor& ex, int n, int& done) {
    for (int i = 0; i < n; ++i) {
        co_await ex.schedule();
        ++done;
    }
}

}  // namespace

TEST(budget_fairness, two_busy_sources_get_equal_shares) {
    executor_options o = test::quiet_options();
    o.poll_budget = 16;
    test::harness h(o);
    busy_source a, b;
    h.ex.add_source(a);
    h.ex.add_source(b);
    for (int round = 0; round < 100; ++round)
        (void)h.ex.run_once();
    EXPECT_EQ(a.polls, 100u);
    EXPECT_EQ(b.polls, 100u);
    EXPECT_EQ(a.work, b.work);
    for (std::size_t budget : a.budgets)
        ASSERT_EQ(budget, 16u);
    EXPECT_EQ(h.ex.stats().source_work, 3200u);
}

TEST(budget_fairness, busy_sources_do_not_starve_ready_coroutines) {
    test::harness h;
    busy_source a, b;
    h.ex.add_source(a);
    h.ex.add_source(b);
    int done = 0;
    h.ex.spawn(yielder(h.ex, 50, done));
    // One round starts it; then each round resumes it once.
    for (int round = 0; round < 51; ++round)
        (void)h.ex.run_once();
    EXPECT_EQ(done, 50);
    EXPECT_EQ(h.ex.spawned(), 0u);
}

TEST(budget_fairness, yielding_coroutines_do_not_starve_sources) {
    executor_options o = test::quiet_options();
    o.ready_budget = 4;
    o.poll_budget = 10;
    test::harness h(o);
    backlog_source s(100);
    h.ex.add_source(s);
    int done = 0;
    for (int i = 0; i < 8; ++i)
        h.ex.spawn(yielder(h.ex, 1'000'000, done));
    for (int round = 0; round < 10; ++round)
        (void)h.ex.run_once();
    EXPECT_EQ(s.left, 0u) << "the source got its poll every round";
    EXPECT_LE(h.ex.stats().resumptions, 40u) << "at most ready_budget resumptions per round";
    EXPECT_GE(h.ex.stats().resumptions, 40u);
}

TEST(budget_fairness, a_source_removed_during_a_poll_is_skipped_after) {
    test::harness h;
    class self_removing final : public source {
      public:
        explicit self_removing(executor& ex) : ex_(ex) {}
        std::size_t poll(std::size_t) noexcept override {
            ++polls;
            ex_.remove_source(*this);
            return 1;
        }
        bool has_work() noexcept override { return false; }
        int polls = 0;

      private:
        executor& ex_;
    };
    self_removing r(h.ex);
    busy_source b;
    h.ex.add_source(r);
    h.ex.add_source(b);
    for (int round = 0; round < 5; ++round)
        (void)h.ex.run_once();
    EXPECT_EQ(r.polls, 1);
    EXPECT_EQ(b.polls, 5u);
}
