// SPDX-License-Identifier: Apache-2.0
// Description: requests posted ahead never take more than their share of
// the client's request slots (max_eager_requests): with twelve connections
// and room for six eager requests, the sockets that find none receive on
// demand, every connection still echoes whole, and the program's own calls
// still get slots (sim and process).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/service.hh"
#include "platform/process_support.hh"
#include "stream_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using platform::platform_kind;

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

task<void> echo(sys::socket s) {
    std::array<std::byte, 256> buf{};
    for (;;) {
        auto n = co_await s.recv(buf);
        if (!n || *n == 0) co_return;
        if (!co_await s.send_all({buf.data(), *n})) co_return;
    }
}

task<void> accept_loop(async::executor& ex, sys::listener* l) {
    for (;;) {
        auto s = co_await l->accept();
        if (!s) co_return;
        ex.spawn(echo(std::move(*s)));
    }
}

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
        ex.spawn(accept_loop(ex, &*st->l));
        co_return local->port();
    });
    t.host.serve(probe, [&c, st]() -> task<expected<std::uint64_t>> {
        auto local = co_await st->l->local_address();
        if (!local) co_return unexpected(local.error().code);
        co_return std::uint64_t{c.in_flight()} << 32 | std::uint64_t{c.eager_in_flight()};
    });
}

class sys_eager_bounds : public ::testing::TestWithParam<platform_kind> {};

TEST_P(sys_eager_bounds, eager_requests_keep_to_their_share_of_the_slots) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config = test::process_config(1);
    config.platform = GetParam();
    config.service_links = 1;
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60), "sys_eager_bounds");
    auto svc = sys::service::start_for(**e);
    ASSERT_TRUE(svc.has_value()) << to_string(svc.error());
    auto ch = (*e)->open_channel(0);
    auto call = [&](const auto& m) {
        auto r = async::sync_wait(ch->executor(), ch->endpoint().call(m));
        EXPECT_TRUE(r.has_value()) << to_string(r.error());
        return r ? *r : ~std::uint64_t{0};
    };
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
            std::string got(m.size(), '\0');
            for (std::size_t at = 0; at < got.size();) {
                const ssize_t n = ::read(fds[i], got.data() + at, got.size() - at);
                ASSERT_GT(n, 0) << "connection " << i;
                at += static_cast<std::size_t>(n);
            }
            ASSERT_EQ(got, m);
        }
        const std::uint64_t p = call(probe);
        ASSERT_NE(p, ~std::uint64_t{0}) << "the program's own call found a slot";
        EXPECT_LE(p & 0xffffffffu, max_eager) << "eager requests in flight";
        EXPECT_LE(p >> 32, max_requests) << "requests in flight";
    }
    for (int fd : fds)
        ::close(fd);
}

INSTANTIATE_TEST_SUITE_P(platforms, sys_eager_bounds,
                         ::testing::Values(platform_kind::sim, platform_kind::process),
                         [](const auto& p) {
                             return p.param == platform_kind::sim ? "sim" : "process";
                         });

}  // namespace
