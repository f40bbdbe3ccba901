// SPDX-License-Identifier: Apache-2.0
// Description: requests posted ahead never take more than their share of
// the client's request slots (max_eager_requests): with twelve connections
// and room for six eager requests, the sockets that find none receive on
// demand, every connection still echoes whole, and the program's own calls
// still get slots (sim and process).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "airlock/sys/listener.hh"
#include "enclave_echo.hh"
#include "enclave_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;

constexpr std::size_t connections = 12;
constexpr std::size_t max_eager = 6;
constexpr std::size_t max_requests = 32;

constexpr rpc::enclave_method<1, std::uint64_t()> start_echo{"start_echo"};
// A call of the program's own while every connection waits: its result,
// then requests in flight (high 32 bits) and eager ones (low 32).
constexpr rpc::enclave_method<2, std::uint64_t()> probe{"probe"};

struct state {
    std::optional<sys::listener> l;
};

void program(platform::enclave_thread& t) {
    sys::client& c =
        sys::client::attach(t, 0, {.max_requests = max_requests, .max_eager_requests = max_eager});
    auto st_owner = std::make_shared<state>();
    t.keep_alive->push_back(st_owner);
    state* st = st_owner.get();
    auto& ex = t.executor;
    t.host.serve(start_echo, [&c, &ex, st]() -> task<expected<std::uint64_t>> {
        auto l = co_await sys::listener::listen(c, sys::address::ipv4_loopback(0), {.backlog = 64});
        if (!l) co_return unexpected(l.error().code);
        auto local = co_await l->local_address();
        if (!local) co_return unexpected(local.error().code);
        st->l = std::move(*l);
        ex.spawn(test::accept_and_echo<256>(ex, &*st->l));
        co_return local->port();
    });
    t.host.serve(probe, [&c, st]() -> task<expected<std::uint64_t>> {
        auto local = co_await st->l->local_address();
        if (!local) co_return unexpected(local.error().code);
        co_return std::uint64_t{c.in_flight()} << 32 | std::uint64_t{c.eager_in_flight()};
    });
}

using sys_eager_bounds = test::sys_enclave_test<program>;

TEST_P(sys_eager_bounds, eager_requests_keep_to_their_share_of_the_slots) {
    test::watchdog dog(std::chrono::seconds(60), "sys_eager_bounds");
    const auto port = static_cast<std::uint16_t>(call(start_echo));
    std::vector<int> fds;
    for (std::size_t i = 0; i < connections; ++i) {
        fds.push_back(test::loopback_connect(port));
        ASSERT_GE(fds.back(), 0);
    }
    for (int round = 0; round < 3; ++round) {
        // Every connection has a message in flight before any reply is read.
        for (std::size_t i = 0; i < connections; ++i) {
            const std::string m =
                "round " + std::to_string(round) + " connection " + std::to_string(i);
            ASSERT_EQ(::write(fds[i], m.data(), m.size()), static_cast<ssize_t>(m.size()));
        }
        for (std::size_t i = 0; i < connections; ++i) {
            const std::string m =
                "round " + std::to_string(round) + " connection " + std::to_string(i);
            ASSERT_EQ(test::read_exactly(fds[i], m.size()), m) << "connection " << i;
        }
        const std::uint64_t p = call(probe);
        ASSERT_NE(p, ~std::uint64_t{0}) << "the program's own call found a slot";
        EXPECT_LE(p & 0xffffffffu, max_eager) << "eager requests in flight";
        EXPECT_LE(p >> 32, max_requests) << "requests in flight";
    }
    for (int fd : fds)
        ::close(fd);
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_eager_bounds);

}  // namespace
