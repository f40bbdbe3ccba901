// SPDX-License-Identifier: Apache-2.0
// airlock-bench sys: enclave code doing I/O through the sys layer, by the
// io_uring ring path (`airlock`, 1 and N operations in flight) and by the
// transition baseline (one modelled transition and a blocking system call
// per call), interleaved in one process, on the `sim` platform (the
// baseline makes its system calls on the enclave thread).
//
// Workloads: pread_4k (random 4 KiB preads of a page-cached file the bench
// writes first), rr_64 and rr_4k (request/response over loopback TCP: the
// enclave sends a message and waits for it to come back from a plain epoll
// echo server on a host thread, not built on Airlock; `in_flight` is the
// number of connections, one request outstanding on each). Each figure is
// the median of interleaved repetitions; latencies are per operation,
// taken with the executor's clock inside the enclave. `idle` is the whole
// process's CPU use while the enclave, the sys service and the host wait.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/sys/file.hh"
#include "airlock/sys/service.hh"
#include "airlock/sys/socket.hh"
#include "commands.hh"
#include "support.hh"

namespace airlock::bench {

namespace {

using async::task;

struct sys_options : common_options {
    std::size_t file_mib = 64;
    std::vector<std::size_t> in_flight{1, 32};
    std::string dir = "/tmp";
    double idle_seconds = 1.0;
};

// params: workload (0 pread_4k, 1 rr), transport (0 ring, 1 transition),
// in_flight, duration ns, message bytes or file bytes, port.
// result: ops, p50 ns, p99 ns (0 ops: failed).
constexpr rpc::enclave_method<1, std::vector<std::uint64_t>(std::vector<std::uint64_t>)> run_sys{
    "run_sys"};
// A run lasts as long as asked, which may outlast the endpoint's default
// call deadline (30 s): the call carries its own.
constexpr std::uint64_t run_timeout_ns = std::uint64_t{3600} * 1'000'000'000;
constexpr rpc::enclave_method<2, std::uint64_t(std::string)> set_file{"set_file"};

struct enclave_state {
    sys::client* ring = nullptr;
    sys::client* transition = nullptr;
    async::executor* ex = nullptr;
    std::string file;
};

struct run_stats {
    std::uint64_t ops = 0;
    std::vector<std::uint64_t> latencies;
    bool failed = false;
};

task<void> pread_worker(enclave_state& s, sys::client& c, std::uint64_t file_bytes,
                        std::uint64_t deadline, std::uint64_t seed, run_stats& out) {
    auto f = co_await sys::file::open(c, s.file, O_RDONLY);
    if (!f) {
        out.failed = true;
        co_return;
    }
    std::vector<std::byte> buf(4096);
    const std::uint64_t pages = file_bytes / 4096;
    std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (;;) {
        const std::uint64_t start = s.ex->now_ns();
        if (start >= deadline) break;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        auto n = co_await f->pread(buf, (x % pages) * 4096);
        if (!n || *n != 4096) {
            out.failed = true;
            co_return;
        }
        out.latencies.push_back(s.ex->now_ns() - start);
        ++out.ops;
    }
}

task<void> rr_worker(enclave_state& s, sys::client& c, std::uint16_t port, std::size_t bytes,
                     std::uint64_t deadline, run_stats& out) {
    auto sock =
        co_await sys::socket::connect(c, sys::address::ipv4_loopback(port), {.no_delay = true});
    if (!sock) {
        out.failed = true;
        co_return;
    }
    std::vector<std::byte> msg(bytes, std::byte{0x42}), back(bytes);
    for (;;) {
        const std::uint64_t start = s.ex->now_ns();
        if (start >= deadline) break;
        if (!co_await sock->send_all(msg)) {
            out.failed = true;
            co_return;
        }
        std::size_t got = 0;
        while (got < bytes) {
            auto n = co_await sock->recv(std::span(back).subspan(got));
            if (!n || *n == 0) {
                out.failed = true;
                co_return;
            }
            got += *n;
        }
        out.latencies.push_back(s.ex->now_ns() - start);
        ++out.ops;
    }
}

task<expected<std::vector<std::uint64_t>>> run_in_enclave(enclave_state& s,
                                                          std::vector<std::uint64_t> p) {
    if (p.size() != 6) co_return unexpected(errc::invalid_argument);
    sys::client& c = p[1] == 1 ? *s.transition : *s.ring;
    const std::uint64_t deadline = s.ex->now_ns() + p[3];
    std::vector<run_stats> stats(p[2]);
    std::vector<task<void>> workers;
    for (std::size_t i = 0; i < p[2]; ++i) {
        stats[i].latencies.reserve(1 << 16);
        if (p[0] == 0)
            workers.push_back(pread_worker(s, c, p[4], deadline, i + 1, stats[i]));
        else
            workers.push_back(
                rr_worker(s, c, static_cast<std::uint16_t>(p[5]), p[4], deadline, stats[i]));
    }
    co_await async::when_all(std::move(workers));
    std::vector<std::uint64_t> all;
    std::uint64_t ops = 0;
    for (const run_stats& r : stats) {
        if (r.failed) co_return std::vector<std::uint64_t>{0, 0, 0};
        ops += r.ops;
        all.insert(all.end(), r.latencies.begin(), r.latencies.end());
    }
    if (all.empty()) co_return std::vector<std::uint64_t>{0, 0, 0};
    std::sort(all.begin(), all.end());
    co_return std::vector<std::uint64_t>{ops, all[all.size() / 2], all[all.size() * 99 / 100]};
}

void program(platform::enclave_thread& t) {
    auto state = std::make_shared<enclave_state>();
    t.keep_alive->push_back(state);
    state->ex = &t.executor;
    state->ring = &sys::client::attach(t);
    auto* transition = new sys::client(t.executor, t.links[0], t.executor.hooks(),
                                       {.transport = sys::transport::transition});
    t.keep_alive->push_back(
        std::shared_ptr<void>(transition, [](void* p) { delete static_cast<sys::client*>(p); }));
    state->transition = transition;
    enclave_state& s = *state;
    t.host.serve(set_file, [&s](std::string path) {
        s.file = std::move(path);
        return std::uint64_t{0};
    });
    t.host.serve(run_sys, [&s](std::vector<std::uint64_t> p) { return run_in_enclave(s, p); });
}

// A plain single-threaded epoll echo server on loopback (what a user would
// write without an enclave).
class echo_server {
  public:
    echo_server() {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
            ::listen(listen_fd_, 1024) != 0)
            fail("echo server: bind/listen failed");
        socklen_t len = sizeof sa;
        (void)getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len);
        port_ = ntohs(sa.sin_port);
        ::pipe2(stop_pipe_, O_CLOEXEC);
        thread_ = std::thread([this] { run(); });
    }
    ~echo_server() {
        (void)::write(stop_pipe_[1], "x", 1);
        thread_.join();
        ::close(listen_fd_);
        ::close(stop_pipe_[0]);
        ::close(stop_pipe_[1]);
    }
    [[nodiscard]] std::uint16_t port() const { return port_; }

