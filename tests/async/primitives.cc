// SPDX-License-Identifier: Apache-2.0
// Description: async_mutex, async_semaphore, async_event and channel on one
// executor: FIFO hand-off, back-pressure, close, and every wait a
// cancellation point that, cancelled, holds nothing and leaves the
// primitive as it was.
#include <optional>
#include <string>
#include <vector>

#include "airlock/async/channel.hh"
#include "airlock/async/event.hh"
#include "airlock/async/mutex.hh"
#include "airlock/async/semaphore.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

task<void> critical(executor& ex, async_mutex& m, std::vector<int>& log, int id) {
    auto lock = co_await m.lock();
    EXPECT_TRUE(lock.has_value());
    log.push_back(id);
    (void)co_await ex.sleep_for(10);  // held across a suspension
    log.push_back(-id);
}

}  // namespace

TEST(mutex, holders_never_overlap_and_waiters_get_it_in_order) {
    test::harness h;
    async_mutex m;
    std::vector<int> log;
    sync_wait(h.ex, when_all(critical(h.ex, m, log, 1), critical(h.ex, m, log, 2),
                             critical(h.ex, m, log, 3)));
    EXPECT_EQ(log, (std::vector<int>{1, -1, 2, -2, 3, -3}));
    EXPECT_TRUE(m.try_lock());
    m.unlock();
}

TEST(mutex, a_cancelled_lock_holds_nothing) {
    test::harness h;
    async_mutex m;
    ASSERT_TRUE(m.try_lock());
    cancellation_source source;
    auto waiter = [](async_mutex& mu, cancellation_token t) -> task<errc> {
        auto lock = co_await mu.lock(t);
        co_return lock ? errc::ok : lock.error();
    };
    auto canceller = [](executor& ex, cancellation_source& s) -> task<void> {
        (void)co_await ex.sleep_for(5);
        s.request_cancellation();
    };
    auto [r, unused] =
        sync_wait(h.ex, when_all(waiter(m, source.token()), canceller(h.ex, source)));
    (void)unused;
    EXPECT_EQ(r, errc::cancelled);
    m.unlock();  // ours: nobody else may have it
    EXPECT_TRUE(m.try_lock()) << "the cancelled waiter took the mutex";
    m.unlock();
}

TEST(semaphore, bounds_concurrency_and_hands_permits_in_order) {
    test::harness h;
    async_semaphore s(2);
    int running = 0;
    int most = 0;
    std::vector<task<void>> tasks;
    for (int i = 0; i < 6; ++i) {
        tasks.push_back([](executor& ex, async_semaphore& sem, int& run, int& peak) -> task<void> {
            EXPECT_TRUE((co_await sem.acquire()).has_value());
            peak = std::max(peak, ++run);
            (void)co_await ex.sleep_for(10);
            --run;
            sem.release();
        }(h.ex, s, running, most));
    }
    sync_wait(h.ex, when_all(std::move(tasks)));
    EXPECT_EQ(most, 2);
    EXPECT_EQ(s.available(), 2u);
}

TEST(event, every_waiter_resumes_when_it_is_set) {
    test::harness h;
    async_event e;
    int woken = 0;
    std::vector<task<void>> tasks;
    for (int i = 0; i < 4; ++i)
        tasks.push_back([](async_event& ev, int& n) -> task<void> {
            EXPECT_TRUE((co_await ev.wait()).has_value());
            ++n;
        }(e, woken));
    tasks.push_back([](executor& ex, async_event& ev) -> task<void> {
        (void)co_await ex.sleep_for(10);
        ev.set();
    }(h.ex, e));
    sync_wait(h.ex, when_all(std::move(tasks)));
    EXPECT_EQ(woken, 4);
    EXPECT_TRUE(e.is_set());
    e.reset();
    EXPECT_FALSE(e.is_set());
}

TEST(channel, carries_values_in_order_with_back_pressure) {
    test::harness h;
    channel<std::string> ch(2);
    std::vector<std::string> got;
    auto producer = [](channel<std::string>& c) -> task<void> {
        for (int i = 0; i < 10; ++i)
            EXPECT_TRUE((co_await c.send(std::to_string(i))).has_value());
        c.close();
    };
    auto consumer = [](channel<std::string>& c, std::vector<std::string>& out) -> task<void> {
        for (;;) {
            expected<std::string> v = co_await c.receive();
            if (!v) {
                EXPECT_EQ(v.error(), errc::channel_closed);
                co_return;
            }
            out.push_back(std::move(*v));
            EXPECT_LE(c.size(), c.capacity());
        }
    };
    sync_wait(h.ex, when_all(producer(ch), consumer(ch, got)));
    ASSERT_EQ(got.size(), 10u);
    for (int i = 0; i < 10; ++i)
        EXPECT_EQ(got[static_cast<std::size_t>(i)], std::to_string(i));
}

TEST(channel, a_closed_channel_refuses_sends_and_drains_for_the_receiver) {
    test::harness h;
    channel<int> ch(4);
    ASSERT_TRUE(ch.try_send(1));
    ASSERT_TRUE(ch.try_send(2));
    ch.close();
    EXPECT_FALSE(ch.try_send(3));
    auto r = sync_wait(h.ex, [](channel<int>& c) -> task<std::vector<int>> {
        std::vector<int> out;
        while (auto v = co_await c.receive())
            out.push_back(*v);
        const expected<void> s = co_await c.send(9);
        EXPECT_EQ(s.error(), errc::channel_closed);
        co_return out;
    }(ch));
    EXPECT_EQ(r, (std::vector<int>{1, 2}));
}

TEST(channel, a_cancelled_send_sends_nothing) {
    test::harness h;
    channel<int> ch(1);
    ASSERT_TRUE(ch.try_send(1));
    cancellation_source source;
    auto [sent, unused] =
        sync_wait(h.ex, when_all(
                            [](channel<int>& c, cancellation_token t) -> task<errc> {
                                const expected<void> r = co_await c.send(2, t);  // full: waits
                                co_return r ? errc::ok : r.error();
                            }(ch, source.token()),
                            [](executor& ex, cancellation_source& s) -> task<void> {
                                (void)co_await ex.sleep_for(5);
                                s.request_cancellation();
                            }(h.ex, source)));
    (void)unused;
    EXPECT_EQ(sent, errc::cancelled);
    EXPECT_EQ(ch.size(), 1u);
    EXPECT_EQ(ch.try_receive(), std::optional<int>(1));
    EXPECT_EQ(ch.try_receive(), std::nullopt);
}
