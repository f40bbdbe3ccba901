// SPDX-License-Identifier: Apache-2.0
// Description: send and writev return once their bytes are queued and the
// host writes them behind: a long stream sent in seeded pieces arrives in
// order with nothing lost, the unflushed bytes never pass the bound, a peer
// that stops reading holds the sender back at the bound (it waits, it does
// not grow), and flush and close wait until every byte went (sim and process).
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "airlock/async/deadline.hh"
#include "airlock/sys/socket.hh"
#include "enclave_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using platform::platform_kind;

constexpr std::uint64_t seed = 23;
constexpr std::size_t bound = 4096;  // write_behind_bytes

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> connect_out{"connect_out"};
// Sends `total` bytes of the stream in seeded pieces (some by writev), then
// flushes; returns the most bytes ever unflushed.
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> send_stream{"send_stream"};
// Sends until a send waits longer than a deadline (the peer stopped
// reading); returns the bytes queued.
constexpr rpc::enclave_method<3, std::uint64_t()> send_until_held{"send_until_held"};
constexpr rpc::enclave_method<4, std::uint64_t()> flush_and_close{"flush_and_close"};

struct state {
    std::optional<sys::socket> s;
    std::uint64_t at = 0;  // bytes of the stream queued so far
    std::vector<std::byte> piece;
};

// Queues the next `n` bytes of the stream once; returns how many went.
task<expected<std::uint64_t>> send_piece(async::executor& ex, state& st, std::size_t n,
                                         bool vectored, std::uint64_t timeout_ns) {
    st.piece.resize(n);
    for (std::size_t i = 0; i < n; ++i)
        st.piece[i] = test::stream_byte(seed, st.at + i);
    sys::result<std::size_t> went;
    if (vectored) {
        const std::span<const std::byte> all(st.piece);
        const std::size_t a = n / 3, b = n / 2;
        const std::span<const std::byte> parts[3] = {all.first(a), all.subspan(a, b - a),
                                                     all.subspan(b)};
        went = co_await async::with_timeout(ex, timeout_ns, st.s->writev(parts));
    } else {
        went = co_await async::with_timeout(ex, timeout_ns, st.s->send(st.piece));
    }
    if (!went) co_return unexpected(went.error().code);
    if (*went == 0 || *went > n) co_return unexpected(errc::sys_bad_result);
    if (st.s->unflushed() > bound) co_return unexpected(errc::invalid_argument);
    st.at += *went;
    co_return *went;
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t, 0, {.streams = {.write_behind_bytes = bound}});
    auto st_owner = std::make_shared<state>();
    t.keep_alive->push_back(st_owner);
    state* st = st_owner.get();
    auto& ex = t.executor;
    t.host.serve(connect_out, [&c, st](std::uint64_t port) -> task<expected<std::uint64_t>> {
        auto s = co_await sys::socket::connect(
            c, sys::address::ipv4_loopback(static_cast<std::uint16_t>(port)));
        if (!s) co_return unexpected(s.error().code);
        st->s = std::move(*s);
        st->at = 0;
        co_return 0;
    });
    t.host.serve(send_stream, [st, &ex](std::uint64_t total) -> task<expected<std::uint64_t>> {
        test::seeded sizes{seed * 7};
        std::uint64_t most = 0;
        while (st->at < total) {
            const std::size_t n = std::min<std::size_t>(total - st->at, sizes.size(9000));
            auto went =
                co_await send_piece(ex, *st, n, sizes.next() % 4 == 0, ~std::uint64_t{0} / 4);
            if (!went) co_return went;
            most = std::max<std::uint64_t>(most, st->s->unflushed());
        }
        if (!co_await st->s->flush()) co_return unexpected(errc::sys_errno);
        if (st->s->unflushed() != 0) co_return unexpected(errc::invalid_argument);
        co_return most;
    });
    t.host.serve(send_until_held, [st, &ex]() -> task<expected<std::uint64_t>> {
        test::seeded sizes{seed * 9};
        for (;;) {
            auto went = co_await send_piece(ex, *st, sizes.size(3000), false, 300'000'000);
            if (!went) {
                if (went.error() != errc::deadline_exceeded && went.error() != errc::cancelled)
                    co_return went;
                // Held back: the queue is at its bound, and no further.
                if (st->s->unflushed() == 0 || st->s->unflushed() > bound)
                    co_return unexpected(errc::invalid_argument);
                co_return st->at;
            }
        }
    });
    t.host.serve(flush_and_close, [st]() -> task<expected<std::uint64_t>> {
        auto f = co_await st->s->flush();
        if (!f) co_return unexpected(f.error().code);
        auto closed = co_await st->s->close();
        if (!closed) co_return unexpected(closed.error().code);
        co_return 0;
    });
}

class sys_write_behind : public test::sys_stream_test<program> {
  protected:
    // Reads `n` bytes (or to the end when n is 0); returns the count, and
    // the first byte that differs from the stream in `bad` (or n).
    std::uint64_t read_stream(std::uint64_t n, std::uint64_t& bad) const {
        std::vector<std::byte> buf(1000);
        std::uint64_t at = 0;
        bad = ~std::uint64_t{0};
        while (n == 0 || at < n) {
            const std::size_t want =
                n == 0 ? buf.size() : std::min<std::uint64_t>(buf.size(), n - at);
            const ssize_t r = ::read(peer, buf.data(), want);
            if (r <= 0) break;
            for (ssize_t i = 0; i < r; ++i)
                if (bad == ~std::uint64_t{0} && buf[i] != test::stream_byte(seed, at + i))
                    bad = at + i;
            at += static_cast<std::uint64_t>(r);
        }
        return at;
    }
};

TEST_P(sys_write_behind, a_long_stream_arrives_in_order_and_whole_within_the_bound) {
    test::watchdog dog(std::chrono::seconds(120), "sys_write_behind stream");
    connect(connect_out);
    constexpr std::uint64_t total = std::uint64_t{1} << 20;
    std::uint64_t got = 0, bad = 0;
    std::thread reader([&] { got = read_stream(0, bad); });  // to the end: close's FIN
    auto most = try_call(send_stream, total);
    ASSERT_TRUE(most.has_value()) << to_string(most.error());
    EXPECT_LE(*most, bound);
    auto closed = try_call(flush_and_close);
    reader.join();
    ASSERT_TRUE(closed.has_value()) << to_string(closed.error());
    EXPECT_EQ(got, total) << "every byte, then the end of the stream";
    EXPECT_EQ(bad, ~std::uint64_t{0}) << "first differing byte";
}

TEST_P(sys_write_behind, a_peer_that_stops_reading_holds_the_sender_at_the_bound) {
    test::watchdog dog(std::chrono::seconds(120), "sys_write_behind held");
    connect(connect_out);
    // The peer reads nothing: the kernel's buffers fill, then the queue.
    auto queued = try_call(send_until_held);
    ASSERT_TRUE(queued.has_value()) << to_string(queued.error());
    ASSERT_GT(*queued, 0u);
    std::uint64_t got = 0, bad = 0;
    std::thread reader([&] { got = read_stream(0, bad); });
    auto closed = try_call(flush_and_close);  // waits until the queue went
    reader.join();
    ASSERT_TRUE(closed.has_value()) << to_string(closed.error());
    EXPECT_EQ(got, *queued) << "exactly what send said it queued";
    EXPECT_EQ(bad, ~std::uint64_t{0}) << "first differing byte";
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_write_behind);

}  // namespace
