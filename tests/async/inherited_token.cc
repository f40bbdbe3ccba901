// SPDX-License-Identifier: Apache-2.0
// Description: a task inherits its awaiter's cancellation token: a deadline
// or a scope's stop reaches every cancellation point beneath it (sleeps in
// nested tasks) without a token passed by hand; this_task::token() reads
// it; a sleep given a token of its own observes both.
#include "airlock/async/deadline.hh"
#include "airlock/async/scope.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

task<expected<void>> deep_sleep(executor& ex, int depth) {
    if (depth == 0) co_return co_await ex.sleep_for(1'000'000'000);
    co_return co_await deep_sleep(ex, depth - 1);
}

}  // namespace

TEST(inherited_token, a_deadline_reaches_a_sleep_three_tasks_down) {
    test::harness h;
    const std::uint64_t start = h.hooks.now;
    const expected<void> r = sync_wait(h.ex, with_timeout(h.ex, 500, deep_sleep(h.ex, 3)));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::deadline_exceeded);
    EXPECT_EQ(h.hooks.now - start, 500u);
    EXPECT_EQ(h.ex.timers_armed(), 0u);
}

TEST(inherited_token, outside_any_context_the_token_can_never_be_cancelled) {
    test::harness h;
    const cancellation_token t = sync_wait(
        h.ex, []() -> task<cancellation_token> { co_return co_await this_task::token(); }());
    EXPECT_FALSE(t.can_be_cancelled());
}

TEST(inherited_token, this_task_token_is_the_scope_token) {
    test::harness h;
    async_scope s(h.ex);
    bool seen = false;
    s.spawn([](async_scope& scope, bool& out) -> task<void> {
        const cancellation_token t = co_await this_task::token();
        scope.request_stop();
        out = t.is_cancellation_requested();
    }(s, seen));
    sync_wait(h.ex, [](async_scope& scope) -> task<void> { co_await scope.join(); }(s));
    EXPECT_TRUE(seen);
}

TEST(inherited_token, a_sleep_with_its_own_token_observes_both) {
    test::harness h;
    cancellation_source own;
    auto body = [](executor& ex, cancellation_source& src) -> task<expected<void>> {
        auto [r, unused] = co_await when_all(ex.sleep_for(1'000'000, src.token()),
                                             [](executor& e, cancellation_source& s) -> task<void> {
                                                 (void)co_await e.sleep_for(10);
                                                 s.request_cancellation();
                                             }(ex, src));
        (void)unused;
        co_return r;
    };
    // Its own token fires first...
    const expected<void> r = sync_wait(h.ex, body(h.ex, own));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::cancelled);
    // ...and a deadline around it fires too, though the sleep has a token.
    cancellation_source never;
    const expected<void> d =
        sync_wait(h.ex, with_timeout(h.ex, 20, h.ex.sleep_for(1'000'000, never.token())));
    ASSERT_FALSE(d.has_value());
    EXPECT_EQ(d.error(), errc::deadline_exceeded);
}

TEST(inherited_token, a_stop_from_above_a_deadline_is_cancelled_not_deadline_exceeded) {
    test::harness h;
    async_scope s(h.ex);
    expected<void> r;
    s.spawn([](executor& ex, expected<void>& out) -> task<void> {
        out = co_await with_timeout(ex, 1'000'000, deep_sleep(ex, 1));
    }(h.ex, r));
    h.ex.run_once();
    s.request_stop();
    sync_wait(h.ex, [](async_scope& scope) -> task<void> { co_await scope.join(); }(s));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::cancelled);
    EXPECT_EQ(h.ex.timers_armed(), 0u);
}
