// SPDX-License-Identifier: Apache-2.0
// Description: a channel closed and opened again, on another host thread,
// goes on where the last host channel stopped, on sim and process: every
// opening's first call is answered right (not with the last one's reply),
// pooled arguments and results cross every time, and the enclave's side of
// the channel never faults; opening a channel that is open is a bug caught
// at once. (A second opening used to start the host's
// rings at zero: the enclave never saw its first call, and it read the
// last opening's reply again.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/base/sanitizers.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using platform::platform_kind;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> times_ten_plus_calls{
    "times_ten_plus_calls"};
// A pooled argument and a pooled result (above the pool threshold).
constexpr rpc::enclave_method<2, std::vector<std::byte>(std::vector<std::byte>)> reversed{
    "reversed"};
constexpr rpc::enclave_method<3, std::uint64_t()> channel_fault{"channel_fault"};

void program(platform::enclave_thread& t) {
    // Adds the calls this thread served before this one: a call lost on
    // the way shows as a gap.
    t.host.serve(times_ten_plus_calls,
                 [&t](std::uint64_t x) { return 10 * x + t.host.stats().calls_served; });
    t.host.serve(reversed, [](std::vector<std::byte> v) {
        std::reverse(v.begin(), v.end());
        return v;
    });
    t.host.serve(channel_fault, [&t] { return static_cast<std::uint64_t>(t.host.ring_fault()); });
}

class reopened_channel : public ::testing::TestWithParam<platform_kind> {};

TEST_P(reopened_channel, goes_on_where_the_last_opening_stopped) {
    platform::enclave_config config = test::process_config(1);
    config.platform = GetParam();
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(120), "reopened_channel");
    std::vector<std::byte> bytes(20'000);
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<std::byte>(i * 7);
    std::vector<std::byte> want = bytes;
    std::reverse(want.begin(), want.end());

    std::uint64_t served = 0;  // calls the enclave served so far
    // Each opening on a thread of its own, one after another.
    for (std::uint64_t round = 1; round <= 6; ++round) {
        std::thread([&] {
            auto ch = (*e)->open_channel(0);
            auto& ex = ch->executor();
            auto r = async::sync_wait(ex, ch->endpoint().call(times_ten_plus_calls, round));
            ASSERT_TRUE(r.has_value()) << to_string(r.error());
            EXPECT_EQ(*r, 10 * round + served) << "opening " << round << "'s first call";
            auto back = async::sync_wait(ex, ch->endpoint().call(reversed, bytes));
            ASSERT_TRUE(back.has_value()) << to_string(back.error());
            EXPECT_TRUE(*back == want) << "opening " << round;
            served += 2;
            EXPECT_EQ(ch->endpoint().stats().replies_dropped, 0u);
            EXPECT_EQ(ch->endpoint().fault(), errc::ok) << to_string(ch->endpoint().ring_fault());
        }).join();
        if (::testing::Test::HasFatalFailure()) return;
    }
    auto ch = (*e)->open_channel(0);
    auto f = async::sync_wait(ch->executor(), ch->endpoint().call(channel_fault));
    ASSERT_TRUE(f.has_value()) << to_string(f.error());
    EXPECT_EQ(static_cast<errc>(*f), errc::ok) << "the enclave's side never faulted";
}

// ThreadSanitizer supports neither the forked, sandboxed enclave process
// nor death tests of a threaded program: under it only the sim half runs
// (a skip would fail the suite).
#if AIRLOCK_TSAN
const auto platforms = ::testing::Values(platform_kind::sim);
#else
const auto platforms = ::testing::Values(platform_kind::sim, platform_kind::process);

TEST(reopened_channel_death, a_channel_is_open_once_at_a_time) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH(
        {
            auto e = platform::enclave::create(platform::enclave_config{}, program);
            auto first = (*e)->open_channel(0);
            auto second = (*e)->open_channel(0);
        },
        "open once at a time");
}
#endif

INSTANTIATE_TEST_SUITE_P(platforms, reopened_channel, platforms,
                         [](const auto& p) { return test::platform_name(p.param); });

}  // namespace