  private:
    void run() {
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
                        epoll_event cev{};
                        cev.events = EPOLLIN;
                        cev.data.fd = c;
                        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                    }
                    continue;
                }
                const ssize_t got = ::read(fd, buf.data(), buf.size());
                if (got <= 0) {
                    ::close(fd);
                    continue;
                }
                // Loopback with small messages: the reply fits the send buffer.
                ssize_t off = 0;
                while (off < got) {
                    const ssize_t w = ::send(fd, buf.data() + off,
                                             static_cast<std::size_t>(got - off), MSG_NOSIGNAL);
                    if (w <= 0) break;
                    off += w;
                }
            }
        }
    }
    int listen_fd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    std::uint16_t port_ = 0;
    std::thread thread_;
};

double process_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct workload {
    const char* name;
    std::uint64_t kind;  // 0 pread, 1 rr
    std::size_t bytes;   // rr message size
};

void run_sys_bench(const sys_options& o) {
    platform::enclave_config config;
    config.platform = platform::platform_kind::sim;
    config.service_links = 1;
    config.cpus = o.cpus;
    auto e = platform::enclave::create(config, program);
    if (!e) fail("sys: enclave::create failed: " + std::string(to_string(e.error())));
    sys::service_options service_options;
    service_options.cpu = cpu_for(o.cpus, 1);  // the enclave thread has cpus[0]
    auto svc = sys::service::start_for(**e, 0, service_options);
    if (!svc) fail("sys: the io_uring service could not start");
    auto ch = (*e)->open_channel(0);
    echo_server echo;

    // The file: written once, then read so it is in the page cache.
    const std::string path = o.dir + "/airlock-bench-sys-" + std::to_string(::getpid());
    const std::uint64_t file_bytes = std::uint64_t{o.file_mib} << 20;
    {
        const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) fail("sys: cannot create " + path);
        std::vector<char> chunk(1 << 20, 'a');
        for (std::uint64_t at = 0; at < file_bytes; at += chunk.size())
            if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size()))
                fail("sys: cannot write " + path);
        ::close(fd);
    }
    (void)async::sync_wait(ch->executor(), ch->endpoint().call(set_file, path));

    const workload workloads[] = {{"pread_4k", 0, 4096}, {"rr_64", 1, 64}, {"rr_4k", 1, 4096}};
    std::vector<trial> trials;
    struct meta {
        const char* workload;
        const char* mode;
        std::size_t in_flight;
    };
    std::vector<meta> metas;
    for (const workload& w : workloads) {
        auto add = [&](const char* mode, std::uint64_t transport, std::size_t k) {
            std::vector<std::uint64_t> params{
                w.kind, transport, k, 0, w.kind == 0 ? file_bytes : w.bytes, echo.port()};
            trials.push_back(
                {std::string(w.name) + "/" + mode + "/" + std::to_string(k),
                 k,
                 [&ch, params](double seconds) mutable {
                     params[3] = static_cast<std::uint64_t>(seconds * 1e9);
                     auto r = async::sync_wait(
                         ch->executor(),
                         ch->endpoint().call(run_sys, params).with_timeout(run_timeout_ns));
                     if (!r || r->size() != 3 || (*r)[0] == 0)
                         fail("sys: a run failed in the enclave");
                     return std::vector<double>{static_cast<double>((*r)[0]) / seconds,
                                                static_cast<double>((*r)[1]),
                                                static_cast<double>((*r)[2])};
                 },
                 {}});
            metas.push_back({w.name, mode, k});
        };
        add("transition", 1, 1);
        for (std::size_t k : o.in_flight)
            add("airlock", 0, k);
    }

    print_environment("sys", o);
    run_interleaved(trials, o);

    // Idle: everything parked; the whole process's CPU over idle_seconds.
    const double cpu0 = process_cpu_seconds();
    const auto t0 = clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_seconds));
    const double idle_percent =
        100.0 * (process_cpu_seconds() - cpu0) / seconds_between(t0, clock::now());
    ::unlink(path.c_str());

    auto transition_of = [&](const char* w) -> const trial* {
        for (std::size_t i = 0; i < trials.size(); ++i)
            if (std::strcmp(metas[i].workload, w) == 0 &&
                std::strcmp(metas[i].mode, "transition") == 0)
                return &trials[i];
        return nullptr;
    };
    if (o.json) {
        for (std::size_t i = 0; i < trials.size(); ++i)
            json_line()
                .str("bench", "sys")
                .str("workload", metas[i].workload)
                .integer("connections", metas[i].workload[0] == 'r' ? metas[i].in_flight : 0)
                .integer("in_flight", metas[i].in_flight)
                .str("mode", metas[i].mode)
                .num("ops_per_sec", summarize(trials[i], 0).median)
                .num("p50_ns", summarize(trials[i], 1).median)
                .num("p99_ns", summarize(trials[i], 2).median)
                .print();
        json_line()
            .str("bench", "sys")
            .str("workload", "idle")
            .num("cpu_percent", idle_percent, 2)
            .print();
        return;
    }
    table out({"workload", "mode", "in flight", "ops/s", "p50 ns", "p99 ns", "x transition"});
    for (std::size_t i = 0; i < trials.size(); ++i) {
        const trial* base = transition_of(metas[i].workload);
        const double ratio = summarize(trials[i], 0).median / summarize(*base, 0).median;
        out.add_row({metas[i].workload, metas[i].mode, std::to_string(metas[i].in_flight),
                     grouped(summarize(trials[i], 0).median),
                     grouped(summarize(trials[i], 1).median),
                     grouped(summarize(trials[i], 2).median), fixed(ratio, 2)});
    }
    out.print();
    std::printf("\nidle: the whole process used %.2f%% of a core over %.1f s\n", idle_percent,
                o.idle_seconds);
}

}  // namespace

void add_sys_command(CLI::App& app) {
    auto options = std::make_shared<sys_options>();
    CLI::App* sub = app.add_subcommand(
        "sys", "Enclave file and socket I/O: the io_uring ring path against the transition");
    add_common_options(*sub, *options);
    sub->add_option("--file-mib", options->file_mib, "Size of the file pread_4k reads, MiB")
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
        ->capture_default_str();
    sub->add_option("--in-flight", options->in_flight, "Operations in flight for airlock")
        ->capture_default_str();
    sub->add_option("--dir", options->dir, "Folder for the file")->capture_default_str();
    sub->add_option("--idle-seconds", options->idle_seconds, "Length of the idle measurement")
        ->capture_default_str();
    sub->callback([options] { run_sys_bench(*options); });
}

}  // namespace airlock::bench
