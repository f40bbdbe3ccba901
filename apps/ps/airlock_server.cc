// SPDX-License-Identifier: Apache-2.0
// apps/ps/airlock_server.cc: the engine in an enclave, its I/O over sys
// (airlock_server.hh).
#include "ps/airlock_server.hh"

#include <atomic>
#include <chrono>
#include <new>
#include <optional>
#include <thread>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/suvm/space.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/service.hh"
#include "airlock/sys/socket.hh"

namespace airlock::ps {
namespace {

using async::task;

// Listens on 127.0.0.1 at the port given (0: any); returns the port.
constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> ps_listen{"ps_listen"};
// Open connections.
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> ps_connections{"ps_connections"};
// Field i of the engine's server_stats (requests, ids, errors, trusted_ns).
constexpr rpc::enclave_method<3, std::uint64_t(std::uint64_t)> ps_stat{"ps_stat"};
// Field i of the model's space's statistics (hits, faults, prefetches,
// evictions, write_backs); 0 with the model in enclave memory.
constexpr rpc::enclave_method<4, std::uint64_t(std::uint64_t)> ps_paging{"ps_paging"};

// What the enclave is configured with: set by the host before the enclave
// is created, so on `process` the forked enclave starts with a copy. Plain
// values only.
struct enclave_config_values {
    std::uint32_t dimension = 8;
    std::size_t keys = 0;
    engine_options engine{};
    std::size_t max_connections = 0;
    model_storage model_in = model_storage::memory;
    std::size_t suvm_cache_bytes = 0;
    std::size_t suvm_page_size = 0;
};
enclave_config_values configured;

constexpr std::size_t io_chunk = 64 * 1024;

// The space of a suvm model: just the model's rows, and a cache no larger
// than them. The host sizes the backing store from the same options.
suvm::space_options space_options_for(const enclave_config_values& c) {
    suvm::space_options o;
    o.size = model::paged_bytes(c.dimension, c.keys);
    o.page_size = c.suvm_page_size;
    o.cache_bytes = c.suvm_cache_bytes;
    if (o.page_size != 0 && o.cache_bytes / o.page_size > o.size / o.page_size + suvm::min_frames)
        o.cache_bytes = (o.size / o.page_size + suvm::min_frames) * o.page_size;
    return o;
}

// The enclave's private state, kept until its thread stops.
struct enclave_state {
    enclave_config_values config;  // a private copy, taken at start
    // Declared in this order so that they are destroyed engine first, space last.
    std::unique_ptr<suvm::space> space;  // the model's rows with model_storage::suvm
    std::optional<model> m;
    std::optional<engine> e;
    errc failed = errc::ok;  // why the model could not be built; ps_listen reports it
    std::size_t open = 0;
    sys::listener listener;
    const async::executor* ex = nullptr;  // the enclave thread's: its busy time is the trusted time

