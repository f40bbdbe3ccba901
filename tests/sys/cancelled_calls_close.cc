// SPDX-License-Identifier: Apache-2.0
// Description: an accept, connect or open the enclave gives up on (its token
// cancelled before the call, while the host's call waits in the kernel, or
// after the host answered) and that the host then completes leaves no host
// descriptor open: the enclave sends the close, and the host process's open
// fd count returns to where it was, on sim and on the sealed process platform.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "airlock/async/cancellation.hh"
#include "airlock/sys/file.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/socket.hh"
#include "enclave_fixture.hh"
#include "temp_dir.hh"

namespace {

using namespace airlock;
using airlock::async::task;

// How the last started call ended so far.
enum : std::uint64_t { running = 0, succeeded = 1, cancelled = 2, failed = 3 };

// Listens on IPv4 loopback; returns the port.
constexpr rpc::enclave_method<1, std::uint64_t()> listen_local{"listen_local"};
// A fresh cancellation source, cancelled at once when the argument is 1.
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> prepare{"prepare"};
// Starts an accept on the listener, a connect to a host port, or an open
// (O_RDONLY | O_CREAT) of a path, under the prepared source; returns at once.
constexpr rpc::enclave_method<3, std::uint64_t()> start_accept{"start_accept"};
constexpr rpc::enclave_method<4, std::uint64_t(std::uint64_t)> start_connect{"start_connect"};
constexpr rpc::enclave_method<5, std::uint64_t(std::string)> start_open{"start_open"};
// Cancels the prepared source (the call resumes in a later turn).
constexpr rpc::enclave_method<6, std::uint64_t()> cancel{"cancel"};
constexpr rpc::enclave_method<7, std::uint64_t()> outcome{"outcome"};
// The client's calls in flight (low 32 bits) and open handles (high 32).
constexpr rpc::enclave_method<8, std::uint64_t()> counts{"counts"};

struct state {
    std::optional<sys::listener> listener;
    async::cancellation_source source;
    std::uint64_t outcome = running;
};

// Records how `call` ended and drops what it made (its close goes out).
template <class T>
task<void> record(state& st, task<sys::result<T>> call) {
    auto r = co_await std::move(call);
    st.outcome = r ? succeeded : r.error().code == errc::cancelled ? cancelled : failed;
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto st_owner = std::make_shared<state>();
    t.keep_alive->push_back(st_owner);
    state* st = st_owner.get();
    auto& ex = t.executor;
    t.host.serve(listen_local, [&c, st]() -> task<expected<std::uint64_t>> {
        // Accepts on demand only: these cases give up on the accept the
        // program asked for (an accept posted ahead would hold the
        // connection for the next accept, by design; eager_accept.cc).
        auto l =
            co_await sys::listener::listen(c, sys::address::ipv4_loopback(0), {.accepts_ahead = 0});
        if (!l) co_return unexpected(l.error().code);
        auto local = co_await l->local_address();
        if (!local) co_return unexpected(local.error().code);
        st->listener = std::move(*l);
        co_return local->port();
    });
    t.host.serve(prepare, [st](std::uint64_t cancel_now) {
        st->source = async::cancellation_source();
        st->outcome = running;
        if (cancel_now != 0) (void)st->source.request_cancellation();
        return std::uint64_t{0};
    });
    t.host.serve(start_accept, [st, &ex] {
        ex.spawn_now(record(*st, st->listener->accept()), st->source.token());
        return std::uint64_t{0};
    });
    t.host.serve(start_connect, [&c, st, &ex](std::uint64_t port) {
        ex.spawn_now(record(*st, sys::socket::connect(c, sys::address::ipv4_loopback(
                                                             static_cast<std::uint16_t>(port)))),
                     st->source.token());
        return std::uint64_t{0};
    });
    t.host.serve(start_open, [&c, st, &ex](std::string path) {
        ex.spawn_now(record(*st, sys::file::open(c, path, O_RDONLY | O_CREAT, 0600)),
                     st->source.token());
        return std::uint64_t{0};
    });
    t.host.serve(cancel, [st] {
        (void)st->source.request_cancellation();
        return std::uint64_t{0};
    });
    t.host.serve(outcome, [st] { return st->outcome; });
    t.host.serve(counts, [&c] {
        return static_cast<std::uint64_t>(c.in_flight()) |
               static_cast<std::uint64_t>(c.open_handles()) << 32;
    });
}

// The descriptors open in this (the host's) process.
std::size_t open_fds() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
        ++n;
    return n;
}

class sys_cancelled : public test::sys_enclave_test<program> {
  protected:
    void ready() override { ASSERT_FALSE(dir.empty()); }

    // The outcome of the started call once it has one.
    std::uint64_t settled_outcome() {
        std::uint64_t o = running;
        (void)test::eventually([&] { return (o = call(outcome)) != running; });
        return o;
    }
    // Waits until the service has taken `more` requests after `before`: the
    // call then waits in the kernel.
    void until_taken(std::uint64_t before, std::uint64_t more = 1) {
        ASSERT_TRUE(test::eventually([&] { return svc->stats().requests >= before + more; }));
    }
    // The check of every case: nothing in flight, only `handles` open in the
    // enclave, and the host's fd count back at `baseline`.
    void expect_settled(std::size_t baseline, std::uint64_t handles) {
        EXPECT_TRUE(test::eventually([&] { return open_fds() == baseline; }))
            << "host fds: " << open_fds() << ", before: " << baseline;
        EXPECT_TRUE(test::eventually([&] { return call(counts) == handles << 32; }))
            << "in flight and open handles: " << std::hex << call(counts);
    }

