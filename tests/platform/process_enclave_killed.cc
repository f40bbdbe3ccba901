// SPDX-License-Identifier: Apache-2.0
// Description: SIGKILL of the enclave process while host calls wait for it
// turns every waiting call, and every later one, into an error; the
// enclave reports that it was killed, and the measured transition fails
// too. Nothing waits for a reply that cannot come.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> answer_much_later{
    "answer_much_later"};
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> echo{"echo"};

void program(platform::enclave_thread& t) {
    // Never answers in the life of the test: the calls wait until the kill.
    t.host.serve(answer_much_later, [&t](std::uint64_t x) -> task<expected<std::uint64_t>> {
        (void)co_await t.executor.sleep_for(std::uint64_t{3600} * 1'000'000'000);
        co_return x;
    });
    t.host.serve(echo, [](std::uint64_t x) { return x; });
}

TEST(process_enclave_killed, waiting_calls_fail_with_an_error) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(::airlock::platform::platform_kind::process);
    auto e = platform::enclave::create(test::process_config(), program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60), "calls waiting on a killed enclave");
    auto ch = (*e)->open_channel(0);
    auto& ex = ch->executor();
    auto& ep = ch->endpoint();
    ASSERT_TRUE(async::sync_wait(ex, ep.call(echo, 1)).has_value());
    const int pid = (*e)->process_id();
    ASSERT_GT(pid, 0);

    constexpr int waiting = 8;
    int failed = 0;
    int finished = 0;
    for (int i = 0; i < waiting; ++i) {
        ex.spawn([](platform::host_channel& h, int& fails, int& fin) -> task<void> {
            auto r = co_await h.endpoint().call(answer_much_later, 7);
            if (!r && r.error() == errc::rpc_channel_faulted) ++fails;
            ++fin;
        }(*ch, failed, finished));
    }
    // Let every call reach the enclave (its echo reply comes after them in
    // ring order), then kill it from the host.
    ASSERT_TRUE(async::sync_wait(ex, ep.call(echo, 2)).has_value());
    EXPECT_EQ(ep.outstanding_calls(), std::size_t{waiting});
    ASSERT_EQ(::kill(pid, SIGKILL), 0);

    ex.run_until([&] { return finished == waiting; });
    EXPECT_EQ(failed, waiting) << "every waiting call resumed with rpc_channel_faulted";
    EXPECT_EQ(ep.ring_fault(), errc::enclave_died) << to_string(ep.ring_fault());
    EXPECT_EQ(ep.outstanding_calls(), 0u);
    EXPECT_EQ((*e)->failure(), errc::enclave_died);
    const std::string why = (*e)->diagnostic();
    EXPECT_NE(why.find("killed by signal 9"), std::string::npos) << why;

    auto later = async::sync_wait(ex, ep.call(echo, 3));
    ASSERT_FALSE(later.has_value());
    EXPECT_EQ(later.error(), errc::rpc_channel_faulted);
    auto t = (*e)->transition_round_trip(1);
    ASSERT_FALSE(t.has_value());
    EXPECT_EQ(t.error(), errc::enclave_died);
    // A channel opened after the death fails its calls at once.
    ch.reset();
    auto again = (*e)->open_channel(0);
    auto r = async::sync_wait(again->executor(), again->endpoint().call(echo, 4));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::rpc_channel_faulted);
}

TEST(process_enclave_killed, a_kill_during_a_call_the_enclave_is_serving_fails_it) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(::airlock::platform::platform_kind::process);
    auto e = platform::enclave::create(test::process_config(), program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60), "call from a killed enclave's handler");
    auto ch = (*e)->open_channel(0);
    const int pid = (*e)->process_id();
    // The host is asked for nothing here: it kills the enclave in the middle
    // of one of its own calls.
    auto waiting = ch->endpoint().call(answer_much_later, 9);
    ch->executor().spawn([](int p) -> task<void> {
        ::kill(p, SIGKILL);
        co_return;
    }(pid));
    auto r = async::sync_wait(ch->executor(), std::move(waiting));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::rpc_channel_faulted);
}

}  // namespace
