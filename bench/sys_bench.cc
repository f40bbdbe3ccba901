// SPDX-License-Identifier: Apache-2.0
// airlock-bench sys: file and socket I/O three ways, interleaved in one
// process, the enclave on `sim` (the default) or on `process` (--platform):
//
//   native      no enclave: a host thread making the calls itself (files),
//               a single-threaded epoll echo server (network);
//   transition  enclave code through the sys layer, one modelled transition
//               and one blocking system call per call (on `sim` made by the
//               enclave thread; on `process`, where it may make none, by a
//               host thread of the link's own while the enclave thread
//               waits, blocked: sys/transition.hh);
//   airlock     enclave code through the sys layer's io_uring ring path,
//               with 1 or k operations in flight.
//
// File workloads (bench/sys_native_files.hh has the native side):
// pread_4k, random 4 KiB preads of a page-cached file; read_64k, 64 KiB
// reads at consecutive offsets, back to 0 at the end; append_4k, 4 KiB
// writes to an O_APPEND file (truncated at each run's start) with an
// fdatasync after every 64th (its latency runs to the sync's end).
// Latencies are per operation, taken where the calls are made (inside the
// enclave with the executor's clock).
//
// Network workloads rr_64 and rr_4k: the server under test echoes every
// byte back; airlock-sys-loadgen (bench/sys_loadgen.cc, a separate process
// built on nothing of Airlock) drives it over loopback TCP with N
// connections and one request outstanding on each, and measures and checks
// every reply, the same way in every mode. The enclave's server serves its
// connections from `in_flight` coroutines, each taking its share of the
// connections in turn (receive a whole request, echoing each piece as it
// comes, then the next connection), so at most `in_flight` calls wait at
// once; the transition server is one such coroutine (a blocking call stops
// the whole enclave thread).
//
// Each figure is the median of interleaved repetitions. `idle` is the sys
// service thread's CPU use while everything waits (and the process's).
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/sys/file.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/service.hh"
#include "airlock/sys/socket.hh"
#include "commands.hh"
#include "support.hh"
#include "sys_host.hh"
#include "sys_native_files.hh"

