// SPDX-License-Identifier: Apache-2.0
// Description: one enclave thread serves 1,000 concurrent loopback TCP
// connections (an accept loop and a receiving coroutine per connection, all
// in flight at once through one sys link), each echoed back intact, on sim
// and on the sealed process platform.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

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

constexpr std::size_t connections = 1000;
constexpr rpc::enclave_method<1, std::uint64_t()> start_echo{"start_echo"};

task<void> echo(sys::socket s) {
    std::array<std::byte, 256> buf{};
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
        ex.spawn(echo(std::move(*s)));
    }
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto& ex = t.executor;
    t.host.serve(start_echo, [&c, &ex]() -> task<expected<std::uint64_t>> {
        auto l =
            co_await sys::listener::listen(c, sys::address::ipv4_loopback(0), {.backlog = 2048});
        if (!l) co_return unexpected(l.error().code);
        auto local = co_await l->local_address();
        if (!local) co_return unexpected(local.error().code);
        ex.spawn(accept_loop(ex, std::move(*l)));
        co_return local->port();
    });
}

class sys_many : public ::testing::TestWithParam<platform_kind> {};

TEST_P(sys_many, one_enclave_thread_serves_a_thousand_connections) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config = test::process_config(1);
    config.platform = GetParam();
    config.service_links = 1;
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(120), "sys_many");
    auto svc = sys::service::start_for(**e);
    ASSERT_TRUE(svc.has_value()) << to_string(svc.error());
    auto ch = (*e)->open_channel(0);
    auto port = async::sync_wait(ch->executor(), ch->endpoint().call(start_echo));
    ASSERT_TRUE(port.has_value()) << to_string(port.error());

    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(*port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::vector<int> fds;
    for (std::size_t i = 0; i < connections; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0) << i;
        fds.push_back(fd);
    }
    // Every connection has a message in flight before any reply is read.
    for (std::size_t i = 0; i < connections; ++i) {
        const std::string m = "connection " + std::to_string(i) + ";";
        ASSERT_EQ(::write(fds[i], m.data(), m.size()), static_cast<ssize_t>(m.size()));
    }
    for (std::size_t i = 0; i < connections; ++i) {
        const std::string m = "connection " + std::to_string(i) + ";";
        std::string got(m.size(), '\0');
        std::size_t at = 0;
        while (at < got.size()) {
            const ssize_t n = ::read(fds[i], got.data() + at, got.size() - at);
            ASSERT_GT(n, 0) << "connection " << i;
            at += static_cast<std::size_t>(n);
        }
        ASSERT_EQ(got, m);
    }
    for (int fd : fds)
        ::close(fd);
    EXPECT_GE((*svc)->stats().requests, 3 * connections);
}

INSTANTIATE_TEST_SUITE_P(platforms, sys_many,
                         ::testing::Values(platform_kind::sim, platform_kind::process),
                         [](const auto& p) {
                             return p.param == platform_kind::sim ? "sim" : "process";
                         });

}  // namespace
