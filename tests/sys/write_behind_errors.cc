// SPDX-License-Identifier: Apache-2.0
// Description: an error of a send the host made behind the program surfaces
// where promised: at flush, at the next call on the socket (send, recv,
// set_option), and at close, which still closes; it stays (sticky). A reset
// the receive ahead saw surfaces at the next send, flush and close as well
// (sim and process).
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <optional>

#include "airlock/sys/socket.hh"
#include "enclave_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using platform::platform_kind;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> connect_out{"connect_out"};
// Each case returns 0, or the number of the step that did not go as promised.
constexpr rpc::enclave_method<2, std::uint64_t()> error_at_flush{"error_at_flush"};
constexpr rpc::enclave_method<3, std::uint64_t()> error_at_next_send{"error_at_next_send"};
constexpr rpc::enclave_method<4, std::uint64_t()> reset_at_send{"reset_at_send"};

struct state {
    std::optional<sys::socket> s;
};

const std::array<std::byte, 100> bytes{};

bool is(const sys::result<void>& r, int e) {
    return !r && r.error().is_errno(e);
}
bool is(const sys::result<std::size_t>& r, int e) {
    return !r && r.error().is_errno(e);
}

// Every later call returns the kept error `e`; close too, and closes.
task<std::uint64_t> expect_kept(sys::socket& s, int e, std::uint64_t step) {
    if (!is(co_await s.send(bytes), e)) co_return step;
    std::array<std::byte, 16> buf{};
    if (!is(co_await s.recv(buf), e)) co_return step + 1;
    if (!is(co_await s.set_option(sys::wire::socket_option::no_delay, true), e)) co_return step + 2;
    if (!is(co_await s.flush(), e)) co_return step + 3;
    if (!is(co_await s.close(), e)) co_return step + 4;
    if (s.is_open()) co_return step + 5;
    co_return 0;
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto st_owner = std::make_shared<state>();
    t.keep_alive->push_back(st_owner);
    state* st = st_owner.get();
    auto& ex = t.executor;
    t.host.serve(connect_out, [&c, st](std::uint64_t port) -> task<expected<std::uint64_t>> {
        auto s = co_await sys::socket::connect(
            c, sys::address::ipv4_loopback(static_cast<std::uint16_t>(port)));
        if (!s) co_return unexpected(s.error().code);
        st->s = std::move(*s);
        co_return 0;
    });
    t.host.serve(error_at_flush, [st]() -> task<std::uint64_t> {
        sys::socket& s = *st->s;
        if (!co_await s.shutdown(sys::shutdown_how::write)) co_return 1;
        // Queued: the send says so; the host's send will fail (EPIPE).
        auto queued = co_await s.send(bytes);
        if (!queued || *queued != bytes.size()) co_return 2;
        if (!is(co_await s.flush(), EPIPE)) co_return 3;
        co_return co_await expect_kept(s, EPIPE, 10);
    });
    t.host.serve(error_at_next_send, [st, &ex]() -> task<std::uint64_t> {
        sys::socket& s = *st->s;
        if (!co_await s.shutdown(sys::shutdown_how::write)) co_return 1;
        auto queued = co_await s.send(bytes);
        if (!queued || *queued != bytes.size()) co_return 2;
        // Nothing is asked of the socket until its send has failed behind.
        for (int i = 0; i < 20'000 && s.unflushed() != 0; ++i)
            (void)co_await ex.sleep_for(1'000'000);
        if (s.unflushed() != 0) co_return 3;
        co_return co_await expect_kept(s, EPIPE, 10);
    });
    t.host.serve(reset_at_send, [st]() -> task<std::uint64_t> {
        sys::socket& s = *st->s;
        std::array<std::byte, 16> buf{};
        // The receive posted ahead meets the reset; recv reports it.
        if (!is(co_await s.recv(buf), ECONNRESET)) co_return 1;
        co_return co_await expect_kept(s, ECONNRESET, 10);
    });
}

class sys_write_behind_errors : public test::sys_stream_test<program> {
  protected:
    void ready() override {
        sys_stream_test::ready();
        connect(connect_out);
    }
};

TEST_P(sys_write_behind_errors, a_failed_send_behind_surfaces_at_flush_and_stays) {
    test::watchdog dog(std::chrono::seconds(60), "sys_write_behind_errors flush");
    EXPECT_EQ(call(error_at_flush), 0u) << "step that broke the promise";
}

TEST_P(sys_write_behind_errors, a_failed_send_behind_surfaces_at_the_next_call) {
    test::watchdog dog(std::chrono::seconds(60), "sys_write_behind_errors next call");
    EXPECT_EQ(call(error_at_next_send), 0u) << "step that broke the promise";
}

TEST_P(sys_write_behind_errors, a_reset_seen_ahead_surfaces_at_every_later_call) {
    test::watchdog dog(std::chrono::seconds(60), "sys_write_behind_errors reset");
    const linger l{.l_onoff = 1, .l_linger = 0};
    ASSERT_EQ(::setsockopt(peer, SOL_SOCKET, SO_LINGER, &l, sizeof l), 0);
    ::close(peer);  // a reset, not an end of stream
    peer = -1;
    EXPECT_EQ(call(reset_at_send), 0u) << "step that broke the promise";
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_write_behind_errors);

}  // namespace
