// SPDX-License-Identifier: Apache-2.0
// Description: a stalled enclave becomes an error within a bound, with a
// reason: a handler that never returns, or an enclave process stopped with
// SIGSTOP, fails the waiting call (rpc_channel_faulted, ring_fault()
// peer_stalled) and failure() says peer_stalled (that an idle enclave is not
// stalled is platform.liveness_check, on an injected clock). Process
// platform; calls have no deadline of their own.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> echo{"echo"};
constexpr rpc::enclave_method<2, void()> never_returns{"never_returns"};

void program(platform::enclave_thread& t) {
    t.host.serve(echo, [](std::uint64_t x) { return x; });
    t.host.serve(never_returns, [] {
        volatile std::uint64_t spin = 0;
        for (;;)
            spin = spin + 1;  // a deliberately stalled handler: its thread never polls again
    });
}

// True once every thread of `pid` is in the stopped state ('T' in its
// /proc stat): SIGSTOP is delivered to each thread on its own, so a thread
// that was running may still answer a call for a moment after kill returns.
bool all_threads_stopped(int pid) {
    const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator(tasks, ec)) {
        std::ifstream in(t.path() / "stat");
        std::string stat((std::istreambuf_iterator<char>(in)), {});
        const auto paren = stat.rfind(')');  // the name may hold spaces
        if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'T')
            return false;
    }
    return !ec;
}

platform::enclave_config stall_config() {
    platform::enclave_config config = test::process_config();
    config.stall_timeout_ns = 200'000'000;
    config.stop_grace_ns = 100'000'000;
    return config;
}

TEST(process_stalled_enclave, a_handler_that_never_returns_fails_the_call_as_stalled) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(platform::platform_kind::process);
    auto e = platform::enclave::create(stall_config(), &program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    {
        auto ch = (*e)->open_channel(0);
        auto first = async::sync_wait(ch->executor(), ch->endpoint().call(echo, 1));
        ASSERT_TRUE(first.has_value());
        auto r = async::sync_wait(ch->executor(), ch->endpoint().call(never_returns));
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error(), errc::rpc_channel_faulted);
        EXPECT_EQ(ch->endpoint().ring_fault(), errc::peer_stalled);
    }
    EXPECT_EQ((*e)->failure(), errc::peer_stalled);
    EXPECT_NE((*e)->diagnostic().find("stalled"), std::string::npos) << (*e)->diagnostic();
}

TEST(process_stalled_enclave, a_stopped_enclave_process_fails_the_call_as_stalled) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(platform::platform_kind::process);
    auto e = platform::enclave::create(stall_config(), &program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    {
        auto ch = (*e)->open_channel(0);
        ASSERT_EQ(::kill((*e)->process_id(), SIGSTOP), 0);
        test::watchdog dog(std::chrono::seconds(60), "SIGSTOP reaching every enclave thread");
        while (!all_threads_stopped((*e)->process_id()))
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        auto r = async::sync_wait(ch->executor(), ch->endpoint().call(echo, 2));
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(ch->endpoint().ring_fault(), errc::peer_stalled);
        // Later calls fail at once.
        auto later = async::sync_wait(ch->executor(), ch->endpoint().call(echo, 3));
        EXPECT_FALSE(later.has_value());
    }
    EXPECT_EQ((*e)->failure(), errc::peer_stalled);
    (void)::kill((*e)->process_id(), SIGCONT);
}

}  // namespace
