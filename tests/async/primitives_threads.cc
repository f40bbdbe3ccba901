// SPDX-License-Identifier: Apache-2.0
// Description: coroutines on several executors, each on its own thread,
// share an async_mutex (a counter it guards stays exact), an
// async_semaphore (never more holders than permits) and one channel into a
// single receiver (every value arrives once); wakes cross threads (run
// under TSan).
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "airlock/async/channel.hh"
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
