// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/ps/server_support.hh: a server on a thread of the test, blocking
// clients with receive timeouts (so a broken server fails a test instead of
// hanging it), and the modes every server test runs over.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "ps/server.hh"

namespace airlock::ps::testing {

inline constexpr io_mode all_modes[] = {io_mode::native, io_mode::transition, io_mode::switchless,
                                        io_mode::airlock};

inline server_options small_server(io_mode m) {
    server_options o;
    o.mode = m;
    o.dimension = 4;
    o.keys = 128;
    o.engine = engine_options{0.5f, 8};
    o.transition_cycles = 2'000;  // keeps the tests short; the cost is not what they check
    return o;
}

// A server running on its own thread until destroyed.
class running_server {
  public:
    explicit running_server(const server_options& o) {
        auto s = server::create(o);
        EXPECT_TRUE(s.has_value());
        if (!s) return;
        server_ = std::move(*s);
        thread_ = std::thread([this] { result_ = server_->run(); });
    }
    ~running_server() {
        if (!server_) return;
        server_->stop();
        thread_.join();
        EXPECT_TRUE(result_.has_value()) << "the server stopped on " << to_string(result_.error());
    }
    server& get() { return *server_; }
    std::uint16_t port() const { return server_->port(); }
    // Waits (bounded) until the server holds `n` connections.
    bool wait_connections(std::size_t n) {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (server_->open_connections() != n)
            if (std::chrono::steady_clock::now() > until)
                return false;
            else
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        return true;
    }

  private:
    std::unique_ptr<server> server_;
    std::thread thread_;
    expected<void> result_{};
};

// A blocking client; every receive gives up after 10 s.
class client {
  public:
    explicit client(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ~client() {
        if (fd_ >= 0) ::close(fd_);
    }
    client(const client&) = delete;
    client& operator=(const client&) = delete;
    int fd() const { return fd_; }

    void send_all(std::span<const std::byte> b) {
        std::size_t at = 0;
        while (at < b.size()) {
            const ssize_t n = ::send(fd_, b.data() + at, b.size() - at, MSG_NOSIGNAL);
            ASSERT_GT(n, 0) << "send failed";
            at += static_cast<std::size_t>(n);
        }
    }
    // One complete frame, or nullopt at end of stream (or on timeout: a failure).
    std::optional<std::vector<std::byte>> receive_frame() {
        std::vector<std::byte> f(header_bytes);
        if (!read_exactly(f.data(), header_bytes)) return std::nullopt;
        const auto h = peek_header(f);
        f.resize(h->frame_bytes());
        if (!read_exactly(f.data() + header_bytes, f.size() - header_bytes)) return std::nullopt;
        return f;
    }
    // True when the server closed the connection (a read returns 0).
    bool at_end() {
        std::byte b;
        return ::recv(fd_, &b, 1, 0) == 0;
    }

  private:
    bool read_exactly(std::byte* p, std::size_t n) {
        while (n > 0) {
            const ssize_t r = ::recv(fd_, p, n, 0);
            if (r == 0) return false;
            if (r < 0) {
                ADD_FAILURE() << "receive failed or timed out";
                return false;
            }
            p += r;
            n -= static_cast<std::size_t>(r);
        }
        return true;
    }
    int fd_ = -1;
};

}  // namespace airlock::ps::testing
