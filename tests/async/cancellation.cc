// SPDX-License-Identifier: Apache-2.0
// Description: a cancelled sleep resumes with errc::cancelled; an already
// cancelled token does not suspend; registrations fire once, in order, and
// unlink; deadlines (with_deadline, deadline_source) turn into
// deadline_exceeded, parent cancellation into cancelled.
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/deadline.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

task<errc> sleep_result(executor& ex, std::uint64_t delay, cancellation_token token) {
    const expected<void> r = co_await ex.sleep_for(delay, token);
    co_return r.has_value() ? errc::ok : r.error();
}

task<void> cancel_after(executor& ex, std::uint64_t delay, cancellation_source& source) {
    (void)co_await ex.sleep_for(delay);
    source.request_cancellation();
}

// A cooperative operation: a long sleep that honours the token.
task<expected<int>> slow_op(executor& ex, std::uint64_t delay, cancellation_token token) {
    const expected<void> r = co_await ex.sleep_for(delay, token);
    if (!r) co_return unexpected(r.error());
    co_return 7;
}

}  // namespace

TEST(cancellation, a_cancelled_sleep_resumes_early_with_cancelled) {
    test::harness h;
    cancellation_source source;
    const std::uint64_t start = h.hooks.now;
    auto [slept, ignored] = sync_wait(h.ex, when_all(sleep_result(h.ex, 1'000'000, source.token()),
                                                     cancel_after(h.ex, 50, source)));
    (void)ignored;
    EXPECT_EQ(slept, errc::cancelled);
    EXPECT_EQ(h.hooks.now - start, 50u) << "resumed at the cancellation, not the deadline";
    EXPECT_EQ(h.ex.timers_armed(), 0u);
    EXPECT_EQ(source.registrations(), 0u);
}

TEST(cancellation, an_already_cancelled_token_does_not_suspend) {
    test::harness h;
    cancellation_source source;
    EXPECT_TRUE(source.request_cancellation());
    EXPECT_FALSE(source.request_cancellation()) << "only the first request counts";
    EXPECT_EQ(sync_wait(h.ex, sleep_result(h.ex, 1'000, source.token())), errc::cancelled);
    EXPECT_EQ(h.hooks.parks, 0u);
    EXPECT_EQ(h.ex.stats().timers_fired, 0u);
}

TEST(cancellation, completion_first_then_cancel_is_harmless) {
    test::harness h;
    cancellation_source source;
    EXPECT_EQ(sync_wait(h.ex, sleep_result(h.ex, 10, source.token())), errc::ok);
    EXPECT_EQ(source.registrations(), 0u) << "the sleep deregistered when its timer fired";
    source.request_cancellation();
    EXPECT_EQ(h.ex.ready(), 0u);
}

TEST(cancellation, the_default_token_is_never_cancelled) {
    test::harness h;
    const cancellation_token none;
    EXPECT_FALSE(none.can_be_cancelled());
    EXPECT_FALSE(none.is_cancellation_requested());
    EXPECT_EQ(sync_wait(h.ex, sleep_result(h.ex, 10, none)), errc::ok);
}

TEST(cancellation, callbacks_run_once_in_registration_order_and_may_deregister) {
    struct ctx {
        std::vector<int>* log;
        int id;
        cancellation_registration* other = nullptr;
    };
    std::vector<int> log;
    cancellation_source source;
    cancellation_registration a, b, c;
    ctx ca{&log, 1, &c};  // a removes c before c can run
    ctx cb{&log, 2};
    ctx cc{&log, 3};
    auto fn = [](void* p) noexcept {
        auto& x = *static_cast<ctx*>(p);
        x.log->push_back(x.id);
        if (x.other != nullptr) x.other->deregister();
    };
    ASSERT_TRUE(a.try_register(source.token(), fn, &ca));
    ASSERT_TRUE(b.try_register(source.token(), fn, &cb));
    ASSERT_TRUE(c.try_register(source.token(), fn, &cc));
    EXPECT_EQ(source.registrations(), 3u);
    source.request_cancellation();
    EXPECT_EQ(log, (std::vector<int>{1, 2}));
    EXPECT_FALSE(a.is_registered());
    EXPECT_FALSE(c.is_registered());

    // Registering after the request runs the callback at once (constructor)
    // or refuses (try_register).
    cancellation_registration late(source.token(), fn, &cb);
    EXPECT_EQ(log, (std::vector<int>{1, 2, 2}));
    cancellation_registration refused;
    EXPECT_FALSE(refused.try_register(source.token(), fn, &cb));
}

TEST(cancellation, a_destroyed_source_detaches_its_registrations) {
    cancellation_registration r;
    {
        cancellation_source source;
        ASSERT_TRUE(r.try_register(
            source.token(), [](void*) noexcept { FAIL(); }, nullptr));
    }
    EXPECT_FALSE(r.is_registered());
}

TEST(cancellation, with_deadline_reports_deadline_exceeded) {
    test::harness h;
    const std::uint64_t start = h.hooks.now;
    // The operation inherits the deadline's token: slow_op is given none.
    auto late = sync_wait(h.ex, with_timeout(h.ex, 100, slow_op(h.ex, 1'000'000, {})));
    ASSERT_FALSE(late.has_value());
    EXPECT_EQ(late.error(), errc::deadline_exceeded);
    EXPECT_EQ(h.hooks.now - start, 100u);
    EXPECT_EQ(h.ex.timers_armed(), 0u);

    auto in_time = sync_wait(h.ex, with_timeout(h.ex, 1'000, slow_op(h.ex, 10, {})));
    ASSERT_TRUE(in_time.has_value());
    EXPECT_EQ(*in_time, 7);
    EXPECT_EQ(h.ex.timers_armed(), 0u) << "the deadline's timer is disarmed on success";
}

TEST(cancellation, with_deadline_takes_any_awaitable) {
    test::harness h;
    const expected<void> slept = sync_wait(h.ex, with_timeout(h.ex, 100, h.ex.sleep_for(1'000)));
    ASSERT_FALSE(slept.has_value());
    EXPECT_EQ(slept.error(), errc::deadline_exceeded);
    EXPECT_EQ(h.ex.timers_armed(), 0u);
}

TEST(cancellation, a_parent_cancel_is_cancelled_not_deadline_exceeded) {
    test::harness h;
    cancellation_source parent;
    auto body = [](executor& ex, cancellation_source& p) -> task<expected<int>> {
        auto [r, ignored] =
            co_await when_all(with_timeout(ex, 1'000'000, slow_op(ex, 5'000'000, p.token())),
                              cancel_after(ex, 20, p));
        (void)ignored;
        co_return r;
    };
    const expected<int> r = sync_wait(h.ex, body(h.ex, parent));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::cancelled);
    EXPECT_EQ(h.ex.timers_armed(), 0u);
    EXPECT_EQ(parent.registrations(), 0u);
}

TEST(cancellation, a_deadline_already_past_cancels_at_once) {
    test::harness h;
    deadline_source d(h.ex, h.hooks.now - 1);
    EXPECT_TRUE(d.expired());
    EXPECT_TRUE(d.token().is_cancellation_requested());
    EXPECT_EQ(h.ex.timers_armed(), 0u);

    cancellation_source parent;
    parent.request_cancellation();
    deadline_source d2(h.ex, h.hooks.now + 1'000, parent.token());
    EXPECT_FALSE(d2.expired());
    EXPECT_TRUE(d2.token().is_cancellation_requested());
    EXPECT_EQ(h.ex.timers_armed(), 0u);
}
