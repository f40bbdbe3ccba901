// SPDX-License-Identifier: Apache-2.0
// airlock-sys-loadgen: the load generator of `airlock-bench sys`'s network
// workloads. A separate program, built on nothing of Airlock (plain POSIX
// sockets and epoll), so that every server it drives (the native epoll
// server, the enclave's by transition and by the ring path) is driven by
// the same code in the same way, from outside the process under test.
//
//   airlock-sys-loadgen --port P --connections N --bytes B
//                       [--seconds S] [--requests R] [--limit-seconds L]
//
// It opens N TCP connections to 127.0.0.1:P (TCP_NODELAY) and sends one
// untimed request on each (so every connection has been accepted and
// served once before the clock starts). Then it keeps one request
// outstanding on each: B bytes whose every byte depends on the
// connection, the request's sequence number and its position, and waits
// for exactly those B bytes to come back. Every reply is compared byte for
// byte with its request. It stops issuing requests after S seconds or R
// requests in all (whichever comes first; 0 turns a bound off, one must be
// set), shuts down its side of each connection as soon as it is done with
// it (so a server never waits on a connection that will send nothing
// more), waits for the outstanding replies, closes every connection and
// prints one line:
//
//   ok requests=<n> seconds=<s> p50_ns=<x> p99_ns=<y>
//
// (seconds from the first request to the last reply; latencies from a
// request's first send to its reply's last byte). Exit status: 0 done, 1 a
// connection failed or a reply differed (the reason on stderr), 2 bad
// arguments, 3 the hard limit L (default S + 10 s, or 60 s) passed.
// Single-threaded; nothing here is trusted or shared with the server.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

struct options {
    unsigned port = 0;
    std::size_t connections = 1;
    std::size_t bytes = 64;
    double seconds = 0;
    std::uint64_t requests = 0;
    double limit_seconds = 0;
};

struct connection {
    int fd = -1;
    std::uint64_t sequence = 0;  // of the request outstanding
    bool outstanding = false;
    std::size_t sent = 0;      // bytes of the request sent so far
    std::size_t received = 0;  // bytes of its reply received so far
    steady::time_point start;
    std::vector<unsigned char> request, reply;
};

[[noreturn]] void die(int status, const std::string& why) {
    std::fprintf(stderr, "airlock-sys-loadgen: %s\n", why.c_str());
    std::exit(status);
}

// Byte i of request `sequence` on connection `c`.
void fill_request(std::vector<unsigned char>& out, std::size_t c, std::uint64_t sequence) {
    std::uint64_t x = (sequence + 1) * 0x9e3779b97f4a7c15ull ^ (c + 1) * 0xc2b2ae3d27d4eb4full;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (i % 8 == 0) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        out[i] = static_cast<unsigned char>(x >> (8 * (i % 8)));
    }
}

bool parse(int argc, char** argv, options& o) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        char* end = nullptr;
        const char* v = argv[i + 1];
        errno = 0;
        if (key == "--port")
            o.port = static_cast<unsigned>(std::strtoul(v, &end, 10));
        else if (key == "--connections")
            o.connections = std::strtoull(v, &end, 10);
        else if (key == "--bytes")
            o.bytes = std::strtoull(v, &end, 10);
        else if (key == "--seconds")
            o.seconds = std::strtod(v, &end);
        else if (key == "--requests")
            o.requests = std::strtoull(v, &end, 10);
        else if (key == "--limit-seconds")
            o.limit_seconds = std::strtod(v, &end);
        else
            return false;
        if (errno != 0 || end == v || *end != '\0') return false;
    }
    if (argc % 2 != 1) return false;
    if (o.port == 0 || o.port > 65535 || o.connections == 0 || o.connections > 4096 ||
        o.bytes == 0 || o.bytes > (1u << 20) || o.seconds < 0 || o.limit_seconds < 0)
        return false;
    if (o.seconds == 0 && o.requests == 0) return false;  // unbounded
    if (o.limit_seconds == 0) o.limit_seconds = o.seconds > 0 ? o.seconds + 10 : 60;
    return true;
}

