// SPDX-License-Identifier: Apache-2.0
// Description: the receive a socket posts ahead is checked like any call's:
// a host that answers it with more bytes than it asked faults the link and
// nothing reaches the program; an honest answer is handed out at most as
// many bytes as each recv asks, and the next receive asks only for the room
// left in the buffer.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

#include "airlock/sys/client.hh"
#include "airlock/sys/socket.hh"
#include "fake_host_link.hh"

namespace {

using namespace airlock;
using sys::wire::op;

constexpr std::size_t capacity = std::size_t{1} << 17;
constexpr std::size_t ahead = 8192;  // stream_options' default receive_ahead_bytes

struct link_fixture : test::fake_host_link {
    link_fixture() : fake_host_link(capacity) {}

    // Connects a socket; returns the id of the receive it posted ahead.
    std::uint64_t connected_socket() {
        ex.spawn([](link_fixture& f) -> async::task<void> {
            auto s = co_await sys::socket::connect(f.client, sys::address::ipv4_loopback(9));
            if (s) f.socket = std::move(*s);
        }(*this));
        const request c = next_request();
        EXPECT_EQ(c.tag, static_cast<std::uint16_t>(op::connect));
        complete(c.id, 0, 0);
        EXPECT_TRUE(socket.has_value());
        const request r = next_request();
        EXPECT_EQ(r.tag, static_cast<std::uint16_t>(op::recv)) << "posted as soon as it exists";
        EXPECT_EQ(r.asked, ahead);
        return r.id;
    }
    // A recv of `n` bytes into a buffer with guard bytes after it.
    void recv(std::size_t n) {
        buffer.assign(n + 16, std::byte{0x5a});
        got.reset();
        ex.spawn([](link_fixture& f, std::size_t asked) -> async::task<void> {
            f.got = co_await f.socket->recv(std::span(f.buffer).first(asked));
        }(*this, n));
        run(4);
    }

    std::optional<sys::socket> socket;
    std::vector<std::byte> buffer;
    std::optional<sys::result<std::size_t>> got;
};

TEST(sys_eager_receive_hostile, more_bytes_than_the_receive_ahead_asked_fault_the_link) {
    link_fixture f;
    const std::uint64_t id = f.connected_socket();
    f.complete(id, static_cast<std::int64_t>(ahead + 1), ahead + 1);
    EXPECT_EQ(f.client.fault(), errc::sys_bad_result) << f.client.fault_reason();
    EXPECT_EQ(f.socket->received_ahead(), 0u);
    f.recv(16);
    ASSERT_TRUE(f.got.has_value()) << "the recv finished";
    ASSERT_FALSE(f.got->has_value());
    EXPECT_EQ(f.got->error().code, errc::sys_faulted);
    for (std::byte b : f.buffer)
        ASSERT_EQ(b, std::byte{0x5a}) << "nothing the host wrote reached the program";
}

TEST(sys_eager_receive_hostile, an_honest_answer_is_handed_out_at_most_as_asked) {
    link_fixture f;
    const std::uint64_t id = f.connected_socket();
    f.complete(id, 100, 100);
    EXPECT_EQ(f.client.fault(), errc::ok) << f.client.fault_reason();
    EXPECT_EQ(f.socket->received_ahead(), 100u);
    const auto again = f.next_request();
    EXPECT_EQ(again.tag, static_cast<std::uint16_t>(op::recv));
    EXPECT_EQ(again.asked, ahead - 100) << "only the room left";
    f.recv(10);
    ASSERT_TRUE(f.got.has_value() && f.got->has_value());
    EXPECT_EQ(**f.got, 10u);
    for (std::size_t i = 0; i < f.buffer.size(); ++i)
        ASSERT_EQ(f.buffer[i], i < 10 ? std::byte{0x77} : std::byte{0x5a}) << i;
    f.recv(1000);
    ASSERT_TRUE(f.got.has_value() && f.got->has_value());
    EXPECT_EQ(**f.got, 90u);
    EXPECT_EQ(f.socket->received_ahead(), 0u);
    // An answer larger than the room left faults too.
    f.complete(again.id, static_cast<std::int64_t>(ahead - 99), ahead - 99);
    EXPECT_EQ(f.client.fault(), errc::sys_bad_result);
}

}  // namespace
