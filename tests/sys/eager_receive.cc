// SPDX-License-Identifier: Apache-2.0
// Description: a connected socket has a receive posted as soon as it exists:
// bytes the peer sends reach the enclave before it asks, a recv then takes
// them with no round trip and never more than it asked; a long stream read
// in seeded pieces through a small receive-ahead buffer arrives in order,
// nothing lost, then 0 at its end (sim and process).
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

constexpr std::uint64_t seed = 11;
constexpr std::size_t ahead_bytes = 1500;  // small: the buffer fills, wraps and refills

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> connect_out{"connect_out"};
constexpr rpc::enclave_method<2, std::uint64_t()> received_ahead{"received_ahead"};
// One recv of at most `n` bytes, checked against the stream; returns its count.
constexpr rpc::enclave_method<3, std::uint64_t(std::uint64_t)> take{"take"};
// Reads in seeded pieces to the end, checking every byte; returns the total.
constexpr rpc::enclave_method<4, std::uint64_t()> read_to_end{"read_to_end"};

struct state {
    std::optional<sys::socket> s;
    std::uint64_t at = 0;  // bytes of the stream taken so far
};

// One recv into a buffer of `n`; checks count and bytes.
task<expected<std::uint64_t>> take_once(state& st, std::size_t n) {
    std::vector<std::byte> buf(n + 16, std::byte{0x5a});
    auto got = co_await st.s->recv(std::span(buf).first(n));
    if (!got) co_return unexpected(got.error().code);
    if (*got > n) co_return unexpected(errc::sys_bad_result);  // more than asked
    for (std::size_t i = 0; i < *got; ++i)
        if (buf[i] != test::stream_byte(seed, st.at + i))
            co_return unexpected(errc::invalid_argument);
    for (std::size_t i = n; i < buf.size(); ++i)
        if (buf[i] != std::byte{0x5a}) co_return unexpected(errc::sys_bad_result);
    st.at += *got;
    co_return *got;
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(
        t, 0, {.streams = {.receive_ahead_bytes = ahead_bytes, .write_behind_bytes = 4096}});
    auto st_owner = std::make_shared<state>();
    t.keep_alive->push_back(st_owner);
    state* st = st_owner.get();
    t.host.serve(connect_out, [&c, st](std::uint64_t port) -> task<expected<std::uint64_t>> {
        auto s = co_await sys::socket::connect(
            c, sys::address::ipv4_loopback(static_cast<std::uint16_t>(port)));
        if (!s) co_return unexpected(s.error().code);
        st->s = std::move(*s);
        st->at = 0;
        co_return 0;
    });
    t.host.serve(received_ahead, [st] { return std::uint64_t{st->s->received_ahead()}; });
    t.host.serve(take, [st](std::uint64_t n) { return take_once(*st, n); });
    t.host.serve(read_to_end, [st]() -> task<expected<std::uint64_t>> {
        test::seeded sizes{seed * 3};
        for (;;) {
            // Mostly small pieces, now and then one larger than the buffer.
            const std::size_t n = sizes.next() % 8 == 0 ? 5000 : sizes.size(700);
            auto got = co_await take_once(*st, n);
            if (!got) co_return got;
            if (*got == 0) break;
        }
        auto again = co_await take_once(*st, 10);  // the end stays the end
        if (!again || *again != 0) co_return unexpected(errc::invalid_argument);
        co_return st->at;
    });
}

class sys_eager_receive : public test::sys_stream_test<program> {
  protected:
    void write_stream(std::uint64_t from, std::size_t n) const {
        std::vector<std::byte> b(n);
        for (std::size_t i = 0; i < n; ++i)
            b[i] = test::stream_byte(seed, from + i);
        ASSERT_EQ(::write(peer, b.data(), n), static_cast<ssize_t>(n));
    }
};

TEST_P(sys_eager_receive, bytes_arrive_before_the_recv_and_it_makes_no_round_trip) {
    test::watchdog dog(std::chrono::seconds(60), "sys_eager_receive");
    const std::uint64_t before = svc->stats().requests;
    connect(connect_out);
    write_stream(0, 100);
    // Nobody called recv: the receive posted with the socket brought them.
    ASSERT_TRUE(test::eventually([&] { return call(received_ahead) == 100; }));
    // connect, the receive posted ahead, and the next one posted at once.
    ASSERT_TRUE(test::eventually([&] { return svc->stats().requests == before + 3; }))
        << svc->stats().requests - before;
    EXPECT_EQ(call(take, 30), 30u) << "at most what was asked";
    EXPECT_EQ(call(take, 1000), 70u);
    EXPECT_EQ(svc->stats().requests, before + 3) << "the recvs were served in the enclave";
    EXPECT_EQ(call(received_ahead), 0u);
}

TEST_P(sys_eager_receive, a_long_stream_arrives_in_order_and_whole) {
    test::watchdog dog(std::chrono::seconds(120), "sys_eager_receive stream");
    connect(connect_out);
    constexpr std::size_t total = std::size_t{1} << 20;
    std::thread writer([this] {
        test::seeded sizes{seed * 5};
        for (std::size_t at = 0; at < total;) {
            const std::size_t n = std::min(total - at, sizes.size(30'000));
            write_stream(at, n);
            at += n;
        }
        ::shutdown(peer, SHUT_WR);
    });
    const std::uint64_t got = call(read_to_end);
    writer.join();
    EXPECT_EQ(got, total);
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_eager_receive);

}  // namespace