int connect_to(unsigned port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die(1, std::string("socket: ") + std::strerror(errno));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
        die(1, std::string("connect: ") + std::strerror(errno));
    const int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (!parse(argc, argv, o))
        die(2,
            "usage: airlock-sys-loadgen --port P --connections N --bytes B [--seconds S] "
            "[--requests R] [--limit-seconds L]");

    std::vector<connection> conns(o.connections);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die(1, "epoll_create1 failed");
    for (std::size_t c = 0; c < conns.size(); ++c) {
        conns[c].fd = connect_to(o.port);
        conns[c].request.resize(o.bytes);
        conns[c].reply.resize(o.bytes);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u64 = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[c].fd, &ev) != 0) die(1, "epoll_ctl failed");
    }

    std::vector<std::uint64_t> latencies;
    latencies.reserve(1 << 20);
    steady::time_point begin = steady::now();
    const steady::time_point hard_limit =
        begin + std::chrono::duration_cast<steady::duration>(
                    std::chrono::duration<double>(o.limit_seconds));
    steady::time_point stop_issuing = steady::time_point::max();
    std::uint64_t issued = 0, answered = 0, sequence = 0;
    std::uint64_t budget = 0;  // requests this phase may issue (0: any number)
    bool timed = false;
    steady::time_point last_reply = begin;

    // Sends what is left of connection c's request; arms EPOLLOUT if the
    // socket's buffer is full.
    auto push = [&](std::size_t c) {
        connection& k = conns[c];
        while (k.sent < k.request.size()) {
            const ssize_t n =
                ::send(k.fd, k.request.data() + k.sent, k.request.size() - k.sent, MSG_NOSIGNAL);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            if (n <= 0) die(1, std::string("send: ") + std::strerror(errno));
            k.sent += static_cast<std::size_t>(n);
        }
        epoll_event ev{};
        ev.events = EPOLLIN | (k.sent < k.request.size() ? EPOLLOUT : 0u);
        ev.data.u64 = c;
        (void)epoll_ctl(ep, EPOLL_CTL_MOD, k.fd, &ev);
    };
    // Issues connection c's next request unless this phase is over.
    auto issue = [&](std::size_t c, steady::time_point now) -> bool {
        if (now >= stop_issuing || (budget != 0 && issued >= budget)) return false;
        connection& k = conns[c];
        ++issued;
        k.sequence = sequence++;
        fill_request(k.request, c, k.sequence);
        k.outstanding = true;
        k.sent = 0;
        k.received = 0;
        k.start = steady::now();
        push(c);
        return true;
    };

    // A connection on which no more requests will come: its end of stream
    // goes to the server at once, and it leaves the epoll set. A server that
    // serves its connections in turn must not wait for a request that will
    // never come while another connection's request waits (the order in
    // which replies are seen here is not the order in which they were sent).
    auto finish = [&](std::size_t c) {
        (void)epoll_ctl(ep, EPOLL_CTL_DEL, conns[c].fd, nullptr);
        (void)::shutdown(conns[c].fd, SHUT_WR);
    };

    std::vector<epoll_event> events(std::min<std::size_t>(conns.size(), 256));
    // One phase: a request on every connection, then, while the phase lasts,
    // the next one on each connection as its reply comes; returns once every
    // reply is in.
    auto run_phase = [&] {
        std::size_t outstanding = 0;
        for (std::size_t c = 0; c < conns.size(); ++c) {
            if (issue(c, steady::now()))
                ++outstanding;
            else if (timed)
                finish(c);
        }
        while (outstanding > 0) {
            const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
            if (n < 0 && errno != EINTR) die(1, "epoll_wait failed");
            const steady::time_point now = steady::now();
            if (now >= hard_limit) {
                std::string state;
                for (std::size_t c = 0; c < conns.size() && state.size() < 2000; ++c)
                    if (conns[c].outstanding)
                        state += " c" + std::to_string(c) + ":" + std::to_string(conns[c].sent) +
                                 "/" + std::to_string(conns[c].received);
                die(3, "the hard time limit passed with " + std::to_string(outstanding) +
                           " replies outstanding (" + (timed ? "timed" : "untimed") +
                           " phase; connection:sent/received" + state + ")");
            }
            for (int i = 0; i < n; ++i) {
                const std::size_t c = events[i].data.u64;
                connection& k = conns[c];
                if ((events[i].events & EPOLLOUT) != 0 && k.outstanding) push(c);
                if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) continue;
                if (!k.outstanding) die(1, "the server sent bytes nobody asked for");
                const ssize_t got =
                    ::recv(k.fd, k.reply.data() + k.received, k.reply.size() - k.received, 0);
                if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
                if (got < 0) die(1, std::string("recv: ") + std::strerror(errno));
                if (got == 0) die(1, "the server closed a connection with a reply outstanding");
                k.received += static_cast<std::size_t>(got);
                if (k.received < k.reply.size()) continue;
                const steady::time_point done = steady::now();
                if (std::memcmp(k.reply.data(), k.request.data(), k.reply.size()) != 0)
                    die(1, "a reply differs from its request (connection " + std::to_string(c) +
                               ", request " + std::to_string(k.sequence) + ")");
                if (timed) {
                    latencies.push_back(static_cast<std::uint64_t>(
                        std::chrono::duration_cast<std::chrono::nanoseconds>(done - k.start)
                            .count()));
                    ++answered;
                    last_reply = done;
                }
                k.outstanding = false;
                --outstanding;
                if (issue(c, done))
                    ++outstanding;
                else if (timed)
                    finish(c);
            }
        }
    };

    // Untimed: one request on each connection, so that every connection has
    // been accepted and answered once before the clock starts.
    budget = conns.size();
    run_phase();
    // Timed.
    timed = true;
    issued = 0;
    budget = o.requests;
    begin = steady::now();
    last_reply = begin;
    if (o.seconds > 0)
        stop_issuing = begin + std::chrono::duration_cast<steady::duration>(
                                   std::chrono::duration<double>(o.seconds));
    run_phase();
    for (connection& k : conns)
        ::close(k.fd);
    ::close(ep);
    if (latencies.empty()) die(1, "no request was answered");
    std::sort(latencies.begin(), latencies.end());
    std::printf("ok requests=%llu seconds=%.6f p50_ns=%llu p99_ns=%llu\n",
                static_cast<unsigned long long>(answered),
                std::chrono::duration<double>(last_reply - begin).count(),
                static_cast<unsigned long long>(latencies[latencies.size() / 2]),
                static_cast<unsigned long long>(latencies[latencies.size() * 99 / 100]));
    return 0;
}
