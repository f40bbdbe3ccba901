// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/kv/kv_client.hh: a blocking loopback client for the airlock-kv
// tests, and a way to run Debian's memcached beside it. Every wait is
// bounded (5 s), so a server that stops answering fails the test instead of
// hanging it.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace kv_test {

class client {
  public:
    client() = default;
    explicit client(std::uint16_t port) { connect(port); }
    ~client() { close(); }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    bool connect(std::uint16_t port) {
        close();
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            close();
            return false;
        }
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return true;
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    [[nodiscard]] bool connected() const { return fd_ >= 0; }

    bool send(std::string_view s) {
        while (!s.empty()) {
            const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            s.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    // Reads until `got` ends with `marker`, EOF, or 5 s pass. `eof` tells
    // whether the server closed.
    std::string read_until(std::string_view marker, bool* eof = nullptr) {
        std::string got;
        if (eof) *eof = false;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        char buf[65536];
        while (!(marker.size() && got.size() >= marker.size() &&
                 std::string_view(got).substr(got.size() - marker.size()) == marker)) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) break;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                if (eof) *eof = true;
                break;
            }
            got.append(buf, static_cast<std::size_t>(n));
        }
        return got;
    }
    // Sends `s` then "mn\r\n" and returns everything before the "MN\r\n".
    std::string exchange(std::string_view s, bool* eof = nullptr) {
        std::string msg(s);
        msg += "mn\r\n";
        if (!send(msg)) {
            if (eof) *eof = true;
            return "<send failed>";
        }
        std::string got = read_until("MN\r\n", eof);
        if (got.size() >= 4 && got.ends_with("MN\r\n")) got.resize(got.size() - 4);
        return got;
    }

  private:
    int fd_ = -1;
};

// A free loopback port (bound then released; good enough for tests).
inline std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// Debian's memcached on a loopback port, stopped on destruction.
class memcached_process {
  public:
    static constexpr const char* path = "/usr/bin/memcached";
    static bool available() { return ::access(path, X_OK) == 0; }

    explicit memcached_process(std::vector<std::string> extra = {}) {
        port_ = free_port();
        std::vector<std::string> args = {path, "-l", "127.0.0.1", "-p", std::to_string(port_),
                                         "-U", "0"};
        if (::geteuid() == 0) args.insert(args.end(), {"-u", "root"});
        args.insert(args.end(), extra.begin(), extra.end());
        std::vector<char*> argv;
        for (auto& a : args)
            argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            // memcached dies with the test, even when the test crashes.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            ::execv(path, argv.data());
            ::_exit(127);
        }
        for (int i = 0; i < 200 && pid_ > 0; ++i) {  // up to 2 s for it to listen
            client c;
            if (c.connect(port_)) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    ~memcached_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);  // SIGTERM makes memcached linger a second
            int st = 0;
            ::waitpid(pid_, &st, 0);
        }
    }
    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] bool running() const { return pid_ > 0; }

  private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace kv_test
