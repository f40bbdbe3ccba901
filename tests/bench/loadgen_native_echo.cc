// SPDX-License-Identifier: Apache-2.0
// airlock-sys-loadgen (a separate process) against the native epoll echo
// server of `airlock-bench sys`: a bounded count of requests, every reply
// checked byte for byte by the generator; a server that changes one byte,
// or closes early, makes it fail; the server echoes exactly what it got.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "sys_host.hh"

namespace airlock::bench {
namespace {

loadgen_request request_for(std::uint16_t port, std::size_t connections, std::size_t bytes,
                            std::uint64_t requests) {
    return {AIRLOCK_SYS_LOADGEN, port, connections, bytes, 0, requests, 60};
}

TEST(LoadgenNativeEcho, AnswersEveryRequestOfABoundedCount) {
    native_echo_server server;
    for (std::size_t bytes : {std::size_t{64}, std::size_t{4096}}) {
        for (std::size_t connections : {std::size_t{1}, std::size_t{16}}) {
            loadgen_process gen(request_for(server.port(), connections, bytes, 500));
            ASSERT_TRUE(gen.started());
            const loadgen_result r = gen.wait(60);
            ASSERT_TRUE(r.ok) << r.error;
            EXPECT_EQ(r.requests, 500u);
            EXPECT_GT(r.p99_ns, 0);
            EXPECT_LE(r.p50_ns, r.p99_ns);
        }
    }
}

// A loopback listener whose one thread accepts `connections` connections
// and answers each request of `bytes` with those bytes, the first one
// flipped in the `bad`-th reply (counting from 0 over all replies).
class lying_server {
  public:
    lying_server(std::size_t connections, std::size_t bytes, std::size_t bad)
        : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
        EXPECT_EQ(::listen(fd_, 16), 0);
        socklen_t len = sizeof sa;
        (void)getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
        port_ = ntohs(sa.sin_port);
        thread_ = std::thread([=, this] {
            std::vector<int> conns;
            for (std::size_t i = 0; i < connections; ++i)
                conns.push_back(::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC));
            std::vector<char> buf(bytes);
            for (std::size_t reply = 0;; ++reply) {
                const int c = conns[reply % connections];
                std::size_t got = 0;
                while (got < bytes) {
                    const ssize_t n = ::recv(c, buf.data() + got, bytes - got, 0);
                    if (n <= 0) break;
                    got += static_cast<std::size_t>(n);
                }
                if (got < bytes) break;  // the generator gave up
                if (reply == bad) buf[0] = static_cast<char>(buf[0] ^ 1);
                (void)::send(c, buf.data(), bytes, MSG_NOSIGNAL);
            }
            for (int c : conns)
                ::close(c);
        });
    }
    ~lying_server() {
        thread_.join();
        ::close(fd_);
    }
    [[nodiscard]] std::uint16_t port() const { return port_; }

  private:
    int fd_;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

TEST(LoadgenNativeEcho, FailsOnAReplyWithOneByteChanged) {
    for (std::size_t bad : {std::size_t{0}, std::size_t{37}}) {
        lying_server server(2, 64, bad);
        loadgen_process gen(request_for(server.port(), 2, 64, 100));
        ASSERT_TRUE(gen.started());
        const loadgen_result r = gen.wait(60);
        EXPECT_FALSE(r.ok);
        EXPECT_EQ(r.error, "the load generator exited with status 1");
    }
}

TEST(LoadgenNativeEcho, TheServerEchoesEveryByte) {
    native_echo_server server;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(server.port());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    std::vector<unsigned char> out(4096), back(4096);
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<unsigned char>(i * 7 + 3);
    ASSERT_EQ(::send(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    std::size_t got = 0;
    while (got < back.size()) {
        const ssize_t n = ::recv(fd, back.data() + got, back.size() - got, 0);
        ASSERT_GT(n, 0);
        got += static_cast<std::size_t>(n);
    }
    EXPECT_EQ(std::memcmp(out.data(), back.data(), out.size()), 0);
    ::close(fd);
}

TEST(LoadgenNativeEcho, RefusesAnUnboundedRun) {
    native_echo_server server;
    loadgen_process gen({AIRLOCK_SYS_LOADGEN, server.port(), 1, 64, 0, 0, 0});
    ASSERT_TRUE(gen.started());
    EXPECT_EQ(gen.wait(60).error, "the load generator exited with status 2");
}

}  // namespace
}  // namespace airlock::bench
