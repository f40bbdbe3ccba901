// SPDX-License-Identifier: Apache-2.0
// Description: two enclave listeners bind one port when both ask for
// reuse_port (SO_REUSEPORT), and the host accepts connections through
// either; without it the second bind fails with EADDRINUSE.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/service.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using platform::platform_kind;

// Listens on a loopback port, then again on the same port, both with
// reuse_port = `reuse`; serves 8 connections across both (each listener
// accepts what the kernel gives it). Returns 1 when the second listen worked
// and every connection was accepted, 2 when it failed with EADDRINUSE.
constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> listen_twice{"listen_twice"};
// The port the first listener bound (after listen_twice started it).
constexpr rpc::enclave_method<2, std::uint64_t()> bound_port{"bound_port"};

task<void> accept_all(sys::listener l) {
    for (;;) {
        auto s = co_await l.accept();
        if (!s) co_return;
        // Closing the socket answers the host's read with EOF.
    }
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto port = std::make_shared<std::uint64_t>(0);
    t.keep_alive->push_back(port);
    auto& ex = t.executor;
    t.host.serve(bound_port, [port] { return *port; });
    t.host.serve(listen_twice,
                 [&c, &ex, port](std::uint64_t reuse) -> task<expected<std::uint64_t>> {
                     const sys::listen_options o{.reuse_address = false, .reuse_port = reuse != 0};
                     auto a = co_await sys::listener::listen(c, sys::address::ipv4_loopback(0), o);
                     if (!a) co_return unexpected(a.error().code);
                     auto local = co_await a->local_address();
                     if (!local) co_return unexpected(local.error().code);
                     *port = local->port();
                     auto b = co_await sys::listener::listen(c, *local, o);
                     if (!b) {
                         if (b.error().is_errno(EADDRINUSE)) co_return 2u;
                         co_return unexpected(b.error().code);
                     }
                     ex.spawn(accept_all(std::move(*a)));
                     ex.spawn(accept_all(std::move(*b)));
                     co_return 1u;
                 });
}

// Connects to the loopback port and waits for the enclave to close the
// accepted socket: true when it did.
bool served(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    char b = 0;
    ok = ok && ::read(fd, &b, 1) == 0;
    ::close(fd);
    return ok;
}

class sys_reuse_port : public ::testing::TestWithParam<platform_kind> {};

TEST_P(sys_reuse_port, two_listeners_share_a_port_only_when_asked) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    for (const std::uint64_t reuse : {0u, 1u}) {
        platform::enclave_config config = test::process_config(1);
        config.platform = GetParam();
        config.service_links = 1;
        auto e = platform::enclave::create(config, program);
        ASSERT_TRUE(e.has_value()) << to_string(e.error());
        test::watchdog dog(std::chrono::seconds(60), "sys_reuse_port");
        auto svc = sys::service::start_for(**e);
        ASSERT_TRUE(svc.has_value()) << to_string(svc.error());
        auto ch = (*e)->open_channel(0);
        auto got = async::sync_wait(ch->executor(), ch->endpoint().call(listen_twice, reuse));
        ASSERT_TRUE(got.has_value()) << to_string(got.error());
        EXPECT_EQ(*got, reuse != 0 ? 1u : 2u);
        if (reuse != 0) {
            auto port = async::sync_wait(ch->executor(), ch->endpoint().call(bound_port));
            ASSERT_TRUE(port.has_value());
            for (int i = 0; i < 8; ++i)
                EXPECT_TRUE(served(static_cast<std::uint16_t>(*port))) << std::strerror(errno);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(platforms, sys_reuse_port,
                         ::testing::Values(platform_kind::sim, platform_kind::process),
                         [](const auto& p) {
                             return p.param == platform_kind::sim ? "sim" : "process";
                         });

}  // namespace
