// SPDX-License-Identifier: Apache-2.0
// Description: an enclave whose thread never returns to its executor (a
// handler in an endless loop) does not see the stop request; destroying it
// still returns, by killing the process after the grace period, and leaves
// no process behind.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cerrno>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> spin_for_ever{"spin_for_ever"};
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> echo{"echo"};
constexpr rpc::enclave_method<3, bool()> is_spinning{"is_spinning"};

// Enclave memory: set by the thread that spins, read by the other.
std::atomic<bool> spinning{false};

void program(platform::enclave_thread& t) {
    t.host.serve(spin_for_ever, [](std::uint64_t x) {
        spinning.store(true, std::memory_order_release);
        std::atomic<std::uint64_t> v{x};
        for (;;)
            v.fetch_add(1, std::memory_order_relaxed);
        return v.load();
    });
    t.host.serve(is_spinning, [] { return spinning.load(std::memory_order_acquire); });
    t.host.serve(echo, [](std::uint64_t x) { return x; });
}

TEST(process_hung_teardown, destroying_a_hung_enclave_kills_and_reaps_it) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(::airlock::platform::platform_kind::process);
    test::watchdog dog(std::chrono::seconds(60), "tearing down a hung enclave");
    platform::enclave_config config = test::process_config(2);
    config.stop_grace_ns = 200'000'000;
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    const int pid = (*e)->process_id();
    {
        // Enclave thread 0 gets stuck in a handler; thread 1 says when.
        auto ch = (*e)->open_channel(0);
        auto other = (*e)->open_channel(1);
        ASSERT_TRUE(async::sync_wait(ch->executor(), ch->endpoint().call(echo, 1)).has_value());
        ch->executor().spawn([](platform::host_channel& h) -> async::task<void> {
            (void)co_await h.endpoint().call(spin_for_ever, 1);
        }(*ch));
        (void)ch->executor().run_once();  // sends the call
        for (;;) {
            auto s = async::sync_wait(other->executor(), other->endpoint().call(is_spinning));
            ASSERT_TRUE(s.has_value()) << to_string(s.error());
            if (*s) break;
        }
    }
    EXPECT_EQ((*e)->failure(), errc::ok) << (*e)->diagnostic();
    e->reset();  // must return: stop request, grace, SIGKILL, reap
    errno = 0;
    EXPECT_EQ(::kill(pid, 0), -1) << "the enclave process is gone (reaped, not a zombie)";
    EXPECT_EQ(errno, ESRCH);
}

TEST(process_hung_teardown, a_healthy_enclave_stops_on_request) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(::airlock::platform::platform_kind::process);
    test::watchdog dog(std::chrono::seconds(60), "tearing down a healthy enclave");
    auto e = platform::enclave::create(test::process_config(2), program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    const int pid = (*e)->process_id();
    e->reset();
    errno = 0;
    EXPECT_EQ(::kill(pid, 0), -1);
    EXPECT_EQ(errno, ESRCH);
}

}  // namespace
