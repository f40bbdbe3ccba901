// SPDX-License-Identifier: Apache-2.0
// apps/ps/load.cc: the load generator's loop (load.hh).
#include "ps/load.hh"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <random>
#include <vector>

#include "ps/protocol.hh"

namespace airlock::ps {
namespace {

using clock_type = std::chrono::steady_clock;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               clock_type::now().time_since_epoch())
        .count();
}

// Draws ids uniformly or from Zipf(s) over 0..keys-1 (rank r has weight
// 1/(r+1)^s; id r is the r-th most popular).
class key_sampler {
  public:
    key_sampler(std::uint64_t keys, double s) : keys_(keys) {
        if (s <= 0) return;
        cdf_.resize(keys);
        double sum = 0;
        for (std::uint64_t r = 0; r < keys; ++r)
            cdf_[r] = sum += std::pow(double(r + 1), -s);
        for (double& c : cdf_)
            c /= sum;
    }
    std::uint64_t operator()(std::mt19937_64& rng) {
        if (cdf_.empty()) return rng() % keys_;
        const double u = std::uniform_real_distribution<double>(0, 1)(rng);
        const auto it = std::lower_bound(cdf_.begin(), cdf_.end(), u);
        return std::min<std::uint64_t>(static_cast<std::uint64_t>(it - cdf_.begin()), keys_ - 1);
    }

  private:
    std::uint64_t keys_;
    std::vector<double> cdf_;
};

struct pending {
    std::int64_t due_ns;
    op o;
    std::uint32_t count;
};

struct conn {
    int fd = -1;
    bool alive = true;
    std::vector<std::byte> out;
    std::size_t sent = 0;
    std::vector<std::byte> in;
    std::deque<pending> waiting;
};

constexpr std::size_t max_backlog = std::size_t{1} << 20;  // unsent bytes per connection

int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

// One stats request on a blocking connection.
expected<server_stats> query_stats(int fd) {
    std::vector<std::byte> req;
    encode_stats(req);
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
        return unexpected(errc::platform_unavailable);
    std::vector<std::byte> buf(header_bytes + sizeof(server_stats));
    std::size_t got = 0;
    while (got < buf.size()) {
        const ssize_t n = ::recv(fd, buf.data() + got, buf.size() - got, 0);
        if (n <= 0) return unexpected(errc::platform_unavailable);
        got += static_cast<std::size_t>(n);
    }
    const auto r = check_reply(buf, op::stats, 0, 0);
    if (!r) return unexpected(r.error());
    return decode_stats(*r);
}

double percentile(std::vector<std::int64_t>& v, double q) {
    if (v.empty()) return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]);
}

class generator {
  public:
    explicit generator(const load_options& o)
        : o_(o), rng_(o.seed), keys_(o.keys, o.zipf), ids_(o.batch), grads_(o.batch * o.dimension) {
        for (std::size_t i = 0; i < grads_.size(); ++i)
            grads_[i] = 0.001f * static_cast<float>(static_cast<int>(i % 7) - 3);
    }

    // Appends one request to c, due at `due`.
    void send_one(conn& c, std::int64_t due) {
        if (c.out.size() - c.sent > max_backlog) {
            ++result_.unsent;
            return;
        }
        for (auto& id : ids_)
            id = keys_(rng_);
        const bool push = std::uniform_real_distribution<double>(0, 1)(rng_) < o_.push_fraction;
        if (push)
            encode_push(c.out, ids_, grads_, o_.dimension);
        else
            encode_pull(c.out, ids_);
        c.waiting.push_back({due, push ? op::push : op::pull, o_.batch});
        ++result_.sent;
    }

    void flush(conn& c) {
        while (c.alive && c.sent < c.out.size()) {
            const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent,
                                     MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
            if (n <= 0) return lose(c);
            c.sent += static_cast<std::size_t>(n);
        }
        if (c.sent == c.out.size()) {
            c.out.clear();
            c.sent = 0;
        } else if (c.sent > max_backlog) {
            c.out.erase(c.out.begin(), c.out.begin() + static_cast<std::ptrdiff_t>(c.sent));
            c.sent = 0;
        }
    }

