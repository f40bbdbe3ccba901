// SPDX-License-Identifier: Apache-2.0
// Description: with executor_options::measure_busy_time, executor_stats::
// busy_ns adds up the time of the rounds that did work and leaves out the
// rounds that found nothing; without it, it stays zero.
#include <cstddef>

#include "airlock/async/executor.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

// A source that takes `cost` ns of the manual clock per poll and has
// `backlog` items of work; an empty poll costs `empty_cost`.
class timed_source final : public source {
  public:
    timed_source(test::manual_hooks& hooks, std::size_t backlog) : hooks_(hooks), left(backlog) {}
    std::size_t poll(std::size_t /*budget*/) noexcept override {
        if (left == 0) {
            hooks_.now += empty_cost;
            return 0;
        }
        hooks_.now += cost;
        --left;
        return 1;
    }
    bool has_work() noexcept override { return left > 0; }

    test::manual_hooks& hooks_;
    std::size_t left;
    std::uint64_t cost = 100;
    std::uint64_t empty_cost = 7;
};

}  // namespace

TEST(busy_time, counts_only_the_rounds_that_did_work) {
    executor_options o = test::quiet_options();
    o.measure_busy_time = true;
    test::harness h(o);
    timed_source s(h.hooks, 5);
    h.ex.add_source(s);
    for (int round = 0; round < 12; ++round)
        (void)h.ex.run_once();
    EXPECT_EQ(h.ex.stats().busy_ns, 5u * 100u) << "five working rounds of 100 ns; seven empty ones";
    h.ex.remove_source(s);
}

TEST(busy_time, stays_zero_unless_asked_for) {
    test::harness h;
    timed_source s(h.hooks, 5);
    h.ex.add_source(s);
    for (int round = 0; round < 12; ++round)
        (void)h.ex.run_once();
    EXPECT_EQ(h.ex.stats().busy_ns, 0u);
    h.ex.remove_source(s);
}
