// SPDX-License-Identifier: Apache-2.0
// Description: on sim, the rpc default deadline (enclave_config::rpc's
// default_call_timeout_ns) bounds a call whose enclave handler never
// answers, even with the liveness check off: the call ends with
// deadline_exceeded, the handler is cancelled, and the channel goes on.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> echo{"echo"};
constexpr rpc::enclave_method<2, std::uint64_t()> never_answers{"never_answers"};
constexpr rpc::enclave_method<3, std::uint64_t()> handlers_cancelled{"handlers_cancelled"};

std::uint64_t cancelled_handlers = 0;  // the enclave thread's

void program(platform::enclave_thread& t) {
    t.host.serve(echo, [](std::uint64_t x) { return x; });
    t.host.serve(never_answers, [&ex = t.executor]() -> async::task<std::uint64_t> {
        // Sleeps for an hour: a cancellation point, so the host's cancel ends it.
        auto slept = co_await ex.sleep_for(3'600'000'000'000);
        if (!slept) ++cancelled_handlers;
        co_return 1;
    });
    t.host.serve(handlers_cancelled, [] { return cancelled_handlers; });
}

TEST(sim_default_deadline, bounds_a_call_the_enclave_never_answers) {
    const test::watchdog dog(std::chrono::seconds(60), "sim_default_deadline");
    cancelled_handlers = 0;
    platform::enclave_config config;
    config.enclave_threads = 1;
    config.ring_capacity = 1 << 14;
    config.stall_timeout_ns = 0;                       // no liveness check
    config.rpc.default_call_timeout_ns = 100'000'000;  // 100 ms
    auto e = platform::enclave::create(config, &program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    auto ch = (*e)->open_channel(0);
    auto r = async::sync_wait(ch->executor(), ch->endpoint().call(never_answers));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::deadline_exceeded);
    EXPECT_EQ(ch->endpoint().stats().calls_timed_out, 1u);
    // The later calls carry their own deadline, so that a busy machine
    // cannot make them outlast the short default.
    constexpr std::uint64_t own = 60'000'000'000;
    auto echoed = async::sync_wait(ch->executor(), ch->endpoint().call(echo, 7).with_timeout(own));
    ASSERT_TRUE(echoed.has_value()) << to_string(echoed.error());
    EXPECT_EQ(*echoed, 7u);
    // The cancel went in ahead of these calls; the handler it woke runs in
    // a later round of the enclave's executor than the one that took it.
    std::uint64_t n = 0;
    for (int i = 0; i < 1000 && n == 0; ++i) {
        auto got = async::sync_wait(ch->executor(),
                                    ch->endpoint().call(handlers_cancelled).with_timeout(own));
        ASSERT_TRUE(got.has_value()) << to_string(got.error());
        n = *got;
    }
    EXPECT_EQ(n, 1u) << "the enclave's handler was told the caller gave up";
    EXPECT_EQ((*e)->failure(), errc::ok);
}

}  // namespace
