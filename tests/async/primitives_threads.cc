// SPDX-License-Identifier: Apache-2.0
// Description: coroutines on several executors, each on its own thread,
// share an async_mutex (a counter it guards stays exact), an
// async_semaphore (never more holders than permits) and one channel into a
// single receiver (every value arrives once); wakes cross threads (run
// under TSan). A coroutine woken on another thread may destroy the
// primitive at once: async_event::set, async_semaphore::release(n > 1)
// and channel::close touch it no more once they have woken a waiter.
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "airlock/async/channel.hh"
#include "airlock/async/event.hh"
#include "airlock/async/mutex.hh"
#include "airlock/async/scope.hh"
#include "airlock/async/semaphore.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/platform/futex_wait.hh"
#include "async/async_support.hh"
#include "support/region_fixture.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

struct shared_state {
    async_mutex mutex;
    std::uint64_t guarded = 0;  // only under `mutex`
    async_semaphore permits{2};
    std::atomic<int> holders{0};
    std::atomic<int> most_holders{0};
    channel<std::uint64_t> values{8};
};

task<void> worker(executor& ex, shared_state& s, std::uint64_t id, int rounds) {
    for (int i = 0; i < rounds; ++i) {
        {
            auto lock = co_await s.mutex.lock();
            EXPECT_TRUE(lock.has_value());
            const std::uint64_t seen = s.guarded;
            co_await ex.schedule();  // held across a suspension
            s.guarded = seen + 1;
        }
        EXPECT_TRUE((co_await s.permits.acquire()).has_value());
        const int now = s.holders.fetch_add(1) + 1;
        int most = s.most_holders.load();
        while (now > most && !s.most_holders.compare_exchange_weak(most, now)) {
        }
        co_await ex.schedule();
        s.holders.fetch_sub(1);
        s.permits.release();
        EXPECT_TRUE(
            (co_await s.values.send(id * 1'000'000 + static_cast<std::uint64_t>(i))).has_value());
    }
}

}  // namespace

TEST(primitives_threads, coroutines_on_several_threads_share_primitives) {
    const int threads = 3;
    const int per_thread = 8;
    const int rounds = static_cast<int>(std::max(20.0, 300 * test::stress_scale()));
    test::watchdog dog(std::chrono::seconds(120), "primitives_threads");
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();
    shared_state s;
    std::vector<std::uint64_t> received;
    std::thread receiver([&] {
        ring::wire::doorbell bell{};
        executor ex(bell, hooks);
        sync_wait(ex,
                  [](channel<std::uint64_t>& ch, std::vector<std::uint64_t>& out,
                     std::size_t expect) -> task<void> {
                      while (out.size() < expect) {
                          auto v = co_await ch.receive();
                          EXPECT_TRUE(v.has_value());
                          if (!v) co_return;
                          out.push_back(*v);
                      }
                  }(s.values, received, static_cast<std::size_t>(threads * per_thread * rounds)));
    });
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            ring::wire::doorbell bell{};
            executor ex(bell, hooks);
            async_scope scope(ex);
            for (int w = 0; w < per_thread; ++w)
                scope.spawn(worker(ex, s, static_cast<std::uint64_t>(t * per_thread + w), rounds));
            sync_wait(ex, [](async_scope& sc) -> task<void> { co_await sc.join(); }(scope));
        });
    }
    for (std::thread& t : pool)
        t.join();
    receiver.join();
    EXPECT_EQ(s.guarded, static_cast<std::uint64_t>(threads * per_thread * rounds));
    EXPECT_LE(s.most_holders.load(), 2);
    std::sort(received.begin(), received.end());
    EXPECT_EQ(std::adjacent_find(received.begin(), received.end()), received.end())
        << "a value arrived twice";
    EXPECT_EQ(received.size(), static_cast<std::size_t>(threads * per_thread * rounds));
}

namespace {

// A coroutine on thread B waits on a primitive it then destroys: B makes the
// primitive, starts `wait_then_destroy(primitive)` at once (so it is waiting
// when B hands the primitive over), and runs until it has finished; the
// test thread wakes it with `wake(primitive)`, which must not touch the
// primitive after the wake-up that lets B destroy it. `rounds` times, with
// one waiter each.
template <class P, class Make, class WaitThenDestroy, class Wake>
void woken_waiter_destroys(int rounds, Make make, WaitThenDestroy wait_then_destroy, Wake wake) {
    test::watchdog dog(std::chrono::seconds(120), "woken waiter destroys its primitive");
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();
    std::atomic<P*> handed{nullptr};
    std::thread waiter([&] {
        ring::wire::doorbell bell{};
        executor ex(bell, hooks);
        for (int i = 0; i < rounds; ++i) {
            P* p = make();
            bool done = false;
            ex.spawn_now(wait_then_destroy(p, done));  // waiting when this returns
            // release: the primitive and its waiter, to the waking thread.
            handed.store(p, std::memory_order_release);
            ex.run_until([&] { return done; });
        }
    });
    for (int i = 0; i < rounds; ++i) {
        P* p = nullptr;
        // acquire: pairs with the waiter thread's release.
        while ((p = handed.exchange(nullptr, std::memory_order_acquire)) == nullptr)
            std::this_thread::yield();
        wake(*p);
    }
    waiter.join();
}

int destroy_rounds() {
    return static_cast<int>(std::max(20.0, 200 * test::stress_scale()));
}

}  // namespace

TEST(primitives_threads, a_woken_waiter_may_destroy_the_event) {
    woken_waiter_destroys<async_event>(
        destroy_rounds(), [] { return new async_event; },
        [](async_event* e, bool& done) -> task<void> {
            EXPECT_TRUE((co_await e->wait()).has_value());
            delete e;  // its last user
            done = true;
        },
        [](async_event& e) { e.set(); });
}

TEST(primitives_threads, a_woken_waiter_may_destroy_the_semaphore_released_by_more_than_one) {
    woken_waiter_destroys<async_semaphore>(
        destroy_rounds(), [] { return new async_semaphore(0); },
        [](async_semaphore* s, bool& done) -> task<void> {
            EXPECT_TRUE((co_await s->acquire()).has_value());
            delete s;  // holds a permit, and is its last user
            done = true;
        },
        [](async_semaphore& s) { s.release(3); });
}

TEST(primitives_threads, a_sender_woken_by_close_may_destroy_the_channel) {
    woken_waiter_destroys<channel<int>>(
        destroy_rounds(),
        [] {
            auto* ch = new channel<int>(1);
            EXPECT_TRUE(ch->try_send(1));  // full: the next send waits
            return ch;
        },
        [](channel<int>* ch, bool& done) -> task<void> {
            const expected<void> r = co_await ch->send(2);
            EXPECT_EQ(r.has_value() ? errc::ok : r.error(), errc::channel_closed);
            delete ch;  // closed, and its last user
            done = true;
        },
        [](channel<int>& ch) { ch.close(); });
}
