// SPDX-License-Identifier: Apache-2.0
// Description: two executors on two threads with spawned coroutines hopping
// between them, torn down in either order while hops are still on their way:
// every coroutine frame is destroyed exactly once, by the executor that
// holds it, and nothing is resumed after its frame died (run under ASan and
// TSan).
#include <atomic>
#include <thread>

#include "airlock/async/executor.hh"
#include "airlock/platform/futex_wait.hh"
#include "async/async_support.hh"
#include "support/region_fixture.hh"

using namespace airlock;
using namespace airlock::async;
using airlock::test::counted;

namespace {

task<void> ping_pong(executor& a, executor& b, counted /*alive*/, std::atomic<int>& hops) {
    for (;;) {
        co_await b.schedule();
        hops.fetch_add(1, std::memory_order_relaxed);
        co_await a.schedule();
        hops.fetch_add(1, std::memory_order_relaxed);
    }
}

void run_and_tear_down(bool first_dies_first) {
    counted::reset();
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();
    std::atomic<executor*> ex1{nullptr};
    std::atomic<executor*> ex2{nullptr};
    std::atomic<int> hops{0};
    std::atomic<int> stopped{0};
    std::atomic<int> turn{0};  // which executor may be destroyed now (1 or 2)
    auto body = [&](int me, std::atomic<executor*>& mine, std::atomic<executor*>& other) {
        ring::wire::doorbell bell{};
        auto ex = std::make_unique<executor>(bell, hooks);
        mine.store(ex.get());
        executor* peer = nullptr;
        while ((peer = other.load()) == nullptr)
            std::this_thread::yield();
        for (int i = 0; i < 20; ++i)
            ex->spawn(ping_pong(*ex, *peer, counted{}, hops));
        ex->run_until([&] { return hops.load() > 2'000; });
        // Stop running (others may still hop here), then wait until both
        // have stopped: only then can nothing post to either.
        stopped.fetch_add(1);
        while (stopped.load() < 2)
            std::this_thread::yield();
        while (turn.load() != me)
            std::this_thread::yield();
        ex.reset();  // hops still queued here bring their coroutines home to die
        turn.store(me == 1 ? 2 : 1);
    };
    turn.store(first_dies_first ? 1 : 2);
    std::thread t1([&] { body(1, ex1, ex2); });
    std::thread t2([&] { body(2, ex2, ex1); });
    t1.join();
    t2.join();
    EXPECT_EQ(counted::alive(), 0) << "a coroutine frame was not destroyed";
    EXPECT_EQ(counted::constructed.load(), counted::destroyed.load());
}

}  // namespace

TEST(teardown_two_executors, the_first_then_the_second) {
    test::watchdog dog(std::chrono::seconds(120), "teardown_two_executors");
    run_and_tear_down(true);
}

TEST(teardown_two_executors, the_second_then_the_first) {
    test::watchdog dog(std::chrono::seconds(120), "teardown_two_executors");
    run_and_tear_down(false);
}
