// SPDX-License-Identifier: Apache-2.0
// Description: a host handler that hands blocking work to a host_worker_pool
// does not stall other calls on its channel: while its work blocks (until
// the test releases it) a second call on the same channel completes; the
// blocked handler then resumes on its channel's thread with the result; a
// full queue answers host_pool_full; work that throws answers host_work_failed.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <stdexcept>
#include <thread>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/platform/host_worker_pool.hh"

namespace {

using namespace airlock;
using airlock::async::task;

constexpr rpc::enclave_method<1, std::uint64_t()> slow_via_host{"slow_via_host"};
constexpr rpc::enclave_method<2, std::uint64_t()> fast_via_host{"fast_via_host"};
constexpr rpc::host_method<1, std::uint64_t()> slow{"slow"};
constexpr rpc::host_method<2, std::uint64_t()> fast{"fast"};

void program(platform::enclave_thread& t) {
    t.host.serve(slow_via_host,
                 [&t]() -> task<expected<std::uint64_t>> { co_return co_await t.host.call(slow); });
    t.host.serve(fast_via_host,
                 [&t]() -> task<expected<std::uint64_t>> { co_return co_await t.host.call(fast); });
}

TEST(host_worker_pool, blocking_work_does_not_stall_the_channel) {
    auto e = platform::enclave::create({}, &program);
    ASSERT_TRUE(e.has_value());
    platform::host_worker_pool pool(2);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::thread::id channel_thread = std::this_thread::get_id();
    bool resumed_on_channel_thread = false;
    {
        auto ch = (*e)->open_channel(0);
        ch->endpoint().serve(slow, [&]() -> task<expected<std::uint64_t>> {
            // Named before the co_await: gcc 12 destroys a lambda temporary
            // that owns something twice there (docs/coroutine-traps.md, 7).
            auto work = [released] {
                // Blocks until the fast call came back (bounded, so a stalled
                // channel fails the test instead of hanging it).
                return released.wait_for(std::chrono::seconds(30)) == std::future_status::ready
                           ? std::uint64_t{1}
                           : std::uint64_t{0};
            };
            auto r = co_await pool.run(std::move(work));
            resumed_on_channel_thread = std::this_thread::get_id() == channel_thread;
            co_return r;
        });
        ch->endpoint().serve(fast, [] { return std::uint64_t{2}; });
        auto slow_call = [&]() -> task<expected<std::uint64_t>> {
            co_return co_await ch->endpoint().call(slow_via_host);
        };
        auto fast_call = [&]() -> task<expected<std::uint64_t>> {
            auto r = co_await ch->endpoint().call(fast_via_host);
            release.set_value();  // only once the fast call got through
            co_return r;
        };
        auto [s, f] = async::sync_wait(ch->executor(), async::when_all(slow_call(), fast_call()));
        ASSERT_TRUE(f.has_value());
        EXPECT_EQ(*f, 2u);
        ASSERT_TRUE(s.has_value());
        EXPECT_EQ(*s, 1u) << "the blocking work was not released: the fast call stalled";
        EXPECT_TRUE(resumed_on_channel_thread);
    }
}

TEST(host_worker_pool, a_full_queue_and_a_throw_are_errors) {
    auto e = platform::enclave::create({}, &program);
    ASSERT_TRUE(e.has_value());
    platform::host_worker_pool pool(1, 1);
    auto ch = (*e)->open_channel(0);  // an executor on this thread
    auto throws = async::sync_wait(ch->executor(), [&]() -> task<expected<int>> {
        co_return co_await pool.run([]() -> int { throw std::runtime_error("no"); });
    }());
    ASSERT_FALSE(throws.has_value());
    EXPECT_EQ(throws.error(), errc::host_work_failed);
    // The one worker busy, the one queue place taken: the queue is full.
    // Both futures are taken before the work starts: the promises die with
    // this test body, possibly before the worker gets to them.
    std::promise<void> started;
    std::promise<void> release;
    std::future<void> has_started = started.get_future();
    std::shared_future<void> released = release.get_future().share();
    ASSERT_TRUE(pool.try_submit([&started, released] {
        started.set_value();
        released.wait();
    }));
    has_started.wait();
    ASSERT_TRUE(pool.try_submit([] {}));
    auto full = async::sync_wait(ch->executor(), [&]() -> task<expected<int>> {
        co_return co_await pool.run([] { return 3; });
    }());
    ASSERT_FALSE(full.has_value());
    EXPECT_EQ(full.error(), errc::host_pool_full);
    release.set_value();
}

}  // namespace
