// SPDX-License-Identifier: Apache-2.0
// Description: the same sys calls served by the transition baseline (one
// modelled transition and a blocking system call each, on sim) give the
// same results as the ring path: a file written and read back, and a
// connection to a host server.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/sys/file.hh"
#include "airlock/sys/socket.hh"
#include "airlock/sys/transition.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;

constexpr rpc::enclave_method<1, std::uint64_t(std::string)> file_round_trip{"file_round_trip"};
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> talk_to_host{"talk_to_host"};

std::span<const std::byte> bytes(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t, 0, {.transport = sys::transport::transition});
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
    t.host.serve(talk_to_host, [&c](std::uint64_t port) -> task<expected<std::uint64_t>> {
        auto s = co_await sys::socket::connect(
            c, sys::address::ipv4_loopback(static_cast<std::uint16_t>(port)));
        if (!s) co_return unexpected(s.error().code);
        if (!co_await s->send_all(bytes("ping"))) co_return unexpected(errc::sys_errno);
        std::array<std::byte, 16> buf{};
        auto n = co_await s->recv(buf);
        if (!n) co_return unexpected(n.error().code);
        co_return *n;
    });
}

TEST(sys_transition, the_same_calls_through_one_transition_each) {
    platform::enclave_config config;
    config.platform = platform::platform_kind::sim;
    config.service_links = 1;
    config.service_ring_capacity = std::size_t{1} << 14;
    config.ring_capacity = std::size_t{1} << 14;
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60), "sys_transition");
    auto ch = (*e)->open_channel(0);
    char tmpl[] = "/tmp/airlock-sys-transition-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    auto r = async::sync_wait(ch->executor(),
                              ch->endpoint().call(file_round_trip, std::string(tmpl) + "/f"));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, 0u) << "the step that failed";
    std::filesystem::remove_all(tmpl);

    const int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(lfd, 4), 0);
    socklen_t len = sizeof sa;
    ASSERT_EQ(getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len), 0);
    std::thread server([lfd] {
        const int c = ::accept(lfd, nullptr, nullptr);
        char buf[16];
        if (::read(c, buf, sizeof buf) > 0) (void)::write(c, "pong!", 5);
        ::close(c);
    });
    auto n =
        async::sync_wait(ch->executor(), ch->endpoint().call(talk_to_host, ntohs(sa.sin_port)));
    server.join();
    ::close(lfd);
    ASSERT_TRUE(n.has_value()) << to_string(n.error());
    EXPECT_EQ(*n, 5u);
}

}  // namespace