    // `untrusted`: the backing store the host handed over (suvm storage).
    // A model too large for the enclave's memory is an answer (ps_listen
    // reports enclave_memory_exhausted), not an enclave that dies.
    enclave_state(const enclave_config_values& c, std::span<std::byte> untrusted) : config(c) {
        try {
            if (auto r = build(untrusted); !r) failed = r.error();
        } catch (const std::bad_alloc&) {
            e.reset();
            m.reset();
            space.reset();
            failed = errc::enclave_memory_exhausted;
        }
    }
    expected<void> build(std::span<std::byte> untrusted) {
        if (config.model_in == model_storage::suvm) {
            auto s = suvm::space::create(space_options_for(config), untrusted);
            if (!s) return unexpected(s.error());
            space = std::move(*s);
            auto pm = model::paged(config.dimension, config.keys, *space);
            if (!pm) return unexpected(pm.error());
            m.emplace(std::move(*pm));
        } else {
            m.emplace(config.dimension, config.keys);
        }
        std::vector<float> v(config.dimension);
        for (std::uint64_t id = 0; id < config.keys; ++id) {
            model::initial_value(id, v);
            if (auto r = m->insert(id, v); !r) return r;  // keys <= capacity: only the space fails
        }
        e.emplace(*m, config.engine);
        return {};
    }
};

// One connection: receive, serve, send, until the peer leaves or the engine
// asks to close. The trusted time is the enclave thread's busy time: every
// executor round that did work (sys completions taken, coroutines resumed,
// the engine, requests posted), as the native server counts everything from
// one epoll_wait's return to the next; rounds that found nothing are idle.
// It is brought up to date before each request, so a stats reply carries
// all but the round it is served in.
task<void> serve_connection(enclave_state& st, sys::socket s) {
    session ses;
    std::vector<std::byte> in(io_chunk);
    std::vector<std::byte> out;
    for (;;) {
        auto n = co_await s.recv(in);
        if (!n || *n == 0) break;
        st.e->set_trusted_ns(st.ex->stats().busy_ns);
        const bool keep = st.e->on_bytes(ses, std::span(in.data(), *n), out);
        if (!out.empty()) {
            auto sent = co_await s.send_all(out);
            out.clear();
            if (!sent) break;
        }
        if (!keep) break;
    }
    (void)co_await s.close();
    --st.open;
}

task<void> accept_loop(async::executor& ex, enclave_state& st) {
    for (;;) {
        auto s = co_await st.listener.accept();
        if (!s) co_return;  // the listener closed, or the link faulted
        if (st.open >= st.config.max_connections) {
            (void)co_await s->close();
            continue;
        }
        ++st.open;
        ex.spawn(serve_connection(st, std::move(*s)));
    }
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto st = std::make_shared<enclave_state>(configured, t.untrusted_memory);
    t.keep_alive->push_back(st);
    enclave_state* p = st.get();
    async::executor* ex = &t.executor;
    p->ex = ex;
    t.host.serve(ps_listen, [&c, p, ex](std::uint64_t port) -> task<expected<std::uint64_t>> {
        if (!p->e) co_return unexpected(p->failed);
        // Replies leave at once (TCP_NODELAY), as the native server's do.
        auto l = co_await sys::listener::listen(
            c, sys::address::ipv4_loopback(static_cast<std::uint16_t>(port)),
            {.backlog = 1024, .no_delay = true});
        if (!l) co_return unexpected(l.error().code);
        auto local = co_await l->local_address();
        if (!local) co_return unexpected(local.error().code);
        p->listener = std::move(*l);
        ex->spawn(accept_loop(*ex, *p));
        co_return local->port();
    });
    t.host.serve(ps_connections, [p](std::uint64_t) -> expected<std::uint64_t> { return p->open; });
    t.host.serve(ps_paging, [p](std::uint64_t i) -> expected<std::uint64_t> {
        if (i > 4) return unexpected(errc::invalid_argument);
        if (!p->space) return 0;
        const suvm::space_stats s = p->space->stats();
        const std::uint64_t fields[] = {s.hits, s.faults, s.prefetches, s.evictions, s.write_backs};
        return fields[i];
    });
    t.host.serve(ps_stat, [p](std::uint64_t i) -> expected<std::uint64_t> {
        if (!p->e) return unexpected(p->failed);
        const server_stats& s = p->e->stats();
        switch (i) {
            case 0:
                return s.requests;
            case 1:
                return s.ids;
            case 2:
                return s.errors;
            case 3:
                return s.trusted_ns;
            default:
                return unexpected(errc::invalid_argument);
        }
    });
}

class airlock_server_impl final : public airlock_server {
  public:
    std::unique_ptr<platform::enclave> enclave;
    std::unique_ptr<sys::service> service;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_flag{false};
    std::atomic<std::size_t> open{0};
    std::atomic<std::uint64_t> stat[4] = {};
    std::atomic<std::uint64_t> paging_stat[5] = {};

    ~airlock_server_impl() override {
        service.reset();  // before the enclave whose links it serves
        enclave.reset();
    }
    std::uint16_t port() const noexcept override { return port_; }
    void stop() noexcept override { stop_flag.store(true, std::memory_order_relaxed); }
    std::size_t open_connections() const noexcept override {
        return open.load(std::memory_order_relaxed);
    }
    server_stats stats() const noexcept override {
        return {stat[0].load(std::memory_order_relaxed), stat[1].load(std::memory_order_relaxed),
                stat[2].load(std::memory_order_relaxed), stat[3].load(std::memory_order_relaxed)};
    }

