// SPDX-License-Identifier: Apache-2.0
// Description: on sim, a stalled enclave thread becomes an error within a
// bound, with a reason, as on process: while a handler never returns, the
// waiting calls on its channel fail (rpc_channel_faulted, ring_fault()
// peer_stalled) and failure() says peer_stalled (that an idle enclave is
// not stalled is platform.liveness_check, on an injected clock). Calls have
// no deadline of their own.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> echo{"echo"};
constexpr rpc::enclave_method<2, void()> stall{"stall"};

// Released by the test so that the enclave thread can end (a sim enclave
// thread cannot be killed).
std::atomic<bool> released{false};

void program(platform::enclave_thread& t) {
    t.host.serve(echo, [](std::uint64_t x) { return x; });
    t.host.serve(stall, [] {
        while (!released.load(std::memory_order_acquire))
            std::this_thread::yield();  // its thread polls nothing meanwhile
    });
}

platform::enclave_config stall_config() {
    platform::enclave_config config;
    config.enclave_threads = 1;
    config.ring_capacity = 1 << 14;
    config.stall_timeout_ns = 1'000'000'000;  // long enough that a busy machine never looks stalled
    return config;
}

TEST(sim_stalled_enclave, a_handler_that_does_not_return_fails_the_calls_as_stalled) {
    const test::watchdog dog(std::chrono::seconds(60), "sim_stalled_enclave");
    released = false;
    auto e = platform::enclave::create(stall_config(), &program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    ASSERT_EQ((*e)->kind(), platform::platform_kind::sim);
    {
        auto ch = (*e)->open_channel(0);
        auto first = async::sync_wait(ch->executor(), ch->endpoint().call(echo, 1));
        ASSERT_TRUE(first.has_value());
        auto r = async::sync_wait(ch->executor(), ch->endpoint().call(stall));
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error(), errc::rpc_channel_faulted);
        EXPECT_EQ(ch->endpoint().ring_fault(), errc::peer_stalled);
        auto later = async::sync_wait(ch->executor(), ch->endpoint().call(echo, 2));
        EXPECT_FALSE(later.has_value()) << "a stalled channel stays failed";
    }
    EXPECT_EQ((*e)->failure(), errc::peer_stalled);
    EXPECT_NE((*e)->diagnostic().find("stalled"), std::string::npos) << (*e)->diagnostic();
    released = true;  // the enclave thread may end now
}

}  // namespace
