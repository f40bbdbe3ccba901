// SPDX-License-Identifier: Apache-2.0
// Description: when the host's sys service stops while the enclave's
// receives and a read wait in the kernel, every waiting call ends with
// errc::sys_service_stopped (none hangs), later calls fail with it at once,
// and the enclave keeps running and answering its host, on sim and on the
// sealed process platform.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/sys/file.hh"
#include "airlock/sys/service.hh"
#include "airlock/sys/socket.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using platform::platform_kind;

constexpr std::size_t connections = 3;

// Connects `connections` sockets to the host at `port` and opens the FIFO
// `path`; then starts a recv on each socket and a read of the FIFO, none of
// which has anything to take. Returns 0, or the step that failed.
constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t, std::string)> start_waits{
    "start_waits"};
// How many of the started calls still wait.
constexpr rpc::enclave_method<2, std::uint64_t()> waiting{"waiting"};
// How many ended with errc::sys_service_stopped.
constexpr rpc::enclave_method<3, std::uint64_t()> stopped{"stopped"};
// The errc a new call (stat of "/") ends with now (0: it succeeded).
constexpr rpc::enclave_method<4, std::uint64_t()> new_call{"new_call"};

struct state {
    std::vector<sys::socket> sockets;
    sys::file fifo;
    std::size_t started = 0, finished = 0, stopped = 0;
};

template <class T>
task<void> await_end(state& st, task<sys::result<T>> call) {
    auto r = co_await std::move(call);
    ++st.finished;
    if (!r && r.error().code == errc::sys_service_stopped) ++st.stopped;
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto st_owner = std::make_shared<state>();
    t.keep_alive->push_back(st_owner);
    state* st = st_owner.get();
    auto& ex = t.executor;
    t.host.serve(
        start_waits,
        [&c, st, &ex](std::uint64_t port, std::string path) -> task<expected<std::uint64_t>> {
            for (std::size_t i = 0; i < connections; ++i) {
                auto s = co_await sys::socket::connect(
                    c, sys::address::ipv4_loopback(static_cast<std::uint16_t>(port)));
                if (!s) co_return 1;
                st->sockets.push_back(std::move(*s));
            }
            auto f = co_await sys::file::open(c, path, O_RDWR);
            if (!f) co_return 2;
            st->fifo = std::move(*f);
            static std::array<std::byte, 64> sink[connections + 1];
            for (std::size_t i = 0; i < connections; ++i)
                ex.spawn(await_end(*st, st->sockets[i].recv(sink[i])));
            ex.spawn(await_end(*st, st->fifo.read(sink[connections])));
            st->started = connections + 1;
            co_return 0;
        });
    t.host.serve(waiting, [st] { return std::uint64_t{st->started - st->finished}; });
    t.host.serve(stopped, [st] { return std::uint64_t{st->stopped}; });
    t.host.serve(new_call, [&c]() -> task<expected<std::uint64_t>> {
        auto s = co_await sys::stat(c, "/");
        co_return s ? 0 : static_cast<std::uint64_t>(s.error().code);
    });
}

bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 20'000; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return done();
}

class sys_service_stops : public ::testing::TestWithParam<platform_kind> {};

TEST_P(sys_service_stops, every_waiting_call_ends_with_an_error_and_the_enclave_lives) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    char tmpl[] = "/tmp/airlock-sys-stops-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::string dir = tmpl;
    const std::string fifo = dir + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    // The host's listener: the enclave's connections wait in its backlog,
    // and nothing is ever sent on them.
    const int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(l, 16), 0);
    socklen_t len = sizeof sa;
    ASSERT_EQ(::getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len), 0);

    platform::enclave_config config = test::process_config(1);
    config.platform = GetParam();
    config.service_links = 1;
    {
        auto e = platform::enclave::create(config, program);
        ASSERT_TRUE(e.has_value()) << to_string(e.error());
        test::watchdog dog(std::chrono::seconds(60), "sys_service_stops");
        auto svc = sys::service::start_for(**e);
        ASSERT_TRUE(svc.has_value()) << to_string(svc.error());
        auto ch = (*e)->open_channel(0);
        auto call = [&](const auto& method, auto&&... args) {
            auto r = async::sync_wait(ch->executor(), ch->endpoint().call(method, args...));
            EXPECT_TRUE(r.has_value()) << to_string(r.error());
            return r ? *r : ~std::uint64_t{0};
        };
        ASSERT_EQ(call(start_waits, std::uint64_t{ntohs(sa.sin_port)}, fifo), 0u);
        // Every connect and open answered, then the receives and the read taken.
        const std::uint64_t all = 2 * connections + 2;
        ASSERT_TRUE(eventually([&] { return (*svc)->stats().requests >= all; }));
        EXPECT_EQ(call(waiting), connections + 1) << "nothing has anything to take";

        svc->reset();  // the service stops with the calls in the kernel

        EXPECT_TRUE(eventually([&] { return call(waiting) == 0; })) << "no call hangs";
        EXPECT_EQ(call(stopped), connections + 1);
        EXPECT_EQ(call(new_call), static_cast<std::uint64_t>(errc::sys_service_stopped));
        EXPECT_EQ(call(waiting), 0u) << "the enclave still answers its host";
    }
    ::close(l);
    std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(platforms, sys_service_stops,
                         ::testing::Values(platform_kind::sim, platform_kind::process),
                         [](const auto& p) {
                             return p.param == platform_kind::sim ? "sim" : "process";
                         });

}  // namespace
