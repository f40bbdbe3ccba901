// SPDX-License-Identifier: Apache-2.0
// Description: the sim platform starts enclave threads that attach the region
// with their own geometry, run the program on each, serve ecalls and make
// ocalls on every channel, and stop cleanly.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> which_thread{"which_thread"};
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> ask_host_to_double{
    "ask_host_to_double"};
constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> host_double{"host_double"};

std::atomic<int> programs_run{0};

void program(platform::enclave_thread& t) {
    programs_run.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t index = t.index;
    t.host.serve(which_thread, [index](std::uint64_t x) { return x * 100 + index; });
    t.host.serve(ask_host_to_double, [&t](std::uint64_t x) -> task<expected<std::uint64_t>> {
        co_return co_await t.host.call(host_double, x);
    });
}

TEST(sim_enclave, every_thread_runs_the_program_and_serves_its_channel) {
    test::watchdog dog(std::chrono::seconds(120), "sim_enclave calls");
    programs_run = 0;
    platform::enclave_config config;
    config.enclave_threads = 3;
    config.ring_capacity = 1 << 14;
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    EXPECT_EQ(programs_run.load(), 3) << "create returns after every program registered";
    EXPECT_EQ((*e)->kind(), platform::platform_kind::sim);
    ASSERT_EQ((*e)->channels(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        auto ch = (*e)->open_channel(i);
        ch->endpoint().serve(host_double, [](std::uint64_t x) { return 2 * x; });
        auto r = async::sync_wait(ch->executor(), ch->endpoint().call(which_thread, 7));
        ASSERT_TRUE(r.has_value()) << to_string(r.error());
        EXPECT_EQ(*r, 700 + i) << "channel " << i << " reaches enclave thread " << i;
        auto d = async::sync_wait(ch->executor(), ch->endpoint().call(ask_host_to_double, 21));
        ASSERT_TRUE(d.has_value()) << to_string(d.error());
        EXPECT_EQ(*d, 42u);
    }
}

TEST(sim_enclave, rejects_bad_configs_and_unavailable_platforms) {
    platform::enclave_config config;
    config.enclave_threads = 0;
    EXPECT_EQ(platform::enclave::create(config, program).error(), errc::invalid_argument);
    config.enclave_threads = 1;
    config.ring_capacity = 1000;  // not a power of two
    EXPECT_EQ(platform::enclave::create(config, program).error(), errc::invalid_argument);
    config.ring_capacity = 1 << 12;
    EXPECT_EQ(platform::enclave::create(config, nullptr).error(), errc::invalid_argument);
}

TEST(sim_enclave, platform_from_environment) {
    ::unsetenv("AIRLOCK_PLATFORM");
    EXPECT_EQ(platform::platform_from_environment().value(), platform::platform_kind::sim);
    ::setenv("AIRLOCK_PLATFORM", "process", 1);
    EXPECT_EQ(platform::platform_from_environment().value(), platform::platform_kind::process);
    ::setenv("AIRLOCK_PLATFORM", "quantum", 1);
    EXPECT_EQ(platform::platform_from_environment().error(), errc::invalid_argument);
    ::unsetenv("AIRLOCK_PLATFORM");
}

}  // namespace
