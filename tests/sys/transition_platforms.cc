// SPDX-License-Identifier: Apache-2.0
// Description: the transition transport serves files and TCP on both
// platforms: on sim by a blocking call in the enclave thread, on the sealed
// process platform (and on sim when asked) by the service's host thread for
// the link while the enclave thread waits, blocked. A file is written and
// read back; the enclave echoes bytes over a connection it made and over one
// it accepted; a service that stops while the host thread is in a blocking
// receive ends the enclave's call with sys_service_stopped.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "airlock/sys/file.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/socket.hh"
#include "enclave_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;

constexpr rpc::enclave_method<1, std::uint64_t(std::string)> file_round_trip{"file_round_trip"};
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> connect_out{"connect_out"};
// Receives `n` bytes on the connection and sends them back; returns n.
constexpr rpc::enclave_method<3, std::uint64_t(std::uint64_t)> echo{"echo"};
// Listens on a loopback port; returns it.
constexpr rpc::enclave_method<4, std::uint64_t()> listen_here{"listen_here"};
// Accepts one connection, which becomes the one `echo` uses.
constexpr rpc::enclave_method<5, std::uint64_t()> accept_one{"accept_one"};
// 1 when the thread's client uses the transition transport.
constexpr rpc::enclave_method<6, std::uint64_t()> transport_is_transition{"transport"};