    model_paging paging() const noexcept override {
        return {paging_stat[0].load(std::memory_order_relaxed),
                paging_stat[1].load(std::memory_order_relaxed),
                paging_stat[2].load(std::memory_order_relaxed),
                paging_stat[3].load(std::memory_order_relaxed),
                paging_stat[4].load(std::memory_order_relaxed)};
    }

    // Copies the space's counters to the host atomics (once, at the end:
    // five more calls every 10 ms would cost the enclave thread).
    expected<void> refresh_paging(platform::host_channel& ch) {
        for (std::uint64_t i = 0; i < 5; ++i) {
            auto v = async::sync_wait(ch.executor(), ch.endpoint().call(ps_paging, i));
            if (!v) return unexpected(v.error());
            paging_stat[i].store(*v, std::memory_order_relaxed);
        }
        return {};
    }

    // Copies the enclave's counters to the host atomics.
    expected<void> refresh(platform::host_channel& ch) {
        auto n = async::sync_wait(ch.executor(), ch.endpoint().call(ps_connections, 0));
        if (!n) return unexpected(n.error());
        open.store(*n, std::memory_order_relaxed);
        for (std::uint64_t i = 0; i < 4; ++i) {
            auto v = async::sync_wait(ch.executor(), ch.endpoint().call(ps_stat, i));
            if (!v) return unexpected(v.error());
            stat[i].store(*v, std::memory_order_relaxed);
        }
        return {};
    }

    expected<void> run() override {
        auto ch = enclave->open_channel(0);
        while (!stop_flag.load(std::memory_order_relaxed)) {
            if (auto r = refresh(*ch); !r) return r;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (auto r = refresh(*ch); !r) return r;
        return refresh_paging(*ch);
    }
};

}  // namespace

expected<std::unique_ptr<airlock_server>> airlock_server::create(const server_options& o) {
    configured = {o.dimension,        o.keys,          o.engine, o.max_connections, o.model_in,
                  o.suvm_cache_bytes, o.suvm_page_size};
    platform::enclave_config config;
    config.platform = o.platform;
    config.enclave_threads = 1;
    config.service_links = 1;
    if (o.cpu >= 0) config.cpus = {o.cpu};
    config.transition_cycles = o.transition_cycles;
    config.executor.measure_busy_time = true;  // the trusted time per request
    // Room for the runtime and each connection's buffers, and the model's
    // enclave memory: the whole table, or the index and the space's cache
    // and metadata (12 bytes a page, 64 a frame, a sealed page of scratch).
    std::size_t model_bytes = model::enclave_bytes(o.dimension, o.keys, o.model_in);
    if (o.model_in == model_storage::suvm) {
        const auto so = space_options_for(configured);
        auto store = suvm::space::store_size(so);
        if (!store || o.suvm_cache_bytes < suvm::min_frames * o.suvm_page_size)
            return unexpected(errc::invalid_argument);
        config.untrusted_memory = *store;
        const std::size_t pages = so.size / o.suvm_page_size + 1;
        const std::size_t frames = so.cache_bytes / o.suvm_page_size;
        model_bytes += so.cache_bytes + pages * 16 + frames * 64 + 2 * o.suvm_page_size;
    }
    config.enclave_memory =
        o.enclave_memory != 0 ? o.enclave_memory : (std::size_t{64} << 20) + model_bytes;
    auto s = std::make_unique<airlock_server_impl>();
    auto e = platform::enclave::create(config, program);
    if (!e) return unexpected(e.error());
    s->enclave = std::move(*e);
    auto svc = sys::service::start_for(*s->enclave);
    if (!svc) return unexpected(svc.error());
    s->service = std::move(*svc);
    auto ch = s->enclave->open_channel(0);
    auto port = async::sync_wait(ch->executor(), ch->endpoint().call(ps_listen, o.port));
    if (!port) return unexpected(port.error());
    s->port_ = static_cast<std::uint16_t>(*port);
    return std::unique_ptr<airlock_server>(std::move(s));
}

}  // namespace airlock::ps
