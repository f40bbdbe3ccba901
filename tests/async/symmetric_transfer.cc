// SPDX-License-Identifier: Apache-2.0
// Description: a million synchronous co_awaits in a row complete in constant
// stack on every compiler and flag set, in one round of the executor; a task
// finishing later resumes its awaiter by symmetric transfer.
#include "airlock/async/sync_wait.hh"
#include "airlock/async/task.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

constexpr int iterations = 1'000'000;

task<int> one() {
    co_return 1;
}
task<void> nothing() {
    co_return;
}

task<long> sum_of_ones() {
    long sum = 0;
    for (int i = 0; i < iterations; ++i)
        sum += co_await one();
    co_return sum;
}

task<long> nested_voids() {
    for (int i = 0; i < iterations; ++i)
        co_await nothing();
    co_return iterations;
}

// Depth: each level awaits the next. A chain of nested awaits takes stack
// like nested calls while it runs (10,000 levels here), and unwinds.
task<int> depth(int n) {
    if (n == 0) co_return 0;
    co_return 1 + co_await depth(n - 1);
}

}  // namespace

TEST(symmetric_transfer, a_million_synchronous_awaits_do_not_grow_the_stack) {
    test::harness h;
    EXPECT_EQ(sync_wait(h.ex, sum_of_ones()), iterations);
    EXPECT_EQ(sync_wait(h.ex, nested_voids()), iterations);
    // Both ran without ever suspending to the executor.
    EXPECT_EQ(h.ex.stats().resumptions, 2u);
}

TEST(symmetric_transfer, a_deep_chain_of_awaits_unwinds) {
    test::harness h;
    EXPECT_EQ(sync_wait(h.ex, depth(10'000)), 10'000);
}

// Each yield makes the chain below finish asynchronously: the awaiter is
// resumed from the executor by the finishing body.
task<long> async_leaf(executor& ex, int v) {
    co_await ex.schedule();
    co_return v;
}

task<long> async_sum(executor& ex, int n) {
    long sum = 0;
    for (int i = 0; i < n; ++i)
        sum += co_await async_leaf(ex, 1);
    co_return sum;
}

TEST(symmetric_transfer, asynchronous_completions_resume_their_awaiters) {
    test::harness h;
    EXPECT_EQ(sync_wait(h.ex, async_sum(h.ex, 100'000)), 100'000);
    EXPECT_GE(h.ex.stats().resumptions, 100'000u);
}
