// SPDX-License-Identifier: Apache-2.0
// Description: a listener keeps accepts_ahead accepts posted: connections
// are accepted before the program asks (no more than the bound wait in the
// listener), each already receiving ahead, and accept hands them over with
// their bytes; the ones never taken are closed with the listener (sim and
// process).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "airlock/sys/listener.hh"
#include "enclave_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;

constexpr std::uint32_t ahead = 2;

constexpr rpc::enclave_method<1, std::uint64_t()> listen_ahead{"listen_ahead"};
constexpr rpc::enclave_method<2, std::uint64_t()> accepted_ahead{"accepted_ahead"};
// Accepts `n` connections and reads one byte from each (the peer's number);
// returns the set of numbers as bits.
constexpr rpc::enclave_method<3, std::uint64_t(std::uint64_t)> accept_and_read{"accept_and_read"};
constexpr rpc::enclave_method<4, std::uint64_t()> drop_listener{"drop_listener"};

struct state {
    std::optional<sys::listener> l;
};

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto st_owner = std::make_shared<state>();
    t.keep_alive->push_back(st_owner);
    state* st = st_owner.get();
    t.host.serve(listen_ahead, [&c, st]() -> task<expected<std::uint64_t>> {
        auto l = co_await sys::listener::listen(c, sys::address::ipv4_loopback(0),
                                                {.accepts_ahead = ahead});
        if (!l) co_return unexpected(l.error().code);
        auto local = co_await l->local_address();
        if (!local) co_return unexpected(local.error().code);
        st->l = std::move(*l);
        co_return local->port();
    });
    t.host.serve(accepted_ahead, [st] { return std::uint64_t{st->l->accepted_ahead()}; });
    t.host.serve(accept_and_read, [st](std::uint64_t n) -> task<expected<std::uint64_t>> {
        std::uint64_t seen = 0;
        for (std::uint64_t i = 0; i < n; ++i) {
            sys::address peer;
            auto s = co_await st->l->accept(&peer);
            if (!s) co_return unexpected(s.error().code);
            if (peer.to_string().rfind("127.0.0.1:", 0) != 0)
                co_return unexpected(errc::sys_bad_result);
            std::array<std::byte, 8> buf{};
            auto got = co_await s->recv(buf);
            if (!got) co_return unexpected(got.error().code);
            if (*got != 1) co_return unexpected(errc::invalid_argument);
            seen |= std::uint64_t{1} << static_cast<unsigned>(buf[0]);
        }
        co_return seen;
    });
    t.host.serve(drop_listener, [st] {
        st->l.reset();
        return std::uint64_t{0};
    });
}

class sys_eager_accept : public test::sys_enclave_test<program> {
  protected:
    void ready() override { port = static_cast<std::uint16_t>(call(listen_ahead)); }
    void TearDown() override {
        for (int fd : peers)
            ::close(fd);
        sys_enclave_test::TearDown();
    }
    // Connects peer number `k`, which sends its number.
    void connect_peer(unsigned char k) {
        const int fd = test::loopback_connect(port);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, &k, 1), 1);
        peers.push_back(fd);
    }

    std::uint16_t port = 0;
    std::vector<int> peers;
};

TEST_P(sys_eager_accept, connections_are_accepted_before_the_program_asks) {
    test::watchdog dog(std::chrono::seconds(60), "sys_eager_accept");
    for (unsigned char k = 0; k < 3; ++k)
        connect_peer(k);
    // Nobody called accept: the accepts posted with the listener took two;
    // the third waits in the kernel until one is taken.
    ASSERT_TRUE(test::eventually([&] { return call(accepted_ahead) == ahead; }));
    EXPECT_EQ(call(accepted_ahead), ahead) << "never more than the bound";
    EXPECT_EQ(call(accept_and_read, 3), 0b111u) << "every connection, with its byte";
    EXPECT_EQ(call(accepted_ahead), 0u);
}

TEST_P(sys_eager_accept, connections_never_taken_close_with_the_listener) {
    test::watchdog dog(std::chrono::seconds(60), "sys_eager_accept drop");
    connect_peer(0);
    connect_peer(1);
    ASSERT_TRUE(test::eventually([&] { return call(accepted_ahead) == ahead; }));
    (void)call(drop_listener);
    for (int fd : peers) {
        char c = 0;
        const ssize_t n = ::read(fd, &c, 1);  // the end of the stream (or a reset)
        EXPECT_LE(n, 0) << "the enclave closed the connection it never took";
    }
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_eager_accept);

}  // namespace
