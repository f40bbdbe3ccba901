// SPDX-License-Identifier: Apache-2.0
// Description: tokens are safe to copy and outlive their source; a token
// cancelled on another thread resumes the sleeps, locks and waits that
// observe it, each on its own executor's thread; a registration removed
// while its callback runs elsewhere waits for it; std::stop_token works
// both ways (run under TSan).
#include <atomic>
#include <stop_token>
#include <thread>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/event.hh"
#include "airlock/async/scope.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/platform/futex_wait.hh"
#include "async/async_support.hh"
#include "support/region_fixture.hh"

using namespace airlock;
using namespace airlock::async;

TEST(cancellation_threads, a_token_outlives_its_source) {
    cancellation_token t;
    {
        cancellation_source s;
        t = s.token();
        EXPECT_TRUE(t.can_be_cancelled());
    }
    EXPECT_FALSE(t.can_be_cancelled()) << "no source is left to cancel it";
    EXPECT_FALSE(t.is_cancellation_requested());
    cancellation_token requested;
    {
        cancellation_source s;
        requested = s.token();
        s.request_cancellation();
    }
    EXPECT_TRUE(requested.is_cancellation_requested()) << "a request stays visible";
}

TEST(cancellation_threads, a_cancel_from_another_thread_resumes_waits_on_their_executor) {
    test::watchdog dog(std::chrono::seconds(60), "cancellation_threads");
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();
    cancellation_source source;
    constexpr int executors = 3;
    constexpr int waits_each = 50;
    std::atomic<int> started{0};
    std::atomic<int> cancelled_on_owner{0};
    std::vector<std::thread> threads;
    for (int e = 0; e < executors; ++e) {
        threads.emplace_back([&] {
            ring::wire::doorbell bell{};
            executor ex(bell, hooks);
            async_event never;
            async_scope scope(ex, source.token());
            for (int i = 0; i < waits_each; ++i) {
                scope.spawn([](executor& self, async_event& ev, std::atomic<int>& count,
                               bool sleep) -> task<void> {
                    expected<void> r;
                    if (sleep)
                        r = co_await self.sleep_for(60'000'000'000);
                    else
                        r = co_await ev.wait();
                    if (!r && r.error() == errc::cancelled && self.is_owner_thread())
                        count.fetch_add(1);
                }(ex, never, cancelled_on_owner, i % 2 == 0));
            }
            ex.run_once();
            started.fetch_add(1);
            sync_wait(ex, [](async_scope& s) -> task<void> { co_await s.join(); }(scope));
        });
    }
    while (started.load() < executors)
        std::this_thread::yield();
    source.request_cancellation();  // from this thread, which owns none of them
    for (std::thread& t : threads)
        t.join();
    EXPECT_EQ(cancelled_on_owner.load(), executors * waits_each);
}

TEST(cancellation_threads, deregistering_waits_for_a_callback_running_elsewhere) {
    cancellation_source source;
    std::atomic<bool> in_callback{false};
    std::atomic<bool> release{false};
    std::atomic<bool> finished{false};
    struct context {
        std::atomic<bool>* in;
        std::atomic<bool>* release;
        std::atomic<bool>* finished;
    } ctx{&in_callback, &release, &finished};
    cancellation_registration r;
    ASSERT_TRUE(r.try_register(
        source.token(),
        [](void* p) noexcept {
            auto* c = static_cast<context*>(p);
            c->in->store(true);
            while (!c->release->load())
                std::this_thread::yield();
            c->finished->store(true);
        },
        &ctx));
    std::thread requester([&] { source.request_cancellation(); });
    while (!in_callback.load())
        std::this_thread::yield();
    std::thread releaser([&] {
        std::this_thread::yield();
        release.store(true);
    });
    r.deregister();  // must not return while the callback runs
    EXPECT_TRUE(finished.load());
    requester.join();
    releaser.join();
}

TEST(cancellation_threads, std_stop_tokens_work_both_ways) {
    std::stop_source std_source;
    linked_cancellation_source linked({}, {}, std_source.get_token());
    EXPECT_FALSE(linked.is_cancellation_requested());
    std_source.request_stop();
    EXPECT_TRUE(linked.is_cancellation_requested()) << "a std::stop_source cancels Airlock work";

    cancellation_source source;
    std_stop_bridge bridge(source.token());
    std::stop_token std_token = bridge.get_token();
    EXPECT_FALSE(std_token.stop_requested());
    source.request_cancellation();
    EXPECT_TRUE(std_token.stop_requested()) << "an Airlock token stops std::stop_token code";
}

TEST(cancellation_threads, tokens_copied_across_threads_observe_one_request) {
    cancellation_source source;
    std::atomic<int> seen{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([t = source.token(), &seen] {
            cancellation_token copy = t;
            while (!copy.is_cancellation_requested())
                std::this_thread::yield();
            seen.fetch_add(1);
        });
    }
    source.request_cancellation();
    for (std::thread& t : threads)
        t.join();
    EXPECT_EQ(seen.load(), 4);
}