    // Reads replies; returns how many completed. Fails on a bad reply.
    expected<std::size_t> receive(conn& c) {
        std::byte buf[64 * 1024];
        const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
        if (n <= 0) {
            lose(c);
            return 0;
        }
        const std::int64_t t = now_ns();
        c.in.insert(c.in.end(), buf, buf + n);
        std::size_t pos = 0, done = 0;
        while (true) {
            const auto h = peek_header(std::span(c.in).subspan(pos));
            if (!h || c.in.size() - pos < h->frame_bytes()) break;
            if (c.waiting.empty()) return unexpected(errc::ps_bad_response);
            const pending p = c.waiting.front();
            c.waiting.pop_front();
            const auto r = check_reply(std::span(c.in).subspan(pos, h->frame_bytes()), p.o, p.count,
                                       o_.dimension);
            if (!r) return unexpected(r.error());
            if (r->status() != errc::ok) ++result_.errors;
            ++result_.completed;
            last_reply_ns_ = t;
            latencies_.push_back(t - p.due_ns);
            pos += h->frame_bytes();
            ++done;
        }
        c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(pos));
        return done;
    }

    void lose(conn& c) {
        c.alive = false;
        result_.lost += c.waiting.size();
        c.waiting.clear();
    }

    expected<load_result> run(std::vector<conn>& conns) {
        const std::int64_t start = now_ns();
        const std::int64_t end = start + static_cast<std::int64_t>(o_.seconds * 1e9);
        const std::int64_t drain_end = end + static_cast<std::int64_t>(o_.drain_seconds * 1e9);
        const bool open = o_.rate > 0;
        const double gap_ns = open ? 1e9 / o_.rate : 0;
        std::exponential_distribution<double> exp_gap(1.0);
        double next = static_cast<double>(start);
        std::size_t rr = 0;
        if (!open)
            for (auto& c : conns)
                for (std::size_t i = 0; i < o_.depth; ++i)
                    send_one(c, start);
        latencies_.reserve(open ? static_cast<std::size_t>(o_.rate * o_.seconds * 1.1) + 16
                                : std::size_t{1} << 16);
        std::vector<pollfd> fds(conns.size());
        for (std::int64_t t = now_ns();; t = now_ns()) {
            if (open && t < end) {
                while (next <= static_cast<double>(t)) {
                    send_one(conns[rr++ % conns.size()], static_cast<std::int64_t>(next));
                    next += o_.poisson ? exp_gap(rng_) * gap_ns : gap_ns;
                }
            }
            std::size_t outstanding = 0;
            for (std::size_t i = 0; i < conns.size(); ++i) {
                flush(conns[i]);
                outstanding += conns[i].waiting.size();
                fds[i].fd = conns[i].alive ? conns[i].fd : -1;
                fds[i].events = static_cast<short>(
                    POLLIN | (conns[i].out.size() > conns[i].sent ? POLLOUT : 0));
                fds[i].revents = 0;
            }
            if (t >= end && (outstanding == 0 || t >= drain_end)) break;
            std::int64_t wait = (open && t < end) ? static_cast<std::int64_t>(next) - t
                                                  : (t < end ? end - t : drain_end - t);
            wait = std::clamp<std::int64_t>(wait, 0, 10'000'000);
            const timespec ts{0, static_cast<long>(wait)};
            if (::ppoll(fds.data(), fds.size(), &ts, nullptr) <= 0) continue;
            for (std::size_t i = 0; i < conns.size(); ++i) {
                if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                const auto done = receive(conns[i]);
                if (!done) return unexpected(done.error());
                if (!open && now_ns() < end)
                    for (std::size_t k = 0; k < *done; ++k)
                        send_one(conns[i], now_ns());
            }
        }
        for (auto& c : conns)
            result_.lost += c.waiting.size();
        result_.offered_rate = o_.rate;
        // Replies over the time from the first request to the last reply, at
        // least the sending time: a server that falls behind stretches it.
        const double span_s =
            std::max(o_.seconds, static_cast<double>(last_reply_ns_ - start) / 1e9);
        result_.achieved_rate = static_cast<double>(result_.completed) / span_s;
        result_.p50_ns = percentile(latencies_, 0.50);
        result_.p90_ns = percentile(latencies_, 0.90);
        result_.p99_ns = percentile(latencies_, 0.99);
        result_.p999_ns = percentile(latencies_, 0.999);
        return result_;
    }

  private:
    const load_options& o_;
    std::mt19937_64 rng_;
    key_sampler keys_;
    std::vector<std::uint64_t> ids_;
    std::vector<float> grads_;
    std::vector<std::int64_t> latencies_;
    std::int64_t last_reply_ns_ = 0;
    load_result result_{};
};

}  // namespace

expected<load_result> run_load(const load_options& o) {
    if (o.port == 0 || o.connections == 0 || o.rate < 0 || o.depth == 0 || o.seconds <= 0 ||
        o.keys == 0 || o.batch == 0 || o.dimension == 0 || o.push_fraction < 0 ||
        o.push_fraction > 1)
        return unexpected(errc::invalid_argument);
    // Short ppoll timeouts wake on time: the default 50 us timer slack would
    // bunch open-loop arrivals.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    const int stats_fd = connect_to(o.port);
    if (stats_fd < 0) return unexpected(errc::platform_unavailable);
    std::vector<conn> conns(o.connections);
    auto cleanup = [&] {
        ::close(stats_fd);
        for (auto& c : conns)
            if (c.fd >= 0) ::close(c.fd);
    };
    for (auto& c : conns) {
        c.fd = connect_to(o.port);
        if (c.fd < 0) {
            cleanup();
            return unexpected(errc::platform_unavailable);
        }
    }
    const auto before = query_stats(stats_fd);
    if (!before) {
        cleanup();
        return unexpected(before.error());
    }
    generator g(o);
    auto r = g.run(conns);
    const auto after = query_stats(stats_fd);
    cleanup();
    if (!r) return r;
    if (!after) return unexpected(after.error());
    const std::uint64_t served =
        after->requests + after->errors - before->requests - before->errors;
    if (served > 0)
        r->trusted_ns_per_request = static_cast<double>(after->trusted_ns - before->trusted_ns) /
                                    static_cast<double>(served);
    return r;
}

std::string to_json(const load_result& r, const std::string& mode) {
    char buf[512];
    std::snprintf(
        buf, sizeof buf,
        "{\"bench\":\"ps\",\"mode\":\"%s\",\"offered_rate\":%.0f,\"achieved_rate\":%.0f,"
        "\"p50_ns\":%.0f,\"p99_ns\":%.0f,\"trusted_ns_per_request\":%.0f,"
        "\"p999_ns\":%.0f,\"sent\":%llu,\"completed\":%llu,\"errors\":%llu,"
        "\"unsent\":%llu,\"lost\":%llu}",
        mode.c_str(), r.offered_rate, r.achieved_rate, r.p50_ns, r.p99_ns, r.trusted_ns_per_request,
        r.p999_ns, static_cast<unsigned long long>(r.sent),
        static_cast<unsigned long long>(r.completed), static_cast<unsigned long long>(r.errors),
        static_cast<unsigned long long>(r.unsent), static_cast<unsigned long long>(r.lost));
    return buf;
}

}  // namespace airlock::ps
