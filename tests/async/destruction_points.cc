// SPDX-License-Identifier: Apache-2.0
// Description: a coroutine destroyed at any suspension point (a sleep, a
// yield, a mutex, semaphore, event or channel wait, a join, a when_all or
// when_any) leaves nothing behind: no timer, no queued resumption, no
// waiter in a primitive, no registration on its token; a lock or permit
// handed to it before it resumed goes to the next waiter.
#include <optional>

#include "airlock/async/channel.hh"
#include "airlock/async/event.hh"
#include "airlock/async/mutex.hh"
#include "airlock/async/scope.hh"
#include "airlock/async/semaphore.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "airlock/async/when_any.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;
using airlock::test::counted;

namespace {

// Runs `t` until it suspends, then destroys it; checks nothing is left.
template <class Make>
void destroy_while_suspended(Make make) {
    counted::reset();
    test::harness h;
    cancellation_source source;
    {
        task<void> t = make(h.ex, source.token());
        h.ex.spawn([](task<void>& slot) -> task<void> { co_await slot; }(t));
        h.ex.run_once();
        h.ex.run_once();
        ASSERT_FALSE(t.is_ready()) << "the coroutine did not suspend";
        t = task<void>{};
    }
    EXPECT_EQ(counted::alive(), 0);
    EXPECT_EQ(h.ex.timers_armed(), 0u);
    EXPECT_EQ(h.ex.ready(), 0u);
    EXPECT_EQ(source.registrations(), 0u);
    source.request_cancellation();
    for (int i = 0; i < 3; ++i)
        h.ex.run_once();
}

}  // namespace

TEST(destruction_points, sleep) {
    destroy_while_suspended([](executor& ex, cancellation_token t) -> task<void> {
        counted c;
        (void)co_await ex.sleep_for(1'000'000, t);
    });
}

TEST(destruction_points, yield_with_the_resumption_queued) {
    counted::reset();
    test::harness h;
    bool after = false;
    task<void> t = [](executor& ex, bool& a) -> task<void> {
        counted c;
        co_await ex.schedule();
        a = true;
    }(h.ex, after);
    h.ex.spawn([](task<void>& slot) -> task<void> { co_await slot; }(t));
    h.ex.run_once();  // starts: the yield queues its resumption
    ASSERT_EQ(h.ex.ready(), 1u);
    t = task<void>{};
    EXPECT_EQ(h.ex.ready(), 0u) << "the queued resumption left with the frame";
    h.ex.run_once();
    EXPECT_FALSE(after);
    EXPECT_EQ(counted::alive(), 0);
}

TEST(destruction_points, event_semaphore_mutex_and_channel_waits) {
    async_event never;
    destroy_while_suspended([&](executor&, cancellation_token t) -> task<void> {
        counted c;
        (void)co_await never.wait(t);
    });
    async_semaphore none(0);
    destroy_while_suspended([&](executor&, cancellation_token t) -> task<void> {
        counted c;
        (void)co_await none.acquire(t);
    });
    EXPECT_FALSE(none.try_acquire());
    async_mutex held;
    ASSERT_TRUE(held.try_lock());
    destroy_while_suspended([&](executor&, cancellation_token t) -> task<void> {
        counted c;
        (void)co_await held.lock(t);
    });
    held.unlock();
    EXPECT_TRUE(held.try_lock()) << "a destroyed waiter kept the mutex";
    held.unlock();
    channel<int> empty(1);
    destroy_while_suspended([&](executor&, cancellation_token t) -> task<void> {
        counted c;
        (void)co_await empty.receive(t);
    });
    channel<int> full(1);
    ASSERT_TRUE(full.try_send(1));
    destroy_while_suspended([&](executor&, cancellation_token t) -> task<void> {
        counted c;
        (void)co_await full.send(2, t);
    });
    EXPECT_EQ(full.size(), 1u);
}

TEST(destruction_points, a_lock_handed_over_but_not_resumed_goes_to_the_next) {
    test::harness h;
    async_mutex m;
    ASSERT_TRUE(m.try_lock());
    bool second_got_it = false;
    task<void> first = [](async_mutex& mu) -> task<void> { (void)co_await mu.lock(); }(m);
    h.ex.spawn([](task<void>& slot) -> task<void> { co_await slot; }(first));
    h.ex.spawn([](async_mutex& mu, bool& got) -> task<void> {
        auto lock = co_await mu.lock();
        got = lock.has_value();
    }(m, second_got_it));
    h.ex.run_once();       // both wait, first in line
    m.unlock();            // handed to the first: its resumption is queued
    first = task<void>{};  // destroyed before it resumed
    for (int i = 0; i < 3; ++i)
        h.ex.run_once();
    EXPECT_TRUE(second_got_it) << "the lock handed to the destroyed waiter was lost";
}

TEST(destruction_points, join_when_all_and_when_any) {
    destroy_while_suspended([](executor& ex, cancellation_token) -> task<void> {
        counted c;
        async_scope s(ex);
        s.spawn([](executor& e) -> task<void> { (void)co_await e.sleep_for(1'000'000); }(ex));
        co_await s.join();
    });
    destroy_while_suspended([](executor& ex, cancellation_token t) -> task<void> {
        counted c;
        (void)co_await when_all(ex.sleep_for(1'000'000, t), ex.sleep_for(2'000'000));
    });
    destroy_while_suspended([](executor& ex, cancellation_token t) -> task<void> {
        counted c;
        (void)co_await when_any(ex.sleep_for(1'000'000, t), ex.sleep_for(2'000'000));
    });
}
