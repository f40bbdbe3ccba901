// SPDX-License-Identifier: Apache-2.0
// Description: enclave code sends and receives UDP datagrams (and learns
// who sent them), and listens and connects on a Unix stream socket, through
// the sys link, on sim and on the sealed process platform.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/sys/datagram.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/service.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using platform::platform_kind;

// Returns 0, or the step that failed.
constexpr rpc::enclave_method<1, std::uint64_t()> udp_scenario{"udp_scenario"};
constexpr rpc::enclave_method<2, std::uint64_t(std::string)> unix_scenario{"unix_scenario"};

std::span<const std::byte> bytes(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

task<expected<std::uint64_t>> udp(sys::client& c) {
    auto a = co_await sys::datagram_socket::bind(c, sys::address::ipv4_loopback(0));
    auto b = co_await sys::datagram_socket::bind(c, sys::address::ipv4_loopback(0));
    if (!a || !b) co_return 1;
    auto a_at = co_await a->local_address();
    auto b_at = co_await b->local_address();
    if (!a_at || !b_at || a_at->port() == 0) co_return 2;
    auto sent = co_await a->send_to(bytes("datagram one"), *b_at);
    if (!sent || *sent != 12) co_return 3;
    std::array<std::byte, 64> buf{};
    sys::address from;
    auto got = co_await b->receive_from(buf, &from);
    if (!got || *got != 12 || std::memcmp(buf.data(), "datagram one", 12) != 0) co_return 4;
    if (from.port() != a_at->port()) co_return 5;
    // A datagram longer than asked is cut to what was asked.
    if (!co_await b->send_to(bytes("0123456789"), *a_at)) co_return 6;
    auto cut = co_await a->receive_from(std::span(buf).first(4));
    if (!cut || *cut != 4 || std::memcmp(buf.data(), "0123", 4) != 0) co_return 7;
    co_return 0;
}

task<expected<std::uint64_t>> unix_stream(sys::client& c, std::string path) {
    auto at = sys::address::unix_path(path);
    if (!at) co_return 1;
    auto l = co_await sys::listener::listen(c, *at);
    if (!l) co_return 2;
    auto client_side = co_await sys::socket::connect(c, *at);
    if (!client_side) co_return 3;
    auto server_side = co_await l->accept();
    if (!server_side) co_return 4;
    if (!co_await client_side->send_all(bytes("over unix"))) co_return 5;
    std::array<std::byte, 32> buf{};
    auto n = co_await server_side->recv(buf);
    if (!n || *n != 9 || std::memcmp(buf.data(), "over unix", 9) != 0) co_return 6;
    auto local = co_await l->local_address();
    if (!local || local->to_string() != "unix:" + path) co_return 7;
    co_return 0;
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    t.host.serve(udp_scenario, [&c] { return udp(c); });
    t.host.serve(unix_scenario, [&c](std::string p) { return unix_stream(c, std::move(p)); });
}

class sys_datagrams : public ::testing::TestWithParam<platform_kind> {};

TEST_P(sys_datagrams, udp_and_unix_sockets_work_from_the_enclave) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config = test::process_config(1);
    config.platform = GetParam();
    config.service_links = 1;
    char tmpl[] = "/tmp/airlock-sys-unix-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    {
        auto e = platform::enclave::create(config, program);
        ASSERT_TRUE(e.has_value()) << to_string(e.error());
        test::watchdog dog(std::chrono::seconds(60), "sys_datagrams");
        auto svc = sys::service::start_for(**e);
        ASSERT_TRUE(svc.has_value()) << to_string(svc.error());
        auto ch = (*e)->open_channel(0);
        auto u = async::sync_wait(ch->executor(), ch->endpoint().call(udp_scenario));
        ASSERT_TRUE(u.has_value()) << to_string(u.error());
        EXPECT_EQ(*u, 0u) << "the UDP step that failed";
        auto x = async::sync_wait(ch->executor(),
                                  ch->endpoint().call(unix_scenario, std::string(tmpl) + "/s"));
        ASSERT_TRUE(x.has_value()) << to_string(x.error());
        EXPECT_EQ(*x, 0u) << "the Unix step that failed";
    }
    std::filesystem::remove_all(tmpl);
}

INSTANTIATE_TEST_SUITE_P(platforms, sys_datagrams,
                         ::testing::Values(platform_kind::sim, platform_kind::process),
                         [](const auto& p) {
                             return p.param == platform_kind::sim ? "sim" : "process";
                         });

}  // namespace
