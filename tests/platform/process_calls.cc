// SPDX-License-Identifier: Apache-2.0
// Description: the same enclave program gives the same results on sim and
// process: every thread serves its channel, calls go both ways with values,
// strings, void and byte spans, coroutine handlers call the other side
// before answering, many calls are in flight at once; on process the
// enclave is another process and maps the region at another address.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <string>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using platform::platform_kind;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> which_thread{"which_thread"};
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> twice_plus_host{"twice_plus_host"};
constexpr rpc::enclave_method<3, std::string(std::string)> shout_through_host{"shout_through_host"};
constexpr rpc::enclave_method<4, std::uint64_t()> enclave_region_base{"enclave_region_base"};
constexpr rpc::enclave_method<5, std::uint64_t(std::span<const std::byte>)> enclave_byte_sum{
    "enclave_byte_sum"};
constexpr rpc::enclave_method<6, std::uint64_t()> notes_seen{"notes_seen"};
constexpr rpc::host_method<1, std::uint64_t(std::uint64_t, std::uint64_t)> add{"add"};
constexpr rpc::host_method<2, std::string(std::string_view)> shout{"shout"};
constexpr rpc::host_method<3, void(std::uint64_t)> note{"note"};

void program(platform::enclave_thread& t) {
    const std::uint64_t index = t.index;
    const auto base = reinterpret_cast<std::uint64_t>(t.region_base);
    t.host.serve(which_thread, [index](std::uint64_t x) { return x * 100 + index; });
    t.host.serve(twice_plus_host, [&t](std::uint64_t x) -> task<expected<std::uint64_t>> {
        auto from_host = co_await t.host.call(add, x, 1000);
        if (!from_host) co_return unexpected(from_host.error());
        auto noted = co_await t.host.call(note, x);
        if (!noted) co_return unexpected(noted.error());
        co_return 2 * x + *from_host;
    });
    t.host.serve(shout_through_host, [&t](std::string s) -> task<expected<std::string>> {
        co_return co_await t.host.call(shout, s);
    });
    t.host.serve(enclave_region_base, [base] { return base; });
    t.host.serve(enclave_byte_sum, [](std::vector<std::byte> v) {
        std::uint64_t sum = 0;
        for (std::byte b : v)
            sum += std::to_integer<std::uint64_t>(b);
        return sum;
    });
    t.host.serve(notes_seen, [] { return std::uint64_t{0}; });
}

class platform_calls : public ::testing::TestWithParam<platform_kind> {};

TEST_P(platform_calls, every_thread_serves_its_channel_and_calls_go_both_ways) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config = test::process_config(3);
    config.platform = GetParam();
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(120), "platform_calls");
    EXPECT_EQ((*e)->kind(), GetParam());
    ASSERT_EQ((*e)->channels(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        auto ch = (*e)->open_channel(i);
        std::uint64_t noted = 0;
        ch->endpoint().serve(add, [](std::uint64_t a, std::uint64_t b) { return a + b; });
        ch->endpoint().serve(shout, [](std::string s) {
            for (char& c : s)
                c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            return s;
        });
        ch->endpoint().serve(note, [&noted](std::uint64_t v) { noted = v; });
        auto& ex = ch->executor();
        auto& ep = ch->endpoint();

        auto r = async::sync_wait(ex, ep.call(which_thread, 7));
        ASSERT_TRUE(r.has_value()) << to_string(r.error());
        EXPECT_EQ(*r, 700 + i) << "channel " << i << " reaches enclave thread " << i;
        auto d = async::sync_wait(ex, ep.call(twice_plus_host, 5));
        ASSERT_TRUE(d.has_value()) << to_string(d.error());
        EXPECT_EQ(*d, 2 * 5 + 1005u);
        EXPECT_EQ(noted, 5u) << "a void ocall ran on the host";
        auto loud = async::sync_wait(ex, ep.call(shout_through_host, std::string("quiet please")));
        ASSERT_TRUE(loud.has_value()) << to_string(loud.error());
        EXPECT_EQ(*loud, "QUIET PLEASE");
        const std::vector<std::byte> bytes(3000, std::byte{3});
        auto s = async::sync_wait(ex, ep.call(enclave_byte_sum, std::span<const std::byte>(bytes)));
        ASSERT_TRUE(s.has_value()) << to_string(s.error());
        EXPECT_EQ(*s, 9000u);
    }
}

TEST_P(platform_calls, many_calls_in_flight_from_many_coroutines) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config = test::process_config(1);
    config.platform = GetParam();
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(120), "platform_calls in flight");
    auto ch = (*e)->open_channel(0);
    ch->endpoint().serve(add, [](std::uint64_t a, std::uint64_t b) { return a + b; });
    ch->endpoint().serve(note, [](std::uint64_t) {});
    constexpr int coroutines = 50;
    constexpr int calls_each = 40;
    std::uint64_t total = 0;
    int finished = 0;
    for (int c = 0; c < coroutines; ++c) {
        ch->executor().spawn([](platform::host_channel& h, int id, std::uint64_t& sum,
                                int& fin) -> task<void> {
            for (int i = 0; i < calls_each; ++i) {
                auto r = co_await h.endpoint().call(twice_plus_host, std::uint64_t(id * 100 + i));
                if (r) sum += *r;
            }
            ++fin;
        }(*ch, c, total, finished));
    }
    ch->executor().run_until([&] { return finished == coroutines; });
    std::uint64_t expect = 0;
    for (int c = 0; c < coroutines; ++c)
        for (int i = 0; i < calls_each; ++i)
            expect += 3 * std::uint64_t(c * 100 + i) + 1000;
    EXPECT_EQ(total, expect);
    EXPECT_EQ(ch->endpoint().outstanding_calls(), 0u);
}

TEST_P(platform_calls, the_region_is_mapped_where_each_side_chose) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config = test::process_config(1);
    config.platform = GetParam();
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60), "platform_calls region base");
    auto ch = (*e)->open_channel(0);
    auto base = async::sync_wait(ch->executor(), ch->endpoint().call(enclave_region_base));
    ASSERT_TRUE(base.has_value()) << to_string(base.error());
    const auto host_base = reinterpret_cast<std::uint64_t>((*e)->region_base());
    if (GetParam() == platform_kind::sim) {
        EXPECT_EQ(*base, host_base);
        EXPECT_EQ((*e)->process_id(), -1);
    } else {
        EXPECT_NE(*base, host_base) << "the enclave maps the region at an address of its own";
        EXPECT_GT((*e)->process_id(), 0);
        EXPECT_NE((*e)->process_id(), ::getpid());
        EXPECT_EQ((*e)->failure(), errc::ok);
    }
}

INSTANTIATE_TEST_SUITE_P(platforms, platform_calls,
                         ::testing::Values(platform_kind::sim, platform_kind::process),
                         [](const auto& p) { return test::platform_name(p.param); });

}  // namespace