namespace airlock::bench {

namespace {

using async::task;

struct sys_options : common_options {
    std::size_t file_mib = 256;
    std::vector<std::size_t> in_flight{1, 32};
    std::vector<std::size_t> connections{1, 16, 256};
    std::vector<std::string> workloads{"pread_4k", "read_64k", "append_4k", "rr_64", "rr_4k"};
    std::string dir = "/tmp";
    std::string loadgen;
    double idle_seconds = 1.0;
    std::string platform_name = "sim";
};

// params: workload (file_workload), transport (0 ring, 1 transition),
// in_flight, duration ns, file bytes. result: ops, p50 ns, p99 ns (0 ops: failed).
constexpr rpc::enclave_method<1, std::vector<std::uint64_t>(std::vector<std::uint64_t>)> run_file{
    "run_file"};
// A run lasts as long as asked, which may outlast the endpoint's default
// call deadline (30 s): the calls carry their own.
constexpr std::uint64_t run_timeout_ns = std::uint64_t{3600} * 1'000'000'000;
// params: the file to read, the file to append to.
constexpr rpc::enclave_method<2, std::uint64_t(std::vector<std::string>)> set_files{"set_files"};
// Listens on 127.0.0.1 by a transport (0 ring, 1 transition); the port.
constexpr rpc::enclave_method<3, std::uint64_t(std::uint64_t)> listen_rr{"listen_rr"};
// params: transport, coroutines, connections, message bytes. Accepts the
// connections, echoes until the peer closes them all; result: requests
// served (0: failed).
constexpr rpc::enclave_method<4, std::uint64_t(std::vector<std::uint64_t>)> serve_rr{"serve_rr"};
// Where the last serve_rr is (server_progress::text).
constexpr rpc::enclave_method<5, std::string()> server_state{"server_state"};

// Where the enclave's server is: read by the host when a run fails or does
// not finish (on the ring path the enclave thread can answer meanwhile).
struct server_progress {
    std::uint64_t accepted = 0;
    std::uint64_t served = 0;
    std::string failure;  // the first failed call, empty if none
    void fail(const char* call, const sys::error& e) {
        if (failure.empty()) failure = std::string(call) + ": " + std::string(sys::to_string(e));
    }
    [[nodiscard]] std::string text() const {
        return "accepted " + std::to_string(accepted) + ", served " + std::to_string(served) +
               (failure.empty() ? "" : ", failed at " + failure);
    }
};

struct enclave_state {
    sys::client* ring = nullptr;
    sys::client* transition = nullptr;
    async::executor* ex = nullptr;
    std::string read_path, append_path;
    sys::listener listeners[2];
    server_progress progress;
};

struct run_stats {
    std::vector<std::uint64_t> latencies;
    bool failed = false;
};

// What the workers of one file run share.
struct file_run_state {
    sys::file file;
    file_workload workload{};
    std::uint64_t file_bytes = 0;
    std::uint64_t deadline = 0;
    std::uint64_t cursor = 0;    // read_64k: the next offset
    std::uint64_t appended = 0;  // append_4k: appends done
};

task<void> file_worker(enclave_state& s, file_run_state& r, std::uint64_t seed, run_stats& out) {
    const std::size_t size = r.workload == file_workload::read_64k ? 65536 : 4096;
    std::vector<std::byte> buf(size, std::byte{'b'});
    const std::uint64_t pages = r.file_bytes / 4096;
    std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (;;) {
        const std::uint64_t start = s.ex->now_ns();
        if (start >= r.deadline) break;
        sys::result<std::size_t> n = 0;
        switch (r.workload) {
            case file_workload::pread_4k:
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                n = co_await r.file.pread(buf, (x % pages) * 4096);
                break;
            case file_workload::read_64k: {
                const std::uint64_t at = r.cursor;
                r.cursor = at + size >= r.file_bytes ? 0 : at + size;
                n = co_await r.file.pread(buf, at);
                break;
            }
            case file_workload::append_4k:
                n = co_await r.file.write(buf);
                if (n && *n == size && ++r.appended % appends_per_sync == 0) {
                    auto synced = co_await r.file.fsync(true);
                    if (!synced) n = unexpected(synced.error());
                }
                break;
        }
        if (!n || *n != size) {
            out.failed = true;
            co_return;
        }
        out.latencies.push_back(s.ex->now_ns() - start);
    }
}

std::vector<std::uint64_t> summarize_runs(std::vector<run_stats>& stats) {
    std::vector<std::uint64_t> all;
    for (const run_stats& r : stats) {
        if (r.failed) return {0, 0, 0};
        all.insert(all.end(), r.latencies.begin(), r.latencies.end());
    }
    if (all.empty()) return {0, 0, 0};
    std::sort(all.begin(), all.end());
    return {all.size(), all[all.size() / 2], all[all.size() * 99 / 100]};
}

task<expected<std::vector<std::uint64_t>>> run_file_in_enclave(enclave_state& s,
                                                               std::vector<std::uint64_t> p) {
    if (p.size() != 5 || p[0] > 2 || p[2] == 0 || p[2] > 1024 || p[4] < 65536)
        co_return unexpected(errc::invalid_argument);
    sys::client& c = p[1] == 1 ? *s.transition : *s.ring;
    file_run_state r;
    r.workload = static_cast<file_workload>(p[0]);
    r.file_bytes = p[4];
    const bool append = r.workload == file_workload::append_4k;
    // (Two statements: GCC 12 mishandles co_await inside a conditional
    // expression's operands.)
    sys::result<sys::file> f = unexpected(sys::error{});
    if (append)
        f = co_await sys::file::open(c, s.append_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
                                     0600);
    else
        f = co_await sys::file::open(c, s.read_path, O_RDONLY);
    if (!f) co_return std::vector<std::uint64_t>{0, 0, 0};
    r.file = std::move(*f);
    r.deadline = s.ex->now_ns() + p[3];
    std::vector<run_stats> stats(p[2]);
    std::vector<task<void>> workers;
    for (std::size_t i = 0; i < p[2]; ++i) {
        stats[i].latencies.reserve(1 << 14);
        workers.push_back(file_worker(s, r, i + 1, stats[i]));
    }
    co_await async::when_all(std::move(workers));
    (void)co_await r.file.close();
    co_return summarize_runs(stats);
}

// One server coroutine: accepts `count` connections, then serves them in
// turn until the peer has closed them all.
task<void> serve_share(server_progress& progress, sys::listener& l, std::size_t count,
                       std::size_t bytes) {
    std::vector<sys::socket> conns;
    for (std::size_t i = 0; i < count; ++i) {
        auto sock = co_await l.accept();
        if (!sock) {
            progress.fail("accept", sock.error());
            co_return;
        }
        if (auto on = co_await sock->set_option(sys::wire::socket_option::no_delay, true); !on) {
            progress.fail("set_option", on.error());
            co_return;
        }
        ++progress.accepted;
        conns.push_back(std::move(*sock));
    }
    std::vector<std::byte> buf(bytes);
    while (!conns.empty()) {
        for (std::size_t i = 0; i < conns.size();) {
            std::size_t got = 0;
            bool closed = false;
            while (got < bytes) {
                auto n = co_await conns[i].recv(std::span(buf).first(bytes - got));
                if (!n || (*n == 0 && got > 0)) {
                    progress.fail("recv", n ? sys::error{errc::sys_bad_result} : n.error());
                    co_return;
                }
                if (*n == 0) {
                    closed = true;
                    break;
                }
                if (auto sent = co_await conns[i].send_all(std::span(buf).first(*n)); !sent) {
                    progress.fail("send", sent.error());
                    co_return;
                }
                got += *n;
            }
            if (closed) {
                (void)co_await conns[i].close();
                conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
                continue;
            }
            ++progress.served;
            ++i;
        }
    }
}

task<expected<std::uint64_t>> serve_rr_in_enclave(enclave_state& s, std::vector<std::uint64_t> p) {
    if (p.size() != 4 || p[0] > 1 || p[1] == 0 || p[2] == 0 || p[2] > 4096 || p[3] == 0 ||
        p[3] > 65536 || !s.listeners[p[0]].is_open())
        co_return unexpected(errc::invalid_argument);
    sys::listener& l = s.listeners[p[0]];
    const std::size_t coroutines = std::min(p[1], p[2]);
    s.progress = {};
    std::vector<task<void>> servers;
    for (std::size_t j = 0; j < coroutines; ++j)
        servers.push_back(
            serve_share(s.progress, l, p[2] / coroutines + (j < p[2] % coroutines ? 1 : 0), p[3]));
    co_await async::when_all(std::move(servers));
    co_return s.progress.failure.empty() ? s.progress.served : 0;
}

void program(platform::enclave_thread& t) {
    auto state = std::make_shared<enclave_state>();
    t.keep_alive->push_back(state);
    state->ex = &t.executor;
    state->ring = &sys::client::attach(t);
    // Link 1: on `process` the transition's requests travel over a link, and
    // one link has one client.
    auto* transition =
        new sys::client(t.executor, t.links[1], t.executor.hooks(),
                        {.transport = sys::transport::transition, .transition_on_host = t.sealed});
    t.keep_alive->push_back(
        std::shared_ptr<void>(transition, [](void* p) { delete static_cast<sys::client*>(p); }));
    state->transition = transition;
    enclave_state& s = *state;
    t.host.serve(set_files, [&s](std::vector<std::string> paths) {
        if (paths.size() == 2) {
            s.read_path = std::move(paths[0]);
            s.append_path = std::move(paths[1]);
        }
        return std::uint64_t{paths.size() == 2 ? 0u : 1u};
    });
    t.host.serve(run_file,
                 [&s](std::vector<std::uint64_t> p) { return run_file_in_enclave(s, p); });
    t.host.serve(listen_rr, [&s](std::uint64_t transport) -> task<expected<std::uint64_t>> {
        if (transport > 1) co_return unexpected(errc::invalid_argument);
        sys::client& c = transport == 1 ? *s.transition : *s.ring;
        // The native server's backlog: the load generator connects all its
        // connections before the server accepts them, and an overflowing
        // queue would cost seconds of SYN-ACK retransmissions.
        auto l =
            co_await sys::listener::listen(c, sys::address::ipv4_loopback(0), {.backlog = 1024});
        if (!l) co_return unexpected(errc::invalid_argument);
        auto at = co_await l->local_address();
        if (!at) co_return unexpected(errc::invalid_argument);
        s.listeners[transport] = std::move(*l);
        co_return std::uint64_t{at->port()};
    });
    t.host.serve(serve_rr,
                 [&s](std::vector<std::uint64_t> p) { return serve_rr_in_enclave(s, p); });
    t.host.serve(server_state, [&s] { return s.progress.text(); });
}

// CPU time (ns) of one thread of this process, from the scheduler.
std::uint64_t thread_cpu_ns(int tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
    std::uint64_t ns = 0;
    in >> ns;
    return ns;
}

std::set<int> thread_ids() {
    std::set<int> ids;
    if (DIR* d = ::opendir("/proc/self/task")) {
        while (dirent* e = ::readdir(d))
            if (e->d_name[0] != '.') ids.insert(std::atoi(e->d_name));
        ::closedir(d);
    }
    return ids;
}

double process_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct row {
    std::string workload;
    std::string mode;
    std::size_t connections;  // 0 for file workloads
    std::size_t in_flight;
    std::string how;  // what the row does, for the table
};

bool is_rr(const std::string& w) {
    return w.rfind("rr_", 0) == 0;
}

file_workload file_kind(const std::string& w) {
    return w == "pread_4k"   ? file_workload::pread_4k
           : w == "read_64k" ? file_workload::read_64k
                             : file_workload::append_4k;
}

void write_read_file(const std::string& path, std::uint64_t bytes) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("sys: cannot create " + path);
    std::vector<char> chunk(1 << 20, 'a');
    for (std::uint64_t at = 0; at < bytes; at += chunk.size())
        if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size()))
            fail("sys: cannot write " + path);
    // Read it once so that it is in the page cache.
    (void)::lseek(fd, 0, SEEK_SET);
    while (::read(fd, chunk.data(), chunk.size()) > 0) {
    }
    ::close(fd);
}

