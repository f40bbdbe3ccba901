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

#include "airlock/sys/listener.hh"
#include "airlock/sys/socket.hh"
#include "enclave_echo.hh"
#include "enclave_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;

// Starts an echo server in the enclave; returns its port.
constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> start_echo{"start_echo"};
// Connects to the host at `port`, sends a greeting, returns the reply's length.
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> greet_host{"greet_host"};
// 1 when a second attach on the thread returned the same client.
constexpr rpc::enclave_method<3, std::uint64_t()> attached_once{"attached_once"};

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
        ex.spawn(test::accept_and_echo(ex, std::move(*l)));
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
    if (family == AF_INET) return test::loopback_connect(port);
    const int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_addr = in6addr_loopback;
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

using sys_echo = test::sys_enclave_test<program>;

TEST_P(sys_echo, the_enclave_echoes_over_loopback_ipv4_and_ipv6) {
    test::watchdog dog(std::chrono::seconds(60), "sys_echo");
    EXPECT_EQ(call(attached_once), 1u) << "attach returns the thread's one client of a link";
    for (const int family : {AF_INET, AF_INET6}) {
        const auto port =
            static_cast<std::uint16_t>(call(start_echo, family == AF_INET6 ? 1u : 0u));
        ASSERT_NE(port, 0u);
        for (int conn = 0; conn < 3; ++conn) {
            const int fd = connect_host(family, port);
            ASSERT_GE(fd, 0) << std::strerror(errno);
            std::string sent;
            for (int i = 0; i < 200; ++i)
                sent += "message " + std::to_string(conn) + "/" + std::to_string(i) + ";";
            ASSERT_EQ(::write(fd, sent.data(), sent.size()), static_cast<ssize_t>(sent.size()));
            EXPECT_EQ(test::read_exactly(fd, sent.size()), sent);
            ::close(fd);
        }
    }
}

TEST_P(sys_echo, the_enclave_connects_out_to_a_host_server) {
    test::watchdog dog(std::chrono::seconds(60), "sys_echo connect");
    std::uint16_t port = 0;
    const int lfd = test::loopback_listener(port);
    ASSERT_GE(lfd, 0);
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
    auto got = try_call(greet_host, std::uint64_t{port});
    server.join();
    ::close(lfd);
    ASSERT_TRUE(got.has_value()) << to_string(got.error());
    EXPECT_EQ(*got, std::string("you said: hello from the enclave").size());
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_echo);

}  // namespace