std::span<const std::byte> bytes(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

struct state {
    std::optional<sys::socket> conn;
    std::optional<sys::listener> listener;
};

void serve(platform::enclave_thread& t, sys::client& c) {
    auto* st = new state;
    t.keep_alive->push_back(
        std::shared_ptr<void>(st, [](void* p) { delete static_cast<state*>(p); }));
    t.host.serve(transport_is_transition, [&c] {
        return std::uint64_t{c.options().transport == sys::transport::transition ? 1u : 0u};
    });
    t.host.serve(file_round_trip, [&c](std::string path) -> task<expected<std::uint64_t>> {
        auto f = co_await sys::file::open(c, path, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (!f) co_return 1;
        if (!co_await f->write_all(bytes("through a transition"))) co_return 2;
        std::array<std::byte, 64> buf{};
        auto n = co_await f->pread(buf, 8);
        if (!n || *n != 12 || std::memcmp(buf.data(), "a transition", 12) != 0) co_return 3;
        if (!co_await f->close()) co_return 4;
        if (!co_await sys::unlink(c, path)) co_return 5;
        co_return 0;
    });
    t.host.serve(connect_out, [&c, st](std::uint64_t port) -> task<expected<std::uint64_t>> {
        auto s = co_await sys::socket::connect(
            c, sys::address::ipv4_loopback(static_cast<std::uint16_t>(port)), {.no_delay = true});
        if (!s) co_return unexpected(s.error().code);
        st->conn.emplace(std::move(*s));
        co_return 0;
    });
    t.host.serve(echo, [st](std::uint64_t n) -> task<expected<std::uint64_t>> {
        if (!st->conn) co_return unexpected(errc::invalid_argument);
        std::vector<std::byte> buf(n);
        std::size_t got = 0;
        while (got < n) {
            auto r = co_await st->conn->recv(std::span(buf).subspan(got));
            if (!r) co_return unexpected(r.error().code);
            if (*r == 0) co_return unexpected(errc::sys_errno);
            got += *r;
        }
        if (!co_await st->conn->send_all(buf)) co_return unexpected(errc::sys_errno);
        co_return got;
    });
    t.host.serve(listen_here, [&c, st]() -> task<expected<std::uint64_t>> {
        auto l = co_await sys::listener::listen(c, sys::address::ipv4_loopback(0));
        if (!l) co_return unexpected(l.error().code);
        auto local = co_await l->local_address();
        if (!local) co_return unexpected(local.error().code);
        st->listener.emplace(std::move(*l));
        co_return local->port();
    });
    t.host.serve(accept_one, [st]() -> task<expected<std::uint64_t>> {
        if (!st->listener) co_return unexpected(errc::invalid_argument);
        auto s = co_await st->listener->accept();
        if (!s) co_return unexpected(s.error().code);
        st->conn.emplace(std::move(*s));
        co_return 0;
    });
}

// The platform's own choice: in the thread on sim, by the host on process.
void program(platform::enclave_thread& t) {
    serve(t, sys::client::attach(t, 0, {.transport = sys::transport::transition}));
}

// By the host's thread on either platform.
void program_on_host(platform::enclave_thread& t) {
    serve(t, sys::client::attach(
                 t, 0, {.transport = sys::transport::transition, .transition_on_host = true}));
}

template <platform::enclave_program Program>
class transition_test : public test::sys_stream_test<Program> {
  protected:
    // Sends `n` seeded bytes into `fd` from a thread, has the enclave echo
    // them and checks what comes back.
    void echo_through(int fd, std::size_t n, std::uint64_t seed) {
        std::vector<std::byte> out(n), in(n);
        for (std::size_t i = 0; i < n; ++i)
            out[i] = test::stream_byte(seed, i);
        std::thread writer([&] {
            std::size_t sent = 0;
            while (sent < n) {
                const ssize_t w = ::send(fd, out.data() + sent, n - sent, MSG_NOSIGNAL);
                if (w <= 0) return;
                sent += static_cast<std::size_t>(w);
            }
        });
        EXPECT_EQ(this->call(echo, std::uint64_t{n}), n);
        writer.join();
        std::size_t got = 0;
        while (got < n) {
            const ssize_t r = ::recv(fd, in.data() + got, n - got, 0);
            ASSERT_GT(r, 0);
            got += static_cast<std::size_t>(r);
        }
        EXPECT_EQ(in, out);
    }
    void check_files() {
        EXPECT_EQ(this->call(transport_is_transition), 1u);
        char tmpl[] = "/tmp/airlock-sys-transition-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        EXPECT_EQ(this->call(file_round_trip, std::string(tmpl) + "/f"), 0u)
            << "the step that failed";
        std::filesystem::remove_all(tmpl);
    }
    void check_connect_and_echo() {
        this->connect(connect_out);
        // Larger than a record of the service ring: requests and
        // completions travel as fragments, in many blocking calls.
        echo_through(this->peer, 40'000, 1);
        echo_through(this->peer, 3, 2);
    }
    void check_accept_and_echo() {
        const std::uint64_t enclave_port = this->call(listen_here);
        ASSERT_LT(enclave_port, 65536u);
        // Connected first (the backlog holds it): the enclave's accept does
        // not wait.
        const int fd = test::loopback_connect(static_cast<std::uint16_t>(enclave_port));
        ASSERT_GE(fd, 0);
        EXPECT_EQ(this->call(accept_one), 0u);
        echo_through(fd, 5'000, 3);
        ::close(fd);
    }
};

using transition_default = transition_test<program>;
using transition_on_host = transition_test<program_on_host>;

TEST_P(transition_default, files) {
    check_files();
}
TEST_P(transition_default, connect_and_echo) {
    check_connect_and_echo();
}
TEST_P(transition_default, accept_and_echo) {
    check_accept_and_echo();
}
TEST_P(transition_on_host, files) {
    check_files();
}
TEST_P(transition_on_host, connect_and_echo) {
    check_connect_and_echo();
}
TEST_P(transition_on_host, accept_and_echo) {
    check_accept_and_echo();
}

// The host thread is in a receive that nothing will answer when the service
// stops: the stop ends it and the enclave's call fails.
TEST_P(transition_on_host, a_service_that_stops_ends_a_blocked_call) {
    this->connect(connect_out);
    // The call may reach the host before or after the stop: either way the
    // enclave learns that the service stopped.
    std::thread stopper([this] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        this->svc.reset();
    });
    const auto r = this->try_call(echo, std::uint64_t{10});
    stopper.join();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::sys_service_stopped);
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(transition_default);
AIRLOCK_SYS_ON_BOTH_PLATFORMS(transition_on_host);

}  // namespace
