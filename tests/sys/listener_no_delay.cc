// SPDX-License-Identifier: Apache-2.0
// Description: listen_options::no_delay puts TCP_NODELAY on every
// connection the listener accepts (set once on the listener, which Linux
// passes on), so small replies leave at once; without it accepted
// connections keep Nagle's algorithm. Sim and process.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "airlock/sys/listener.hh"
#include "enclave_echo.hh"
#include "enclave_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;

// Listens on a free loopback port with no_delay = the argument, echoes
// whatever connects; returns the port.
constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> start_echo{"start_echo"};

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto& ex = t.executor;
    t.host.serve(start_echo, [&c, &ex](std::uint64_t no_delay) -> task<expected<std::uint64_t>> {
        auto l = co_await sys::listener::listen(c, sys::address::ipv4_loopback(0),
                                                {.no_delay = no_delay != 0});
        if (!l) co_return unexpected(l.error().code);
        auto local = co_await l->local_address();
        if (!local) co_return unexpected(local.error().code);
        ex.spawn(test::accept_and_echo(ex, std::move(*l)));
        co_return local->port();
    });
}

// TCP_NODELAY of the host service's end of the connection to `port` whose
// peer is local port `peer_port` (the service runs in this process on both
// platforms), or -1 when no such descriptor is found.
int service_side_no_delay(std::uint16_t port, std::uint16_t peer_port) {
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
        const int fd = std::stoi(e.path().filename().string());
        sockaddr_in local{}, peer{};
        socklen_t n = sizeof local, m = sizeof peer;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &n) != 0 ||
            local.sin_family != AF_INET || ntohs(local.sin_port) != port ||
            ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &m) != 0 ||
            ntohs(peer.sin_port) != peer_port)
            continue;
        int v = -1;
        socklen_t len = sizeof v;
        if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len) != 0) return -1;
        return v != 0 ? 1 : 0;
    }
    return -1;
}

using sys_listener_no_delay = test::sys_enclave_test<program>;

TEST_P(sys_listener_no_delay, accepted_connections_get_tcp_nodelay_when_asked) {
    test::watchdog dog(std::chrono::seconds(60), "sys_listener_no_delay");
    for (const int asked : {1, 0}) {
        const auto port = static_cast<std::uint16_t>(call(start_echo, std::uint64_t(asked)));
        ASSERT_NE(port, 0u);
        const int fd = test::loopback_connect(port);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, "ping", 4), 4);
        ASSERT_EQ(test::read_exactly(fd, 4), "ping") << "the enclave accepted and echoed";
        sockaddr_in me{};
        socklen_t n = sizeof me;
        ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&me), &n), 0);
        EXPECT_EQ(service_side_no_delay(port, ntohs(me.sin_port)), asked) << "no_delay " << asked;
        ::close(fd);
    }
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_listener_no_delay);

}  // namespace
