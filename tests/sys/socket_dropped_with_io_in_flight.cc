// SPDX-License-Identifier: Apache-2.0
// Description: a socket destroyed (or moved) while its receive ahead is in
// flight and bytes are still queued behind it is safe: the queued bytes
// still reach the peer, in order, then the end of the stream; the late
// completions land in memory the socket no longer owns but that still lives
// (run under ASan), and the client ends with nothing in flight (sim and
// process).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <vector>

#include "airlock/sys/socket.hh"
#include "enclave_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using platform::platform_kind;

constexpr std::uint64_t seed = 31;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> connect_out{"connect_out"};
// Moves the socket to another owner, then drops the old one.
constexpr rpc::enclave_method<2, std::uint64_t()> move_socket{"move_socket"};
// Queues `total` bytes of the stream, then destroys the socket at once;
// returns the bytes still unflushed when it went.
constexpr rpc::enclave_method<3, std::uint64_t(std::uint64_t)> send_and_drop{"send_and_drop"};
constexpr rpc::enclave_method<4, std::uint64_t()> received_ahead{"received_ahead"};
// Requests in flight (high 32 bits) and eager ones (low 32).
constexpr rpc::enclave_method<5, std::uint64_t()> in_flight{"in_flight"};

struct state {
    std::optional<sys::socket> s;
    std::optional<sys::socket> moved;
};

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t, 0, {.streams = {.write_behind_bytes = 8192}});
    auto st_owner = std::make_shared<state>();
    t.keep_alive->push_back(st_owner);
    state* st = st_owner.get();
    t.host.serve(connect_out, [&c, st](std::uint64_t port) -> task<expected<std::uint64_t>> {
        auto s = co_await sys::socket::connect(
            c, sys::address::ipv4_loopback(static_cast<std::uint16_t>(port)));
        if (!s) co_return unexpected(s.error().code);
        st->s = std::move(*s);
        co_return 0;
    });
    t.host.serve(move_socket, [st] {
        st->moved = std::move(*st->s);
        st->s.reset();
        return std::uint64_t{st->moved->is_open() ? 1u : 0u};
    });
    t.host.serve(received_ahead,
                 [st] { return std::uint64_t{st->moved ? st->moved->received_ahead() : 0}; });
    t.host.serve(send_and_drop, [st](std::uint64_t total) -> task<expected<std::uint64_t>> {
        sys::socket& s = *st->moved;
        std::vector<std::byte> all(total);
        for (std::size_t i = 0; i < total; ++i)
            all[i] = test::stream_byte(seed, i);
        auto sent = co_await s.send_all(all);
        if (!sent) co_return unexpected(sent.error().code);
        const std::uint64_t left = s.unflushed();
        st->moved.reset();  // a receive in flight, bytes queued, bytes received unread
        co_return left;
    });
    t.host.serve(in_flight, [&c] {
        return std::uint64_t{c.in_flight()} << 32 | std::uint64_t{c.eager_in_flight()};
    });
}

class sys_socket_dropped : public test::sys_stream_test<program> {};

TEST_P(sys_socket_dropped, queued_bytes_still_go_then_the_stream_ends) {
    test::watchdog dog(std::chrono::seconds(120), "sys_socket_dropped");
    connect(connect_out);
    // Bytes the program will never read wait in its receive-ahead buffer.
    const char unread[] = "never read";
    ASSERT_EQ(::write(peer, unread, sizeof unread), static_cast<ssize_t>(sizeof unread));
    ASSERT_EQ(call(move_socket), 1u) << "the moved socket is open";
    ASSERT_TRUE(test::eventually([&] { return call(received_ahead) == sizeof unread; }));

    constexpr std::uint64_t total = std::uint64_t{1} << 20;
    std::uint64_t got = 0, bad = ~std::uint64_t{0};
    std::thread reader([&] {
        std::vector<std::byte> buf(4096);
        for (;;) {
            const ssize_t n = ::read(peer, buf.data(), buf.size());
            if (n <= 0) return;
            for (ssize_t i = 0; i < n; ++i)
                if (bad == ~std::uint64_t{0} && buf[i] != test::stream_byte(seed, got + i))
                    bad = got + i;
            got += static_cast<std::uint64_t>(n);
        }
    });
    const std::uint64_t left = call(send_and_drop, total);
    reader.join();  // ends at the end of the stream: the close after the queue
    EXPECT_LE(left, 8192u);
    EXPECT_EQ(got, total) << "every queued byte, then the end";
    EXPECT_EQ(bad, ~std::uint64_t{0}) << "first differing byte";
    // The receive ahead ended with the close; nothing stays in flight.
    EXPECT_TRUE(test::eventually([&] { return call(in_flight) == 0; }))
        << std::hex << call(in_flight);
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_socket_dropped);

}  // namespace
