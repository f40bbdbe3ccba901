// SPDX-License-Identifier: Apache-2.0
// airlock-kv inside an enclave (enclave_front.hh). The enclave half (the
// `kv_program` and its coroutines) makes no system call: time comes from
// sys::clock, bytes from sys sockets.

#include "enclave_front.hh"

#include <array>
#include <cstring>
#include <vector>

#include "airlock/async/event.hh"
#include "airlock/async/sync_wait.hh"
#include "airlock/async/task.hh"
#include "airlock/rpc/method.hh"
#include "airlock/sys/clock.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/service.hh"
#include "airlock/sys/socket.hh"

namespace airlock::kv {

namespace {

using async::task;

// Starts the server in the enclave: (port, memory limit, item size max,
// max connections, IPv4 address as a 32-bit number); returns the port bound.
constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t, std::uint64_t, std::uint64_t,
                                               std::uint64_t, std::string)>
    start_kv{"kv_start"};

// --- enclave side -------------------------------------------------------

// The enclave's server: made by kv_start on the enclave thread, used only there.
struct enclave_server {
    std::unique_ptr<engine> eng;
    counters* ctr = nullptr;
    std::unique_ptr<sys::clock> clk;
    std::int64_t last_now = 0;
    std::uint64_t max_connections = 0;
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
        if (srv->eng->curr_connections.load(std::memory_order_relaxed) >= srv->max_connections) {
            static constexpr char msg[] = "ERROR Too many open connections\r\n";
            (void)co_await s->send_all(std::as_bytes(std::span(msg, sizeof msg - 1)));
            srv->eng->rejected_connections.fetch_add(1, std::memory_order_relaxed);
            continue;
        }
        ex.spawn(serve_connection(srv, ex, std::move(*s)));
    }
}

void kv_program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto srv = std::make_shared<enclave_server>();
    t.keep_alive->push_back(srv);
    auto& ex = t.executor;
    t.host.serve(start_kv,
                 [&c, &ex, weak = std::weak_ptr<enclave_server>(srv)](
                     std::uint64_t port, std::uint64_t memory, std::uint64_t item_max,
                     std::uint64_t max_conns, std::string listen) -> task<expected<std::uint64_t>> {
                     auto shared = weak.lock();
                     if (!shared) co_return unexpected(errc::cancelled);
                     enclave_server& s = *shared;
                     enclave_server* raw = shared.get();
                     if (s.eng) co_return unexpected(errc::invalid_argument);  // started once
                     s.clk = std::make_unique<sys::clock>(c);
                     server_info info;
                     info.platform = "enclave";
                     info.io = "airlock";
                     info.max_connections = static_cast<std::uint32_t>(max_conns);
                     info.clock = [raw] {
                         auto ns = raw->clk->realtime_ns();
                         if (ns) raw->last_now = static_cast<std::int64_t>(*ns / 1'000'000'000u);
                         return raw->last_now;
                     };
                     info.started = info.clock();
                     // The enclave boundary as the enclave sees it: calls in flight,
                     // open handles, and whether the host broke the link's contract.
                     info.extra_stats = [cl = &c](std::string& out) {
                         out += "STAT sys_in_flight " + std::to_string(cl->in_flight()) + "\r\n";
                         out +=
                             "STAT sys_open_handles " + std::to_string(cl->open_handles()) + "\r\n";
                         out += "STAT sys_fault ";
                         out += to_string(cl->fault());
                         out += "\r\n";
                     };
                     engine_config cfg;
                     cfg.store.memory_limit = memory;
                     cfg.store.item_size_max = item_max;
                     s.eng = std::make_unique<engine>(cfg, std::move(info));
                     s.ctr = &s.eng->register_thread();
                     s.max_connections = max_conns;
                     auto at = sys::address::parse(listen, static_cast<std::uint16_t>(port));
                     if (!at) co_return unexpected(errc::invalid_argument);
                     auto l = co_await sys::listener::listen(c, *at, {.backlog = 1024});
                     if (!l) co_return unexpected(l.error().code);
                     auto local = co_await l->local_address();
                     if (!local) co_return unexpected(local.error().code);
                     ex.spawn(accept_loop(ex, shared, std::move(*l)));
                     co_return local->port();
                 });
}

}  // namespace

// --- host side ----------------------------------------------------------

struct enclave_front::state {
    std::unique_ptr<platform::enclave> enclave;
    std::unique_ptr<sys::service> service;
    std::unique_ptr<platform::host_channel> channel;
};

expected<std::unique_ptr<enclave_front>, std::string> enclave_front::start(
    const enclave_options& opt) {
    std::unique_ptr<enclave_front> f(new enclave_front());
    f->s_ = std::make_unique<state>();
    platform::enclave_config config;
    config.platform = opt.platform;
    config.enclave_threads = 1;
    config.service_links = 1;
    config.service_ring_capacity = std::size_t{1} << 20;
    // The store's budget plus the connections' buffers and the runtime's own.
    config.enclave_memory = opt.engine.store.memory_limit + opt.engine.store.item_size_max * 4 +
                            (std::size_t{64} << 20);
    auto e = platform::enclave::create(config, kv_program);
    if (!e) return unexpected(std::string("enclave: ") + std::string(to_string(e.error())));
    f->s_->enclave = std::move(*e);
    // A request that reaches an idle service waited for its next tick (about
    // 1 ms per get at the default tick, measured with pymemcache); 100 us
    // cuts that to 0.2-0.5 ms for 10,000 idle wake-ups a second.
    auto svc = sys::service::start_for(*f->s_->enclave, 0, {.tick_ns = 100'000});
    if (!svc) return unexpected(std::string("sys service: ") + std::string(to_string(svc.error())));
    f->s_->service = std::move(*svc);
    f->s_->channel = f->s_->enclave->open_channel(0);
    auto port = async::sync_wait(
        f->s_->channel->executor(),
        f->s_->channel->endpoint().call(start_kv, std::uint64_t{opt.port},
                                        std::uint64_t{opt.engine.store.memory_limit},
                                        std::uint64_t{opt.engine.store.item_size_max},
                                        std::uint64_t{opt.max_connections}, opt.listen));
    if (!port) return unexpected(std::string("kv_start: ") + std::string(to_string(port.error())));
    f->port_ = static_cast<std::uint16_t>(*port);
    return f;
}

enclave_front::~enclave_front() {
    if (!s_) return;
    s_->channel.reset();  // every host_channel closes before the enclave goes
    s_->service.reset();
    s_->enclave.reset();
}

std::string enclave_front::failure() const {
    if (!s_ || !s_->enclave || s_->enclave->failure() == errc::ok) return {};
    return s_->enclave->diagnostic();
}

}  // namespace airlock::kv
