// SPDX-License-Identifier: Apache-2.0
// Description: when_any resumes with the first task to finish (its index and
// result), cancels the others through their inherited token and waits until
// they stop; it takes any awaitable; the winner's exception is rethrown and
// the losers' are dropped; when_all cancels the siblings of a failed task,
// when_all_settled does not.
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "airlock/async/when_any.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

task<expected<int>> after(executor& ex, std::uint64_t ns, int value, int& cancelled) {
    const expected<void> r = co_await ex.sleep_for(ns);
    if (!r) {
        ++cancelled;
        co_return unexpected(r.error());
    }
    co_return value;
}

task<std::string> word_after(executor& ex, std::uint64_t ns) {
    (void)co_await ex.sleep_for(ns);
    co_return "word";
}

task<int> throws_after(executor& ex, std::uint64_t ns) {
    (void)co_await ex.sleep_for(ns);
    throw std::runtime_error("boom");
}

}  // namespace

TEST(when_any, the_first_to_finish_wins_and_the_others_are_cancelled) {
    test::harness h;
    int cancelled = 0;
    const std::uint64_t start = h.hooks.now;
    auto r =
        sync_wait(h.ex, when_any(after(h.ex, 300, 1, cancelled), after(h.ex, 100, 2, cancelled),
                                 after(h.ex, 200, 3, cancelled)));
    EXPECT_EQ(r.index, 1u);
    EXPECT_EQ(*std::get<1>(r.value), 2);
    EXPECT_EQ(cancelled, 2) << "the losers stopped at their cancellation point";
    EXPECT_EQ(h.hooks.now - start, 100u) << "nobody waited for the losers' deadlines";
    EXPECT_EQ(h.ex.timers_armed(), 0u);
}

TEST(when_any, mixed_types_and_awaitables) {
    test::harness h;
    auto r = sync_wait(h.ex, when_any(word_after(h.ex, 10), h.ex.sleep_for(1'000)));
    ASSERT_EQ(r.index, 0u);
    EXPECT_EQ(std::get<0>(r.value), "word");
    auto s = sync_wait(h.ex, when_any(word_after(h.ex, 1'000), h.ex.sleep_for(10)));
    ASSERT_EQ(s.index, 1u);
    EXPECT_TRUE(std::get<1>(s.value).has_value()) << "the sleep ran out, it was not cancelled";
}

TEST(when_any, vector_form) {
    test::harness h;
    int cancelled = 0;
    std::vector<task<expected<int>>> tasks;
    for (int i = 0; i < 5; ++i)
        tasks.push_back(after(h.ex, static_cast<std::uint64_t>(100 + (i == 3 ? 0 : 100 * i + 50)),
                              i, cancelled));
    auto [index, value] = sync_wait(h.ex, when_any(std::move(tasks)));
    EXPECT_EQ(index, 3u);
    EXPECT_EQ(*value, 3);
    EXPECT_EQ(cancelled, 4);
}

TEST(when_any, the_winners_exception_is_rethrown_and_losers_are_dropped) {
    test::harness h;
    int cancelled = 0;
    EXPECT_THROW(
        (void)sync_wait(h.ex, when_any(throws_after(h.ex, 5), after(h.ex, 100, 1, cancelled))),
        std::runtime_error);
    EXPECT_EQ(cancelled, 1);
    auto r = sync_wait(h.ex, when_any(after(h.ex, 5, 7, cancelled), throws_after(h.ex, 5)));
    EXPECT_EQ(r.index, 0u);
}

TEST(when_all, a_failure_cancels_the_siblings) {
    test::harness h;
    int cancelled = 0;
    auto failing = [](executor& ex) -> task<expected<int>> {
        (void)co_await ex.sleep_for(10);
        co_return unexpected(errc::rpc_decode);
    };
    const std::uint64_t start = h.hooks.now;
    auto [a, b, c] = sync_wait(h.ex, when_all(after(h.ex, 1'000, 1, cancelled), failing(h.ex),
                                              after(h.ex, 2'000, 3, cancelled)));
    EXPECT_EQ(b.error(), errc::rpc_decode);
    EXPECT_EQ(a.error(), errc::cancelled);
    EXPECT_EQ(c.error(), errc::cancelled);
    EXPECT_EQ(cancelled, 2);
    EXPECT_EQ(h.hooks.now - start, 10u);
}

TEST(when_all, settled_runs_every_task_its_course) {
    test::harness h;
    int cancelled = 0;
    auto failing = [](executor& ex) -> task<expected<int>> {
        (void)co_await ex.sleep_for(10);
        co_return unexpected(errc::rpc_decode);
    };
    auto [a, b] =
        sync_wait(h.ex, when_all_settled(after(h.ex, 1'000, 1, cancelled), failing(h.ex)));
    EXPECT_EQ(*a, 1);
    EXPECT_EQ(b.error(), errc::rpc_decode);
    EXPECT_EQ(cancelled, 0);
}
