// SPDX-License-Identifier: Apache-2.0
// airlock-kv inside an enclave (enclave_front.hh). The enclave half (the
// `kv_program` and its coroutines) makes no system call: time comes from
// sys::clock, bytes from sys sockets.

#include "enclave_front.hh"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <span>
#include <vector>

#include "airlock/async/event.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/async/task.hh"
#include "airlock/rpc/method.hh"
#include "airlock/sys/clock.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/poll.hh"
#include "airlock/sys/service.hh"
#include "airlock/sys/socket.hh"

namespace airlock::kv {

namespace {

using async::task;

// What the host tells the enclave when it creates it (only these bytes cross).
struct kv_settings {
    std::uint64_t memory = 0;
    std::uint64_t item_max = 0;
    std::uint64_t max_connections = 0;
    std::uint64_t threads = 1;
    std::uint64_t suvm_size = 0;  // 0: values in enclave memory, else the value space's
    std::uint64_t suvm_cache = 0;
    std::uint64_t transition = 0;  // 1: sys calls by the transition baseline (--io transition)
};

// Starts serving on the calling channel's enclave thread: (port, IPv4
// address); returns the port bound. Thread 0 starts first (it makes the
// engine; port 0 picks one); the others then listen on the port it bound.
constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t, std::string)> start_kv{"kv_start"};

// --- enclave side -------------------------------------------------------

// What one enclave thread publishes for `stats`, which any thread may run:
// written by that thread only (relaxed), read by the others.
struct thread_stats {
    std::atomic<std::uint64_t> connections{0};  // accepted by this thread, ever
    std::atomic<std::uint64_t> sys_in_flight{0};
    std::atomic<std::uint64_t> sys_open_handles{0};
    std::atomic<std::uint32_t> sys_fault{0};  // errc
};

// The enclave-wide context: what every enclave thread shares. The engine
// (its store is safe for several threads) is made by thread 0's kv_start,
// which the host awaits before it starts the other threads.
struct kv_shared {
    explicit kv_shared(const kv_settings& s)
        : settings(s), threads(std::make_unique<thread_stats[]>(s.threads)) {}
    kv_settings settings;
    std::unique_ptr<suvm::space> values;  // before eng: the store's values outlive it
    std::unique_ptr<engine> eng;
    std::atomic<bool> ready{false};  // eng is made (release by thread 0)
    // Unix seconds: the latest reading of any thread's sys::clock (one clock
    // per thread; each thread reads its own before it runs commands).
    std::atomic<std::int64_t> now{0};
    std::unique_ptr<thread_stats[]> threads;
};

// One enclave thread's server: made by kv_program, used only on its thread.
struct enclave_server {
    enclave_server(kv_shared& sh, sys::client& c, std::size_t i, std::span<std::byte> u)
        : shared(sh), client(c), clk(c), index(i), published(sh.threads[i]), untrusted(u) {}
    kv_shared& shared;
    sys::client& client;
    sys::clock clk;
    std::size_t index;
    thread_stats& published;
    std::span<std::byte> untrusted;  // the value space's backing store (hostile)
    engine* eng = nullptr;
    counters* ctr = nullptr;

