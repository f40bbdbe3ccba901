// SPDX-License-Identifier: Apache-2.0
// Description: enclave code listens, accepts and echoes over loopback TCP
// (IPv4 and IPv6), and connects out to a host server, through the sys link
// and the host's io_uring service, on sim and on the sealed process platform.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/service.hh"
#include "airlock/sys/socket.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using platform::platform_kind;

// Starts an echo server in the enclave; returns its port.
constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> start_echo{"start_echo"};
// Connects to the host at `port`, sends a greeting, returns the reply's length.
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> greet_host{"greet_host"};
// 1 when a second attach on the thread returned the same client.
constexpr rpc::enclave_method<3, std::uint64_t()> attached_once{"attached_once"};

task<void> echo_connection(sys::socket s) {
    std::array<std::byte, 4096> buf{};
    for (;;) {
        auto n = co_await s.recv(buf);
        if (!n || *n == 0) co_return;
        if (!co_await s.send_all({buf.data(), *n})) co_return;
    }
}

task<void> accept_loop(async::executor& ex, sys::listener l) {
    for (;;) {
        auto s = co_await l.accept();
        if (!s) co_return;
        ex.spawn(echo_connection(std::move(*s)));
    }
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    const bool same = &sys::client::attach(t) == &c;
    t.host.serve(attached_once, [same] { return std::uint64_t{same ? 1u : 0u}; });
    auto& ex = t.executor;
    t.host.serve(start_echo, [&c, &ex](std::uint64_t v6) -> task<expected<std::uint64_t>> {
        auto at = v6 != 0 ? sys::address::ipv6_loopback(0) : sys::address::ipv4_loopback(0);
        auto l = co_await sys::listener::listen(c, at);
        if (!l) co_return unexpected(l.error().code);
        auto local = co_await l->local_address();
        if (!local) co_return unexpected(local.error().code);
        ex.spawn(accept_loop(ex, std::move(*l)));
        co_return local->port();
    });
    t.host.serve(greet_host, [&c](std::uint64_t port) -> task<expected<std::uint64_t>> {
        auto s = co_await sys::socket::connect(
            c, sys::address::ipv4_loopback(static_cast<std::uint16_t>(port)), {.no_delay = true});
        if (!s) co_return unexpected(s.error().code);
        const std::string hello = "hello from the enclave";
        if (!co_await s->send_all(std::as_bytes(std::span(hello))))
            co_return unexpected(errc::sys_errno);
        std::array<std::byte, 256> buf{};
        std::size_t got = 0;
        for (;;) {
            auto n = co_await s->recv(std::span(buf).subspan(got));
            if (!n) co_return unexpected(n.error().code);
            if (*n == 0) break;
            got += *n;
        }
        co_return got;
    });
}

int connect_host(int family, std::uint16_t port) {
    const int fd = ::socket(family, SOCK_STREAM, 0);
    if (family == AF_INET) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return -1;
    } else {
        sockaddr_in6 sa{};
        sa.sin6_family = AF_INET6;
        sa.sin6_port = htons(port);
        sa.sin6_addr = in6addr_loopback;
        if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return -1;
    }
    return fd;
}

class sys_echo : public ::testing::TestWithParam<platform_kind> {};

TEST_P(sys_echo, the_enclave_echoes_over_loopback_ipv4_and_ipv6) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config = test::process_config(1);
    config.platform = GetParam();
    config.service_links = 1;
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60), "sys_echo");
    auto svc = sys::service::start_for(**e);
    ASSERT_TRUE(svc.has_value()) << to_string(svc.error());
    auto ch = (*e)->open_channel(0);
    auto once = async::sync_wait(ch->executor(), ch->endpoint().call(attached_once));
    ASSERT_TRUE(once.has_value());
    EXPECT_EQ(*once, 1u) << "attach returns the thread's one client of a link";
    for (const int family : {AF_INET, AF_INET6}) {
        auto port = async::sync_wait(ch->executor(),
                                     ch->endpoint().call(start_echo, family == AF_INET6 ? 1u : 0u));
        ASSERT_TRUE(port.has_value()) << to_string(port.error());
        ASSERT_NE(*port, 0u);
        for (int conn = 0; conn < 3; ++conn) {
            const int fd = connect_host(family, static_cast<std::uint16_t>(*port));
            ASSERT_GE(fd, 0) << std::strerror(errno);
            std::string sent;
            for (int i = 0; i < 200; ++i)
                sent += "message " + std::to_string(conn) + "/" + std::to_string(i) + ";";
            ASSERT_EQ(::write(fd, sent.data(), sent.size()), static_cast<ssize_t>(sent.size()));
            std::string got(sent.size(), '\0');
            std::size_t at = 0;
            while (at < got.size()) {
                const ssize_t n = ::read(fd, got.data() + at, got.size() - at);
                ASSERT_GT(n, 0);
                at += static_cast<std::size_t>(n);
            }
            EXPECT_EQ(got, sent);
            ::close(fd);
        }
    }
}

TEST_P(sys_echo, the_enclave_connects_out_to_a_host_server) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config = test::process_config(1);
    config.platform = GetParam();
    config.service_links = 1;
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60), "sys_echo connect");
    auto svc = sys::service::start_for(**e);
    ASSERT_TRUE(svc.has_value()) << to_string(svc.error());
    const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(lfd, 4), 0);
    socklen_t len = sizeof sa;
    ASSERT_EQ(getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
    std::thread server([lfd] {
        const int c = ::accept(lfd, nullptr, nullptr);
        char buf[256];
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n > 0) {
            std::string reply = "you said: " + std::string(buf, static_cast<std::size_t>(n));
            (void)::write(c, reply.data(), reply.size());
        }
        ::close(c);
    });
    auto ch = (*e)->open_channel(0);
    auto got =
        async::sync_wait(ch->executor(), ch->endpoint().call(greet_host, ntohs(sa.sin_port)));
    server.join();
    ::close(lfd);
    ASSERT_TRUE(got.has_value()) << to_string(got.error());
    EXPECT_EQ(*got, std::string("you said: hello from the enclave").size());
}

INSTANTIATE_TEST_SUITE_P(platforms, sys_echo,
                         ::testing::Values(platform_kind::sim, platform_kind::process),
                         [](const auto& p) {
                             return p.param == platform_kind::sim ? "sim" : "process";
                         });

}  // namespace
