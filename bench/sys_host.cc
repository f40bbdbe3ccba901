// SPDX-License-Identifier: Apache-2.0
#include "sys_host.hh"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace airlock::bench {

native_echo_server::native_echo_server(int cpu) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(listen_fd_, 1024) != 0 || ::pipe2(stop_pipe_, O_CLOEXEC) != 0) {
        if (listen_fd_ >= 0) ::close(listen_fd_);
        throw std::runtime_error("native echo server: socket, bind, listen or pipe failed");
    }
    socklen_t len = sizeof sa;
    (void)getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this, cpu] { run(cpu); });
}

native_echo_server::~native_echo_server() {
    (void)::write(stop_pipe_[1], "x", 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
}

void native_echo_server::run(int cpu) {
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    }
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = listen_fd_;
    epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd_, &ev);
    ev.data.fd = stop_pipe_[0];
    epoll_ctl(ep, EPOLL_CTL_ADD, stop_pipe_[0], &ev);
    std::vector<char> buf(1 << 16);
    epoll_event events[64];
    for (;;) {
        const int n = epoll_wait(ep, events, 64, -1);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == stop_pipe_[0]) {
                ::close(ep);
                return;
            }
            if (fd == listen_fd_) {
                for (;;) {
                    const int c =
                        ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) break;
                    const int one = 1;
                    (void)setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    epoll_event cev{};
                    cev.events = EPOLLIN;
                    cev.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            const ssize_t got = ::read(fd, buf.data(), buf.size());
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
            if (got <= 0) {
                // Out of the epoll set before the close: a child being
                // spawned may hold a copy of the descriptor until its exec,
                // and then close alone would leave it registered, reporting
                // events under a number the process may have reused.
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
                ::close(fd);
                continue;
            }
            // The client has one request outstanding per connection, so the
            // reply fits the socket's send buffer; a full buffer (never seen)
            // is waited out with poll rather than dropped.
            ssize_t off = 0;
            while (off < got) {
                const ssize_t w =
                    ::send(fd, buf.data() + off, static_cast<std::size_t>(got - off), MSG_NOSIGNAL);
                if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    pollfd p{fd, POLLOUT, 0};
                    (void)::poll(&p, 1, 100);
                    continue;
                }
                if (w <= 0) break;
                off += w;
            }
        }
    }
}

loadgen_process::loadgen_process(const loadgen_request& r) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    std::vector<std::string> args{r.program,
                                  "--port",
                                  std::to_string(r.port),
                                  "--connections",
                                  std::to_string(r.connections),
                                  "--bytes",
                                  std::to_string(r.bytes),
                                  "--seconds",
                                  std::to_string(r.seconds),
                                  "--requests",
                                  std::to_string(r.requests),
                                  "--limit-seconds",
                                  std::to_string(r.limit_seconds)};
    std::vector<char*> argv;
    for (std::string& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, r.program.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
        ::close(out[0]);
        return;
    }
    pid_ = pid;
    out_fd_ = out[0];
}

loadgen_process::~loadgen_process() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        (void)::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
}

loadgen_result loadgen_process::wait(double bound_seconds) {
    loadgen_result r;
    if (pid_ <= 0) {
        r.error = "the load generator could not be started";
        return r;
    }
    // Read its output until it closes stdout (it exits), within the bound.
    std::string text;
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(bound_seconds));
    char buf[512];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0) {
            ::kill(pid_, SIGKILL);
            break;
        }
        pollfd p{out_fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
        const ssize_t n = ::read(out_fd_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > 4096) {
            ::kill(pid_, SIGKILL);
            break;
        }
    }
    int status = 0;
    (void)::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        r.error = WIFEXITED(status) ? "the load generator exited with status " +
                                          std::to_string(WEXITSTATUS(status))
                                    : "the load generator was killed (over its bound?)";
        return r;
    }
    unsigned long long requests = 0, p50 = 0, p99 = 0;
    double seconds = 0;
    if (std::sscanf(text.c_str(), "ok requests=%llu seconds=%lf p50_ns=%llu p99_ns=%llu", &requests,
                    &seconds, &p50, &p99) != 4) {
        r.error = "the load generator printed no result line";
        return r;
    }
    r.ok = true;
    r.requests = requests;
    r.seconds = seconds;
    r.p50_ns = static_cast<double>(p50);
    r.p99_ns = static_cast<double>(p99);
    return r;
}

std::string loadgen_beside_self() {
    std::vector<char> path(4096);
    const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size() - 1);
    if (n <= 0) return "airlock-sys-loadgen";
    std::string self(path.data(), static_cast<std::size_t>(n));
    const auto slash = self.rfind('/');
    return (slash == std::string::npos ? std::string() : self.substr(0, slash + 1)) +
           "airlock-sys-loadgen";
}

}  // namespace airlock::bench