void run_sys_bench(const sys_options& o) {
    for (const std::string& w : o.workloads)
        if (w != "pread_4k" && w != "read_64k" && w != "append_4k" && w != "rr_64" && w != "rr_4k")
            fail("sys: unknown workload " + w);
    if (o.platform_name != "sim" && o.platform_name != "process")
        fail("sys: unknown platform " + o.platform_name);
    const bool on_process = o.platform_name == "process";
    platform::enclave_config config;
    config.platform = on_process ? platform::platform_kind::process : platform::platform_kind::sim;
    config.service_links = 2;  // the ring client's and the transition client's
    config.cpus = o.cpus;
    // The ring path's buffers: 256 connections with 8 KiB received ahead
    // and up to 64 KiB written behind each.
    config.enclave_memory = std::size_t{512} << 20;
    auto e = platform::enclave::create(config, program);
    if (!e) fail("sys: enclave::create failed: " + std::string(to_string(e.error())));
    sys::service_options service_options;
    service_options.cpu = cpu_for(o.cpus, 1);  // the enclave thread has cpus[0]
    const std::set<int> before_service = thread_ids();
    auto svc = sys::service::start_for(**e, 0, service_options);
    if (!svc) fail("sys: the io_uring service could not start");
    // Its thread: the one new since, found before any other service starts.
    int service_tid = -1;
    for (int id : thread_ids())
        if (before_service.count(id) == 0) service_tid = id;
    // On `process` the transition client's link is served too: by the host
    // thread its first request asks for (sim makes its calls in the thread).
    // That service keeps ticking the clock (docs/sys.md): the idle figure
    // below is the first service's thread alone.
    std::unique_ptr<sys::service> transition_service;
    if (on_process) {
        auto t = sys::service::start_for(**e, 1, service_options);
        if (!t) fail("sys: the transition link's service could not start");
        transition_service = std::move(*t);
    }
    auto ch = (*e)->open_channel(0);
    const int host_cpu = cpu_for(o.cpus, 0);  // native runs where the enclave thread runs
    native_echo_server native_server(host_cpu);
    const std::string loadgen = o.loadgen.empty() ? loadgen_beside_self() : o.loadgen;
    if (::access(loadgen.c_str(), X_OK) != 0) fail("sys: no load generator at " + loadgen);

    const std::string read_path = o.dir + "/airlock-bench-sys-" + std::to_string(::getpid());
    const std::string append_path = read_path + "-append";
    const std::uint64_t file_bytes = std::uint64_t{o.file_mib} << 20;
    write_read_file(read_path, file_bytes);
    auto set = async::sync_wait(
        ch->executor(),
        ch->endpoint().call(set_files, std::vector<std::string>{read_path, append_path}));
    if (!set || *set != 0) fail("sys: set_files failed");
    std::uint16_t enclave_port[2];
    for (std::uint64_t transport = 0; transport < 2; ++transport) {
        auto port = async::sync_wait(ch->executor(), ch->endpoint().call(listen_rr, transport));
        if (!port) fail("sys: the enclave could not listen");
        enclave_port[transport] = static_cast<std::uint16_t>(*port);
    }

    std::vector<trial> trials;
    std::vector<row> rows;
    for (const std::string& w : o.workloads) {
        if (!is_rr(w)) {
            const file_workload kind = file_kind(w);
            for (std::size_t k : o.in_flight) {
                rows.push_back({w, "native", 0, k,
                                k == 1 ? (kind == file_workload::pread_4k   ? "pread"
                                          : kind == file_workload::read_64k ? "read"
                                                                            : "write+fdatasync")
                                       : "io_uring, " + std::to_string(k) + " in flight"});
                trials.push_back(
                    {w + "/native/" + std::to_string(k),
                     k,
                     [=, &read_path, &append_path](double seconds) {
                         const file_run r = run_native_file(
                             kind, kind == file_workload::append_4k ? append_path : read_path,
                             file_bytes, k, seconds, host_cpu);
                         if (!r.ok) fail("sys: a native file run failed");
                         return std::vector<double>{static_cast<double>(r.ops) / seconds,
                                                    static_cast<double>(r.p50_ns),
                                                    static_cast<double>(r.p99_ns)};
                     },
                     {}});
            }
            auto add = [&](const char* mode, std::uint64_t transport, std::size_t k) {
                rows.push_back({w, mode, 0, k,
                                transport == 1 ? "modelled ocall + blocking call"
                                               : "ring, " + std::to_string(k) + " coroutines"});
                std::vector<std::uint64_t> params{static_cast<std::uint64_t>(kind), transport, k, 0,
                                                  file_bytes};
                trials.push_back(
                    {w + "/" + mode + "/" + std::to_string(k),
                     k,
                     [&ch, params](double seconds) mutable {
                         params[3] = static_cast<std::uint64_t>(seconds * 1e9);
                         auto r = async::sync_wait(
                             ch->executor(),
                             ch->endpoint().call(run_file, params).with_timeout(run_timeout_ns));
                         if (!r)
                             fail("sys: a file run failed: " + std::string(to_string(r.error())));
                         if (r->size() != 3 || (*r)[0] == 0)
                             fail("sys: a file run failed in the enclave");
                         return std::vector<double>{static_cast<double>((*r)[0]) / seconds,
                                                    static_cast<double>((*r)[1]),
                                                    static_cast<double>((*r)[2])};
                     },
                     {}});
            };
            add("transition", 1, 1);
            for (std::size_t k : o.in_flight)
                add("airlock", 0, k);
            continue;
        }
        const std::size_t bytes = w == "rr_64" ? 64 : 4096;
        for (std::size_t n : o.connections) {
            // mode, transport (2: native), coroutines
            auto add = [&](const char* mode, std::uint64_t transport, std::size_t k,
                           std::string how) {
                rows.push_back({w, mode, n, k, std::move(how)});
                const std::uint16_t port =
                    transport == 2 ? native_server.port() : enclave_port[transport];
                trials.push_back(
                    {w + "/" + mode + "/" + std::to_string(n) + "/" + std::to_string(k),
                     k,
                     [&ch, &svc, &loadgen, port, transport, k, n, bytes](double seconds) {
                         loadgen_process gen({loadgen, port, n, bytes, seconds, 0, seconds + 10});
                         if (!gen.started()) fail("sys: cannot start " + loadgen);
                         if (transport != 2) {
                             auto served = async::sync_wait(
                                 ch->executor(),
                                 ch->endpoint()
                                     .call(serve_rr,
                                           std::vector<std::uint64_t>{transport, k, n, bytes})
                                     .with_timeout(
                                         static_cast<std::uint64_t>((seconds + 20) * 1e9)));
                             if (!served || *served == 0) {
                                 // Ask the enclave where its server is (it answers
                                 // unless a blocking transition holds its thread).
                                 auto where = async::sync_wait(
                                     ch->executor(),
                                     ch->endpoint()
                                         .call(server_state)
                                         .with_timeout(std::uint64_t{2'000'000'000}));
                                 const sys::service_stats st = (*svc)->stats();
                                 fail("sys: the enclave's server (" + std::to_string(n) +
                                      " connections, " + std::to_string(k) + " in flight, " +
                                      (transport == 1 ? "transition" : "ring") + ") " +
                                      (served ? "failed"
                                              : "did not finish: " +
                                                    std::string(to_string(served.error()))) +
                                      "; it " + (where ? *where : "did not answer") +
                                      "; the service so far: " + std::to_string(st.requests) +
                                      " requests, " + std::to_string(st.completions) +
                                      " completions, " + std::to_string(st.sleeps) + " sleeps");
                             }
                         }
                         const loadgen_result r = gen.wait(seconds + 45);
                         if (!r.ok)
                             fail("sys: " + r.error + " (" + std::to_string(n) + " connections, " +
                                  (transport == 2   ? std::string("native")
                                   : transport == 1 ? std::string("transition")
                                                    : "ring, " + std::to_string(k) + " in flight") +
                                  ")");
                         return std::vector<double>{static_cast<double>(r.requests) / r.seconds,
                                                    r.p50_ns, r.p99_ns};
                     },
                     {}});
            };
            add("native", 2, 1, "epoll thread");
            add("transition", 1, 1, "modelled ocall + blocking call, in turn");
            // With fewer connections than k, min(k, n) coroutines: a row
            // that would repeat another is left out.
            std::set<std::size_t> coroutines;
            for (std::size_t k : o.in_flight)
                if (coroutines.insert(std::min(k, n)).second)
                    add("airlock", 0, std::min(k, n),
                        "ring, " + std::to_string(std::min(k, n)) + " coroutines");
        }
    }

    print_environment("sys", o);
    run_interleaved(trials, o);

    // Idle: everything parked; the service thread's and the whole process's
    // CPU over idle_seconds.
    const double cpu0 = process_cpu_seconds();
    const std::uint64_t service0 = service_tid > 0 ? thread_cpu_ns(service_tid) : 0;
    const auto t0 = clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.idle_seconds));
    const double wall = seconds_between(t0, clock::now());
    const double process_idle = 100.0 * (process_cpu_seconds() - cpu0) / wall;
    const double service_idle =
        service_tid > 0
            ? 100.0 * static_cast<double>(thread_cpu_ns(service_tid) - service0) / 1e9 / wall
            : -1;
    ::unlink(read_path.c_str());
    ::unlink(append_path.c_str());

    auto ops = [&](std::size_t i) { return summarize(trials[i], 0).median; };
    // The row of `mode` for the same workload and connections (and, for a
    // native file row, the same in_flight); nullptr if absent.
    auto base_of = [&](std::size_t i, const char* mode) -> const trial* {
        for (std::size_t j = 0; j < rows.size(); ++j)
            if (rows[j].workload == rows[i].workload && rows[j].mode == mode &&
                rows[j].connections == rows[i].connections &&
                (is_rr(rows[i].workload) || rows[j].mode != std::string("native") ||
                 rows[j].in_flight == rows[i].in_flight))
                return &trials[j];
        return nullptr;
    };
    auto ratio = [&](std::size_t i, const char* mode) -> std::string {
        const trial* b = base_of(i, mode);
        return b == nullptr ? "-" : fixed(ops(i) / summarize(*b, 0).median, 2);
    };
    if (o.json) {
        for (std::size_t i = 0; i < trials.size(); ++i)
            json_line()
                .str("bench", "sys")
                .str("workload", rows[i].workload)
                .integer("connections", rows[i].connections)
                .integer("in_flight", rows[i].in_flight)
                .str("mode", rows[i].mode)
                .num("ops_per_sec", ops(i))
                .num("p50_ns", summarize(trials[i], 1).median)
                .num("p99_ns", summarize(trials[i], 2).median)
                .print();
        json_line()
            .str("bench", "sys")
            .str("workload", "idle")
            .num("cpu_percent", service_idle, 2)
            .num("process_cpu_percent", process_idle, 2)
            .print();
        return;
    }
    table out({"workload", "conns", "mode", "in flight", "what it does", "ops/s", "p50 ns",
               "p99 ns", "x native", "x transition"});
    for (std::size_t i = 0; i < trials.size(); ++i)
        out.add_row(
            {rows[i].workload, rows[i].connections == 0 ? "-" : std::to_string(rows[i].connections),
             rows[i].mode, std::to_string(rows[i].in_flight), rows[i].how, grouped(ops(i)),
             grouped(summarize(trials[i], 1).median), grouped(summarize(trials[i], 2).median),
             ratio(i, "native"), ratio(i, "transition")});
    out.print();
    std::printf(
        "\nidle over %.1f s: the sys service thread used %.2f%% of a core, the whole process "
        "%.2f%%\n",
        o.idle_seconds, service_idle, process_idle);
}

}  // namespace

