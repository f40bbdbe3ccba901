// SPDX-License-Identifier: Apache-2.0
// airlock-kv's native transport (native_front.hh).

#include "native_front.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

namespace airlock::kv {

namespace {
constexpr std::size_t read_chunk = 16384;  // memcached's read buffer size

struct client {
    int fd;
    std::unique_ptr<connection> conn;
    std::uint32_t events = 0;
};
}  // namespace

native_front::native_front(engine& e, native_options opt) : eng_(e), opt_(std::move(opt)) {}

native_front::~native_front() {
    stop();
}

std::string native_front::start() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) return std::string("socket: ") + std::strerror(errno);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(opt_.port);
    if (::inet_pton(AF_INET, opt_.listen.c_str(), &addr.sin_addr) != 1)
        return "bad listen address: " + opt_.listen;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return std::string("bind: ") + std::strerror(errno);
    if (::listen(listen_fd_, 1024) != 0) return std::string("listen: ") + std::strerror(errno);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) return std::string("eventfd: ") + std::strerror(errno);
    const unsigned n = opt_.threads == 0 ? 1 : opt_.threads;
    for (unsigned i = 0; i < n; ++i)
        threads_.emplace_back([this] { worker(stop_fd_); });
    return {};
}

void native_front::stop() {
    if (stop_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto r = ::write(stop_fd_, &one, sizeof one);
    }
    for (auto& t : threads_)
        t.join();
    threads_.clear();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (stop_fd_ >= 0) ::close(stop_fd_);
    listen_fd_ = stop_fd_ = -1;
}

void native_front::worker(int stop_fd) {
    counters& ctr = eng_.register_thread();
    const int ep = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.fd = listen_fd_;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd_, &ev);
    ev.events = EPOLLIN;  // level: every worker sees the stop signal
    ev.data.fd = stop_fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &ev);
    std::unordered_map<int, client> clients;
    auto buf = std::make_unique<char[]>(read_chunk);

    auto close_client = [&](client& c) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
        clients.erase(c.fd);
    };
    // Sends what is ready, runs buffered commands as room appears, and
    // updates the epoll interest. Returns false when the client was closed.
    auto pump = [&](client& c) -> bool {
        connection& conn = *c.conn;
        for (;;) {
            if (conn.closing_now()) {
                close_client(c);
                return false;
            }
            const std::string_view out = conn.output();
            if (out.empty()) {
                if (conn.closing()) {
                    close_client(c);
                    return false;
                }
                if (conn.has_pending_input() && conn.wants_input()) {
                    const std::size_t before = conn.output().size();
                    conn.resume();
                    if (conn.output().size() != before || conn.closing()) continue;
                }
                break;
            }
            const ssize_t w = ::send(c.fd, out.data(), out.size(), MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) break;
                close_client(c);
                return false;
            }
            conn.consumed(static_cast<std::size_t>(w));
            if (conn.has_pending_input() && conn.wants_input()) conn.resume();
        }
        std::uint32_t want = 0;
        if (conn.wants_input()) want |= EPOLLIN;
        if (!conn.output().empty()) want |= EPOLLOUT;
        if (want != c.events) {
            epoll_event e{};
            e.events = want | ((want & EPOLLIN) != 0 ? EPOLLRDHUP : 0u);
            e.data.fd = c.fd;
            ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &e);
            c.events = want;
        }
        return true;
    };

    epoll_event events[64];
    for (;;) {
        const int n = ::epoll_wait(ep, events, 64, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        bool stopping = false;
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == stop_fd) {
                stopping = true;
                continue;
            }
            if (fd == listen_fd_) {
                for (;;) {
                    const int cfd =
                        ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0) break;
                    if (eng_.curr_connections.load(std::memory_order_relaxed) >=
                        opt_.max_connections) {
                        static const char msg[] = "ERROR Too many open connections\r\n";
                        [[maybe_unused]] auto r = ::send(cfd, msg, sizeof msg - 1, MSG_NOSIGNAL);
                        ::close(cfd);
                        eng_.rejected_connections.fetch_add(1, std::memory_order_relaxed);
                        continue;
                    }
                    const int one = 1;
                    ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    client c{cfd, std::make_unique<connection>(eng_, ctr), EPOLLIN};
                    epoll_event e{};
                    e.events = EPOLLIN | EPOLLRDHUP;
                    e.data.fd = cfd;
                    ::epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &e);
                    clients.emplace(cfd, std::move(c));
                    if (opt_.verbose > 1) std::fprintf(stderr, "<%d new client connection\n", cfd);
                }
                continue;
            }
            auto found = clients.find(fd);
            if (found == clients.end()) continue;
            client& c = found->second;
            const std::uint32_t got = events[i].events;
            if ((got & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) && c.conn->wants_input()) {
                const ssize_t r = ::recv(fd, buf.get(), read_chunk, 0);
                if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                    close_client(c);
                    continue;
                }
                if (r > 0)
                    c.conn->receive(std::string_view(buf.get(), static_cast<std::size_t>(r)));
            } else if (got & (EPOLLHUP | EPOLLERR)) {
                close_client(c);
                continue;
            }
            pump(c);
        }
        if (stopping) break;
    }
    for (auto& [fd, c] : clients)
        ::close(fd);
    clients.clear();
    ::close(ep);
}

}  // namespace airlock::kv
