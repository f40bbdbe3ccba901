// SPDX-License-Identifier: Apache-2.0
// Description: sys::poll on the transition transport, on both platforms:
// with nothing ready a poll that only asks returns 0; a connection waiting
// makes the listener readable; bytes sent make the socket readable and
// writable; the peer's close makes it readable with 0 bytes to read; a
// handle the enclave closed is poll_nval at once; a poll with a timeout and
// nothing ready returns 0 after it. On the ring transport poll fails with
// sys_unsupported and sends nothing.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <optional>

#include "airlock/sys/listener.hh"
#include "airlock/sys/poll.hh"
#include "airlock/sys/socket.hh"
#include "enclave_fixture.hh"
#include "fake_host_link.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using std::chrono::milliseconds;
namespace wire = sys::wire;

// Listens on a loopback port; returns it.
constexpr rpc::enclave_method<1, std::uint64_t()> listen_here{"listen_here"};
// Polls the listener and the connection (when there is one) for `events`
// with `timeout_ms`; returns ready * 2^16 + listener's revents * 2^8 +
// the connection's revents.
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t, std::int64_t)> poll_both{"poll_both"};
constexpr rpc::enclave_method<3, std::uint64_t()> accept_one{"accept_one"};
// Receives what is there (poll said so); returns the byte count.
constexpr rpc::enclave_method<4, std::uint64_t()> recv_some{"recv_some"};
// Closes the connection, then polls its old handle; returns its revents.
constexpr rpc::enclave_method<5, std::uint64_t()> poll_closed{"poll_closed"};

struct state {
    std::optional<sys::listener> listener;
    std::optional<sys::socket> conn;
};

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t, 0, {.transport = sys::transport::transition});
    auto* st = new state;
    t.keep_alive->push_back(
        std::shared_ptr<void>(st, [](void* p) { delete static_cast<state*>(p); }));
    t.host.serve(listen_here, [&c, st]() -> task<expected<std::uint64_t>> {
        auto l = co_await sys::listener::listen(c, sys::address::ipv4_loopback(0));
        if (!l) co_return unexpected(l.error().code);
        auto local = co_await l->local_address();
        if (!local) co_return unexpected(local.error().code);
        st->listener.emplace(std::move(*l));
        co_return local->port();
    });
    t.host.serve(poll_both,
                 [&c, st](std::uint64_t events, std::int64_t ms) -> task<expected<std::uint64_t>> {
                     std::array<sys::poll_entry, 2> e{};
                     e[0] = {.target = st->listener->native_handle(), .events = wire::poll_in};
                     std::size_t n = 1;
                     if (st->conn) e[n++] = {.target = st->conn->native_handle(), .events = events};
                     auto r = co_await sys::poll(c, std::span(e.data(), n), milliseconds(ms));
                     if (!r) co_return unexpected(r.error().code);
                     co_return (*r << 16) | (e[0].revents << 8) | e[1].revents;
                 });
    t.host.serve(accept_one, [st]() -> task<expected<std::uint64_t>> {
        auto s = co_await st->listener->accept();
        if (!s) co_return unexpected(s.error().code);
        st->conn.emplace(std::move(*s));
        co_return 0;
    });
    t.host.serve(recv_some, [st]() -> task<expected<std::uint64_t>> {
        std::array<std::byte, 256> buf{};
        auto n = co_await st->conn->recv(buf);
        if (!n) co_return unexpected(n.error().code);
        co_return *n;
    });
    t.host.serve(poll_closed, [&c, st]() -> task<expected<std::uint64_t>> {
        const sys::handle old = st->conn->native_handle();
        (void)co_await st->conn->close();
        st->conn.reset();
        std::array<sys::poll_entry, 1> e{{{.target = old}}};
        auto r = co_await sys::poll(c, e, milliseconds(-1));
        if (!r || *r != 1) co_return unexpected(errc::invalid_argument);
        co_return e[0].revents;
    });
}

class transition_poll : public test::sys_enclave_test<program> {
  protected:
    std::uint64_t poll(std::uint64_t events, std::int64_t ms) {
        return call(poll_both, events, ms);
    }
};

TEST_P(transition_poll, readiness_follows_the_peer) {
    const auto port = static_cast<std::uint16_t>(call(listen_here));
    EXPECT_EQ(poll(0, 0), 0u) << "nothing is ready";
    EXPECT_EQ(poll(0, 20), 0u) << "nothing became ready within the timeout";
    const int fd = test::loopback_connect(port);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(poll(0, -1), (1u << 16) | (wire::poll_in << 8)) << "a connection waits";
    EXPECT_EQ(call(accept_one), 0u);
    EXPECT_EQ(poll(wire::poll_in, 0), 0u) << "the connection has nothing to read";
    ASSERT_EQ(::send(fd, "hello", 5, MSG_NOSIGNAL), 5);
    EXPECT_EQ(poll(wire::poll_in | wire::poll_out, -1),
              (1u << 16) | wire::poll_in | wire::poll_out);
    EXPECT_EQ(call(recv_some), 5u);
    ::close(fd);
    const std::uint64_t closed = poll(wire::poll_in, -1);
    EXPECT_EQ(closed >> 16, 1u);
    EXPECT_NE(closed & wire::poll_in, 0u) << "end of stream is readable";
    EXPECT_EQ(call(recv_some), 0u);
    EXPECT_EQ(call(poll_closed), wire::poll_nval);
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(transition_poll);

TEST(sys_poll, the_ring_transport_does_not_poll) {
    test::fake_host_link f(std::size_t{1} << 14);  // the ring transport
    std::array<sys::poll_entry, 1> entries{
        {{.target = *f.client.make_handle(sys::handle_kind::socket)}}};
    std::optional<sys::result<std::size_t>> polled;
    f.ex.spawn([](sys::client& c, std::span<sys::poll_entry> e,
                  std::optional<sys::result<std::size_t>>& r) -> task<void> {
        r = co_await sys::poll(c, e, milliseconds(0));
    }(f.client, entries, polled));
    f.ex.run_once();
    ASSERT_TRUE(polled.has_value());
    ASSERT_FALSE(polled->has_value());
    EXPECT_EQ(polled->error().code, errc::sys_unsupported);
    EXPECT_FALSE(f.take_request().has_value()) << "nothing reached the host";
}

}  // namespace