void add_sys_command(CLI::App& app) {
    auto options = std::make_shared<sys_options>();
    options->reps = 5;
    CLI::App* sub = app.add_subcommand(
        "sys", "File and socket I/O: native, the transition, and the enclave's io_uring ring path");
    add_common_options(*sub, *options);
    sub->add_option("--file-mib", options->file_mib,
                    "Size of the file the read workloads read, MiB")
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
        ->capture_default_str();
    sub->add_option("--in-flight", options->in_flight,
                    "Operations in flight for native files and airlock")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{1024}))
        ->capture_default_str();
    sub->add_option("--connections", options->connections, "Connections of the rr workloads")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
        ->capture_default_str();
    sub->add_option("--workloads", options->workloads,
                    "Of pread_4k, read_64k, append_4k, rr_64, rr_4k")
        ->delimiter(',')
        ->capture_default_str();
    sub->add_option("--dir", options->dir, "Folder for the files")->capture_default_str();
    sub->add_option("--loadgen", options->loadgen,
                    "Path of airlock-sys-loadgen (default: beside airlock-bench)");
    sub->add_option("--idle-seconds", options->idle_seconds, "Length of the idle measurement")
        ->capture_default_str();
    sub->add_option("--platform", options->platform_name,
                    "Where the enclave runs: sim (threads of this process) or process (a sealed "
                    "process of its own)")
        ->capture_default_str();
    sub->callback([options] { run_sys_bench(*options); });
}

}  // namespace airlock::bench
