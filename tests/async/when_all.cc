// SPDX-License-Identifier: Apache-2.0
// Description: when_all runs every task, resumes when the last finishes and
// keeps argument order in its results whatever the completion order; void
// gives monostate; the first exception in argument order is rethrown after
// all finished; the vector form does the same.
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

// Finishes after `delay` ns of the manual clock, logging its id.
task<int> after(executor& ex, std::uint64_t delay, int id, std::vector<int>& finished) {
    if (delay > 0) (void)co_await ex.sleep_for(delay);
    finished.push_back(id);
    co_return id * 10;
}

task<std::string> text(executor& ex, std::uint64_t delay, std::string s) {
    (void)co_await ex.sleep_for(delay);
    co_return s;
}

task<void> nothing(executor& ex, std::uint64_t delay, int& count) {
    (void)co_await ex.sleep_for(delay);
    ++count;
}

task<int> throws_after(executor& ex, std::uint64_t delay, std::string what) {
    (void)co_await ex.sleep_for(delay);
    throw std::runtime_error(what);
}

}  // namespace

TEST(when_all, results_keep_argument_order_not_completion_order) {
    test::harness h;
    std::vector<int> finished;
    auto [a, b, c] =
        sync_wait(h.ex, when_all(after(h.ex, 300, 1, finished), after(h.ex, 100, 2, finished),
                                 after(h.ex, 200, 3, finished)));
    EXPECT_EQ(a, 10);
    EXPECT_EQ(b, 20);
    EXPECT_EQ(c, 30);
    EXPECT_EQ(finished, (std::vector<int>{2, 3, 1}));
}

TEST(when_all, mixed_types_void_and_synchronous_children) {
    test::harness h;
    std::vector<int> finished;
    int voids = 0;
    auto result = sync_wait(
        h.ex, when_all(text(h.ex, 50, "x"), nothing(h.ex, 10, voids), after(h.ex, 0, 7, finished)));
    EXPECT_EQ(std::get<0>(result), "x");
    static_assert(std::is_same_v<std::tuple_element_t<1, decltype(result)>, std::monostate>);
    EXPECT_EQ(voids, 1);
    EXPECT_EQ(std::get<2>(result), 70);
}

TEST(when_all, all_synchronous_children_complete_without_suspending) {
    test::harness h;
    std::vector<int> finished;
    auto [x, y] =
        sync_wait(h.ex, when_all(after(h.ex, 0, 1, finished), after(h.ex, 0, 2, finished)));
    EXPECT_EQ(x + y, 30);
    EXPECT_EQ(finished, (std::vector<int>{1, 2})) << "started in argument order";
    auto empty = sync_wait(h.ex, when_all());
    static_assert(std::tuple_size_v<decltype(empty)> == 0);
}

TEST(when_all, the_first_exception_in_argument_order_after_all_finished) {
    test::harness h;
    std::vector<int> finished;
    auto body = [](executor& ex, std::vector<int>& log) -> task<std::string> {
        try {
            (void)co_await when_all(throws_after(ex, 300, "first-by-order"), after(ex, 400, 1, log),
                                    throws_after(ex, 100, "second"));
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    };
    EXPECT_EQ(sync_wait(h.ex, body(h.ex, finished)), "first-by-order");
    EXPECT_EQ(finished, (std::vector<int>{1})) << "the slow sibling still ran to the end";
    EXPECT_EQ(h.ex.timers_armed(), 0u);
}

TEST(when_all, vector_form) {
    test::harness h;
    std::vector<int> finished;
    std::vector<task<int>> tasks;
    for (int i = 0; i < 8; ++i)
        tasks.push_back(after(h.ex, static_cast<std::uint64_t>(8 - i) * 10, i, finished));
    const std::vector<int> results = sync_wait(h.ex, when_all(std::move(tasks)));
    ASSERT_EQ(results.size(), 8u);
    for (int i = 0; i < 8; ++i)
        EXPECT_EQ(results[static_cast<std::size_t>(i)], i * 10);
    EXPECT_EQ(finished, (std::vector<int>{7, 6, 5, 4, 3, 2, 1, 0}));

    int voids = 0;
    std::vector<task<void>> void_tasks;
    for (int i = 0; i < 5; ++i)
        void_tasks.push_back(nothing(h.ex, 5, voids));
    sync_wait(h.ex, when_all(std::move(void_tasks)));
    EXPECT_EQ(voids, 5);

    EXPECT_TRUE(sync_wait(h.ex, when_all(std::vector<task<int>>{})).empty());
}