    // Reads this thread's clock into the shared time (never backwards).
    void refresh_clock() noexcept {
        auto ns = clk.realtime_ns();
        if (!ns) return;
        const auto t = static_cast<std::int64_t>(*ns / 1'000'000'000u);
        auto seen = shared.now.load(std::memory_order_relaxed);
        while (t > seen && !shared.now.compare_exchange_weak(seen, t, std::memory_order_relaxed)) {
        }
    }
    // Publishes this thread's boundary counters for `stats` on other threads.
    void publish() noexcept {
        published.sys_in_flight.store(client.in_flight(), std::memory_order_relaxed);
        published.sys_open_handles.store(client.open_handles(), std::memory_order_relaxed);
        published.sys_fault.store(static_cast<std::uint32_t>(client.fault()),
                                  std::memory_order_relaxed);
    }
};

constexpr std::size_t recv_chunk = 16384;

// One connection: a reader and a writer coroutine on the enclave thread.
// The reader receives and runs the engine; the writer takes the replies
// (a copy, so the engine may go on appending) and sends them while the
// reader already waits for the next request: a receive and a send are in
// flight together. Each coroutine owns a reference to the connection and
// the server: the executor destroys suspended frames after the thread's
// keep_alive objects are gone.
struct conn_state {
    conn_state(std::shared_ptr<enclave_server> s, sys::socket sk)
        : srv(std::move(s)), conn(*srv->eng, *srv->ctr), sock(std::move(sk)) {}
    std::shared_ptr<enclave_server> srv;
    connection conn;
    sys::socket sock;
    async::async_event output_ready;  // the reader made replies, or stopped
    async::async_event room;          // the writer took replies: the reader may go on
    bool reader_done = false;
    bool writer_failed = false;
};

task<void> write_loop(std::shared_ptr<conn_state> st) {
    std::string sending;
    for (;;) {
        (void)co_await st->output_ready.wait();
        st->output_ready.reset();
        while (!st->conn.output().empty() && !st->conn.closing_now()) {
            sending.assign(st->conn.output());
            st->conn.consumed(sending.size());
            if (st->conn.has_pending_input() && st->conn.wants_input()) st->conn.resume();
            st->room.set();
            if (!co_await st->sock.send_all(std::as_bytes(std::span(sending)))) {
                st->writer_failed = true;
                break;
            }
        }
        if (st->writer_failed || st->reader_done || st->conn.closing()) break;
    }
    st->room.set();
    // The reader may still wait in recv: shutting both directions ends it.
    (void)co_await st->sock.shutdown(sys::shutdown_how::both);
}

task<void> serve_connection(std::shared_ptr<enclave_server> srv, async::executor& ex,
                            sys::socket s) {
    auto st = std::make_shared<conn_state>(std::move(srv), std::move(s));
    ex.spawn(write_loop(st));
    std::vector<std::byte> buf(recv_chunk);
    while (!st->writer_failed) {
        if (!st->conn.wants_input()) {
            if (st->conn.closing()) break;
            st->room.reset();
            if (!st->conn.wants_input()) (void)co_await st->room.wait();
            continue;
        }
        auto n = co_await st->sock.recv(buf);
        if (!n || *n == 0) break;
        st->srv->refresh_clock();
        st->srv->publish();
        st->conn.receive(std::string_view(reinterpret_cast<const char*>(buf.data()), *n));
        if (st->conn.closing_now()) break;
        if (!st->conn.output().empty() || st->conn.closing()) st->output_ready.set();
    }
    st->reader_done = true;
    st->output_ready.set();
}

task<void> accept_loop(async::executor& ex, std::shared_ptr<enclave_server> srv, sys::listener l) {
    for (;;) {
        auto s = co_await l.accept();
        if (!s) co_return;
        if (srv->eng->curr_connections.load(std::memory_order_relaxed) >=
            srv->shared.settings.max_connections) {
            static constexpr char msg[] = "ERROR Too many open connections\r\n";
            (void)co_await s->send_all(std::as_bytes(std::span(msg, sizeof msg - 1)));
            srv->eng->rejected_connections.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        counters::bump(srv->published.connections);
        ex.spawn(serve_connection(srv, ex, std::move(*s)));
    }
}

// --- the transition baseline (--io transition) ---------------------------
//
// Every sys call blocks the enclave thread there, as memcached's worker
// thread does inside an SDK enclave, where libevent's epoll_wait, each read
// and each sendmsg is an ocall: one loop per enclave thread polls its
// listener and connections (one transition), then accepts, receives and
// runs the commands of each ready one, and sends its replies at once (a
// transition each). Between rounds it yields, so the executor still serves
// the host's calls.

struct blocking_conn {
    blocking_conn(engine& e, counters& c, sys::socket s) : conn(e, c), sock(std::move(s)) {}
    connection conn;
    sys::socket sock;
};

// Receives what a ready connection has, runs its commands and sends the
// replies; false when the connection is to be closed.
task<bool> serve_ready(enclave_server& srv, blocking_conn& c, std::span<std::byte> buf) {
    if (c.conn.wants_input()) {
        auto n = co_await c.sock.recv(buf);
        if (!n || *n == 0) co_return false;
        srv.refresh_clock();
        srv.publish();
        c.conn.receive(std::string_view(reinterpret_cast<const char*>(buf.data()), *n));
    }
    while (!c.conn.output().empty() && !c.conn.closing_now()) {
        auto sent = co_await c.sock.send(std::as_bytes(std::span(c.conn.output())));
        if (!sent) co_return false;
        c.conn.consumed(*sent);
        if (c.conn.has_pending_input() && c.conn.wants_input()) c.conn.resume();
    }
    co_return !c.conn.closing();
}

task<void> transition_loop(async::executor& ex, std::shared_ptr<enclave_server> srv,
                           sys::listener l) {
    using namespace std::chrono_literals;
    std::vector<std::unique_ptr<blocking_conn>> conns;
    std::vector<sys::poll_entry> ready;
    std::vector<std::byte> buf(recv_chunk);
    for (;;) {
        ready.assign(1, {.target = l.native_handle()});
        for (const auto& c : conns)
            ready.push_back({.target = c->sock.native_handle()});
        // A bounded wait: the executor's other work (the host's calls) runs
        // between rounds.
        auto n = co_await sys::poll(srv->client, ready, 100ms);
        if (!n) co_return;  // the service stopped or the link failed
        for (std::size_t i = conns.size(); i-- > 0;) {
            if (ready[i + 1].revents == 0) continue;
            if (!co_await serve_ready(*srv, *conns[i], buf)) {
                (void)co_await conns[i]->sock.close();
                conns.erase(conns.begin() + static_cast<std::ptrdiff_t>(i));
            }
        }
        if (ready[0].revents != 0) {
            auto s = co_await l.accept();
            if (!s) co_return;
            if (srv->eng->curr_connections.load(std::memory_order_relaxed) >=
                srv->shared.settings.max_connections) {
                static constexpr char msg[] = "ERROR Too many open connections\r\n";
                (void)co_await s->send_all(std::as_bytes(std::span(msg, sizeof msg - 1)));
                srv->eng->rejected_connections.fetch_add(1, std::memory_order_relaxed);
            } else {
                counters::bump(srv->published.connections);
                conns.push_back(
                    std::make_unique<blocking_conn>(*srv->eng, *srv->ctr, std::move(*s)));
            }
        }
        co_await ex.schedule();
    }
}

// Thread 0 makes the engine: its clock is the threads' shared reading, its
// `stats` adds each thread's boundary counters and connections.
errc make_engine(enclave_server& s) {
    kv_shared& sh = s.shared;
    engine_config cfg;
    cfg.store.memory_limit = sh.settings.memory;
    cfg.store.item_size_max = sh.settings.item_max;
    if (sh.settings.suvm_size != 0) {
        suvm::space_options o;
        o.size = sh.settings.suvm_size;
        o.cache_bytes = sh.settings.suvm_cache;
        // create checks the store the host handed over (alignment, size).
        auto v = suvm::space::create(o, s.untrusted);
        if (!v) return v.error();
        sh.values = std::move(*v);
        cfg.store.values = sh.values.get();
    }
    server_info info;
    info.platform = "enclave";
    info.io = sh.settings.transition != 0 ? "transition" : "airlock";
    info.threads = static_cast<std::uint32_t>(sh.settings.threads);
    info.max_connections = static_cast<std::uint32_t>(sh.settings.max_connections);
    info.clock = [&sh] { return sh.now.load(std::memory_order_relaxed); };
    s.refresh_clock();
    info.started = info.clock();
    // The enclave boundary as the enclave sees it, summed over the threads:
    // calls in flight, open handles, and whether the host broke a link's
    // contract (the first thread's fault that is not ok); then how many
    // connections each thread accepted.
    info.extra_stats = [&sh](std::string& out) {
        std::uint64_t in_flight = 0, handles = 0;
        auto fault = errc::ok;
        for (std::size_t i = 0; i < sh.settings.threads; ++i) {
            const thread_stats& t = sh.threads[i];
            in_flight += t.sys_in_flight.load(std::memory_order_relaxed);
            handles += t.sys_open_handles.load(std::memory_order_relaxed);
            const auto f = static_cast<errc>(t.sys_fault.load(std::memory_order_relaxed));
            if (fault == errc::ok) fault = f;
        }
        out += "STAT sys_in_flight " + std::to_string(in_flight) + "\r\n";
        out += "STAT sys_open_handles " + std::to_string(handles) + "\r\n";
        out += "STAT sys_fault ";
        out += to_string(fault);
        out += "\r\n";
        for (std::size_t i = 0; i < sh.settings.threads; ++i)
            out += "STAT thread_" + std::to_string(i) + "_connections " +
                   std::to_string(sh.threads[i].connections.load(std::memory_order_relaxed)) +
                   "\r\n";
        if (sh.values) {
            // The value space (--items-in suvm): its cache and whether the
            // host changed its backing store (suvm_fault: ok or the fault).
            const suvm::space_stats v = sh.values->stats();
            out += "STAT suvm_hits " + std::to_string(v.hits) + "\r\n";
            out += "STAT suvm_faults " + std::to_string(v.faults) + "\r\n";
            out += "STAT suvm_write_backs " + std::to_string(v.write_backs) + "\r\n";
            out += "STAT suvm_fault ";
            out += to_string(sh.values->fault());
            out += "\r\n";
        }
    };
    sh.eng = std::make_unique<engine>(cfg, std::move(info));
    sh.ready.store(true, std::memory_order_release);
    return errc::ok;
}

void kv_program(platform::enclave_thread& t, kv_shared& shared) {
    sys::client& c = sys::client::attach(
        t, 0,
        {.transport =
             shared.settings.transition != 0 ? sys::transport::transition : sys::transport::ring});
    auto srv = std::make_shared<enclave_server>(shared, c, t.index, t.untrusted_memory);
    t.keep_alive->push_back(srv);
    auto& ex = t.executor;
    t.host.serve(
        start_kv,
        [&c, &ex, weak = std::weak_ptr<enclave_server>(srv)](
            std::uint64_t port, std::string listen) -> task<expected<std::uint64_t>> {
            auto self = weak.lock();
            if (!self) co_return unexpected(errc::cancelled);
            enclave_server& s = *self;
            kv_shared& sh = s.shared;
            if (s.eng) co_return unexpected(errc::invalid_argument);  // started once
            if (s.index == 0 && !sh.ready.load(std::memory_order_acquire)) {
                if (const errc made = make_engine(s); made != errc::ok) co_return unexpected(made);
            }
            if (!sh.ready.load(std::memory_order_acquire))
                co_return unexpected(errc::invalid_argument);  // thread 0 first
            auto at = sys::address::parse(listen, static_cast<std::uint16_t>(port));
            if (!at) co_return unexpected(errc::invalid_argument);
            // Several threads: each its own listener on the address, and
            // the kernel spreads the connections (SO_REUSEPORT). Replies
            // leave at once (TCP_NODELAY), as memcached's and the native
            // front's do.
            auto l = co_await sys::listener::listen(
                c, *at, {.backlog = 1024, .reuse_port = sh.settings.threads > 1, .no_delay = true});
            if (!l) co_return unexpected(l.error().code);
            auto local = co_await l->local_address();
            if (!local) co_return unexpected(local.error().code);
            s.eng = sh.eng.get();
            s.ctr = &s.eng->register_thread();
            s.publish();
            if (sh.settings.transition != 0)
                ex.spawn(transition_loop(ex, std::move(self), std::move(*l)));
            else
                ex.spawn(accept_loop(ex, std::move(self), std::move(*l)));
            co_return local->port();
        });
}

}  // namespace

// --- host side ----------------------------------------------------------

suvm::space_options value_space_options(const enclave_options& opt) {
    suvm::space_options o;
    o.size = store::value_space_size(opt.engine.store);
    o.cache_bytes = opt.suvm_cache_bytes;
    return o;
}

struct enclave_front::state {
    std::unique_ptr<platform::enclave> enclave;
    std::unique_ptr<sys::service> service;
    std::vector<std::unique_ptr<platform::host_channel>> channels;
};

expected<std::unique_ptr<enclave_front>, std::string> enclave_front::start(
    const enclave_options& opt) {
    std::unique_ptr<enclave_front> f(new enclave_front());
    f->s_ = std::make_unique<state>();
    const std::size_t threads = std::max(1u, opt.threads);
    platform::enclave_config config;
    config.platform = opt.platform;
    config.enclave_threads = threads;
    config.service_links = 1;
    config.service_ring_capacity = std::size_t{1} << 20;
    // The store's budget plus the connections' buffers and the runtime's own
    // (64 MiB), and 16 MiB more for each further thread's executor and buffers.
    config.enclave_memory = opt.engine.store.memory_limit + opt.engine.store.item_size_max * 4 +
                            (std::size_t{64} << 20) + (threads - 1) * (std::size_t{16} << 20);
    kv_settings settings{.memory = opt.engine.store.memory_limit,
                         .item_max = opt.engine.store.item_size_max,
                         .max_connections = opt.max_connections,
                         .threads = threads,
                         .transition = opt.io_transition ? 1u : 0u};
    if (opt.items_in_suvm) {
        const suvm::space_options so = value_space_options(opt);
        auto need = suvm::space::store_size(so);
        if (!need) return unexpected(std::string("suvm: ") + std::string(to_string(need.error())));
        config.untrusted_memory = *need;
        settings.suvm_size = so.size;
        settings.suvm_cache = so.cache_bytes;
        // The enclave keeps the page cache, the space's page table (12 bytes
        // a page) and the items' headers and keys (a quarter of -m: values
        // averaging four times header and key) instead of the values.
        const std::size_t pages = so.size / so.page_size + 1;
        config.enclave_memory = so.cache_bytes + pages * 16 + opt.engine.store.memory_limit / 4 +
                                opt.engine.store.item_size_max * 4 + (std::size_t{64} << 20) +
                                (threads - 1) * (std::size_t{16} << 20);
    }
    if (opt.enclave_memory != 0) config.enclave_memory = opt.enclave_memory;
    auto e = platform::enclave::create(config, settings, kv_program);
    if (!e) return unexpected(std::string("enclave: ") + std::string(to_string(e.error())));
    f->s_->enclave = std::move(*e);
    // One service thread serves every enclave thread's link. A request that
    // reaches an idle service waited for its next tick (about 1 ms per get at
    // the default tick, measured with pymemcache); 100 us cuts that to
    // 0.2-0.5 ms for 10,000 idle wake-ups a second.
    auto svc = sys::service::start_for(*f->s_->enclave, 0, {.tick_ns = 100'000});
    if (!svc) return unexpected(std::string("sys service: ") + std::string(to_string(svc.error())));
    f->s_->service = std::move(*svc);
    std::uint64_t port = opt.port;
    for (std::size_t i = 0; i < threads; ++i) {
        auto& ch = f->s_->channels.emplace_back(f->s_->enclave->open_channel(i));
        auto bound =
            async::sync_wait(ch->executor(), ch->endpoint().call(start_kv, port, opt.listen));
        if (!bound)
            return unexpected("kv_start on thread " + std::to_string(i) + ": " +
                              std::string(to_string(bound.error())));
        port = *bound;  // the others listen where thread 0 did
    }
    f->port_ = static_cast<std::uint16_t>(port);
    return f;
}

enclave_front::~enclave_front() {
    if (!s_) return;
    // Every host_channel closes before the enclave goes, the last opened
    // first (their executors nest on this thread).
    while (!s_->channels.empty())
        s_->channels.pop_back();
    s_->service.reset();
    s_->enclave.reset();
}

std::string enclave_front::failure() const {
    if (!s_ || !s_->enclave || s_->enclave->failure() == errc::ok) return {};
    return s_->enclave->diagnostic();
}

}  // namespace airlock::kv
