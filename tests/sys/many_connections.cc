// SPDX-License-Identifier: Apache-2.0
// Description: one enclave thread serves 1,000 concurrent loopback TCP
// connections (an accept loop and a receiving coroutine per connection, all
// in flight at once through one sys link), each echoed back intact, on sim
// and on the sealed process platform.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "airlock/sys/listener.hh"
#include "enclave_echo.hh"
#include "enclave_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;

constexpr std::size_t connections = 1000;
constexpr rpc::enclave_method<1, std::uint64_t()> start_echo{"start_echo"};

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto& ex = t.executor;
    t.host.serve(start_echo, [&c, &ex]() -> task<expected<std::uint64_t>> {
        auto l =
            co_await sys::listener::listen(c, sys::address::ipv4_loopback(0), {.backlog = 2048});
        if (!l) co_return unexpected(l.error().code);
        auto local = co_await l->local_address();
        if (!local) co_return unexpected(local.error().code);
        ex.spawn(test::accept_and_echo<256>(ex, std::move(*l)));
        co_return local->port();
    });
}

using sys_many = test::sys_enclave_test<program>;

TEST_P(sys_many, one_enclave_thread_serves_a_thousand_connections) {
    test::watchdog dog(std::chrono::seconds(120), "sys_many");
    const auto port = static_cast<std::uint16_t>(call(start_echo));
    std::vector<int> fds;
    for (std::size_t i = 0; i < connections; ++i) {
        fds.push_back(test::loopback_connect(port));
        ASSERT_GE(fds.back(), 0) << i;
    }
    // Every connection has a message in flight before any reply is read.
    for (std::size_t i = 0; i < connections; ++i) {
        const std::string m = "connection " + std::to_string(i) + ";";
        ASSERT_EQ(::write(fds[i], m.data(), m.size()), static_cast<ssize_t>(m.size()));
    }
    for (std::size_t i = 0; i < connections; ++i) {
        const std::string m = "connection " + std::to_string(i) + ";";
        ASSERT_EQ(test::read_exactly(fds[i], m.size()), m) << "connection " << i;
    }
    for (int fd : fds)
        ::close(fd);
    EXPECT_GE(svc->stats().requests, 3 * connections);
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_many);

}  // namespace