    const test::temp_dir tmp{"airlock-sys-cancel"};  // removed after TearDown
    const std::string& dir = tmp.path();
    test::watchdog dog{std::chrono::seconds(120), "sys_cancelled"};
};

TEST_P(sys_cancelled, an_accept_cancelled_in_the_kernel_closes_the_late_connection) {
    const auto port = static_cast<std::uint16_t>(call(listen_local));
    const std::size_t baseline = open_fds();
    call(prepare, 0);
    const auto before = svc->stats().requests;
    call(start_accept);
    until_taken(before);
    call(cancel);
    EXPECT_EQ(settled_outcome(), std::uint64_t{cancelled});
    const int peer = test::loopback_connect(port);  // the kernel's accept now succeeds
    ASSERT_GE(peer, 0);
    ::close(peer);
    expect_settled(baseline, 1);
}

TEST_P(sys_cancelled, an_accept_cancelled_before_the_call_closes_the_late_connection) {
    const auto port = static_cast<std::uint16_t>(call(listen_local));
    const std::size_t baseline = open_fds();
    call(prepare, 1);
    call(start_accept);
    EXPECT_EQ(settled_outcome(), std::uint64_t{cancelled});
    const int peer = test::loopback_connect(port);
    ASSERT_GE(peer, 0);
    ::close(peer);
    expect_settled(baseline, 1);
}

TEST_P(sys_cancelled, an_accept_cancelled_after_the_host_answered_leaves_nothing_open) {
    const auto port = static_cast<std::uint16_t>(call(listen_local));
    const std::size_t baseline = open_fds();
    const int peer = test::loopback_connect(port);  // waiting in the backlog
    ASSERT_GE(peer, 0);
    call(prepare, 0);
    const auto before = svc->stats().completions;
    call(start_accept);
    ASSERT_TRUE(test::eventually([&] { return svc->stats().completions > before; }));
    // The answer is on its way or taken: either way nothing stays open.
    call(cancel);
    const auto o = settled_outcome();
    EXPECT_TRUE(o == cancelled || o == succeeded) << o;
    ::close(peer);
    expect_settled(baseline, 1);
}

TEST_P(sys_cancelled, a_connect_cancelled_before_the_call_closes_the_late_socket) {
    std::uint16_t port = 0;
    const int l = test::loopback_listener(port);
    ASSERT_GE(l, 0);
    const std::size_t baseline = open_fds();
    for (int i = 0; i < 4; ++i) {
        call(prepare, 1);
        call(start_connect, port);  // loopback: the kernel connects at once
        EXPECT_EQ(settled_outcome(), std::uint64_t{cancelled});
    }
    expect_settled(baseline, 0);
    ::close(l);
}

TEST_P(sys_cancelled, a_connect_cancelled_after_the_host_answered_leaves_nothing_open) {
    std::uint16_t port = 0;
    const int l = test::loopback_listener(port);
    ASSERT_GE(l, 0);
    const std::size_t baseline = open_fds();
    call(prepare, 0);
    const auto before = svc->stats().completions;
    call(start_connect, port);
    ASSERT_TRUE(test::eventually([&] { return svc->stats().completions > before; }));
    call(cancel);
    const auto o = settled_outcome();
    EXPECT_TRUE(o == cancelled || o == succeeded) << o;
    expect_settled(baseline, 0);
    ::close(l);
}

TEST_P(sys_cancelled, an_open_cancelled_in_the_kernel_closes_the_late_file) {
    // Opening a FIFO for reading waits in the kernel until it has a writer
    // (O_CREAT makes io_uring hand the open to a worker at once, which then
    // waits; without it a cached lookup opens the FIFO without waiting).
    const std::string fifo = dir + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    const std::size_t baseline = open_fds();
    call(prepare, 0);
    const auto before = svc->stats().requests;
    call(start_open, fifo);
    until_taken(before);
    call(cancel);
    EXPECT_EQ(settled_outcome(), std::uint64_t{cancelled});
    // The enclave's open succeeds once a writer is there. The writer stays
    // until the late file is closed: the host's worker may reach the open
    // only after a writer that came and went (then it would wait for ever).
    const int writer = ::open(fifo.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(writer, 0);
    EXPECT_TRUE(test::eventually([&] { return call(counts) == 0; }))
        << "in flight and open handles: " << std::hex << call(counts);
    ::close(writer);
    expect_settled(baseline, 0);
}

TEST_P(sys_cancelled, an_open_cancelled_before_the_call_closes_the_late_file) {
    const std::string path = dir + "/plain";
    ::close(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    const std::size_t baseline = open_fds();
    for (int i = 0; i < 4; ++i) {
        call(prepare, 1);
        call(start_open, path);
        EXPECT_EQ(settled_outcome(), std::uint64_t{cancelled});
    }
    expect_settled(baseline, 0);
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_cancelled);

}  // namespace
