// SPDX-License-Identifier: Apache-2.0
// Description: task<T> is lazy, yields values, references, move-only values
// and void, and an lvalue co_await sees the result kept in the frame.
#include <memory>
#include <string>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/task.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

task<int> answer() {
    co_return 42;
}
task<int> add(int a, int b) {
    co_return a + b;
}
task<std::string> greet(std::string name) {
    co_return "hello " + name;
}
task<std::unique_ptr<int>> boxed(int v) {
    co_return std::make_unique<int>(v);
}
task<int&> pick(int& slot) {
    co_return slot;
}
task<void> set(int& slot, int v) {
    slot = v;
    co_return;
}

task<int> chain() {
    const int a = co_await answer();
    const int b = co_await add(a, 8);
    co_return b;
}

}  // namespace

TEST(task_basics, a_task_is_lazy_until_awaited) {
    test::harness h;
    int slot = 0;
    task<void> t = set(slot, 7);
    EXPECT_EQ(slot, 0) << "the body ran before anyone awaited it";
    EXPECT_FALSE(t.is_ready());
    sync_wait(h.ex, std::move(t));
    EXPECT_EQ(slot, 7);
}

TEST(task_basics, values_strings_and_move_only_results) {
    test::harness h;
    EXPECT_EQ(sync_wait(h.ex, answer()), 42);
    EXPECT_EQ(sync_wait(h.ex, chain()), 50);
    EXPECT_EQ(sync_wait(h.ex, greet("enclave")), "hello enclave");
    const std::unique_ptr<int> p = sync_wait(h.ex, boxed(5));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 5);
}

TEST(task_basics, reference_results_refer_to_the_original) {
    test::harness h;
    int slot = 3;
    int& r = sync_wait(h.ex, pick(slot));
    EXPECT_EQ(&r, &slot);
}

TEST(task_basics, lvalue_await_yields_the_result_in_the_frame) {
    test::harness h;
    auto outer = []() -> task<std::string> {
        task<std::string> inner = greet("a");
        std::string& first = co_await inner;
        first += "!";
        // A finished task can be awaited again: it does not run twice.
        std::string& again = co_await inner;
        EXPECT_EQ(&first, &again);
        EXPECT_TRUE(inner.is_ready());
        co_return std::move(again);
    };
    EXPECT_EQ(sync_wait(h.ex, outer()), "hello a!");
}

TEST(task_basics, moved_from_and_default_tasks_are_empty) {
    test::harness h;
    task<int> a = answer();
    EXPECT_TRUE(a.valid());
    task<int> b = std::move(a);
    EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): testing it
    EXPECT_TRUE(a.is_ready());
    task<int> c;
    EXPECT_FALSE(c.valid());
    c = std::move(b);
    EXPECT_EQ(sync_wait(h.ex, std::move(c)), 42);
}
