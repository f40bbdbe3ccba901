// SPDX-License-Identifier: Apache-2.0
// apps/ps/server.cc: the server loop and its three gates (server.hh).
#include "ps/server.hh"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "airlock/platform/switchless.hh"
#include "airlock/platform/transition.hh"
#include "ps/airlock_server.hh"

namespace airlock::ps {

std::string_view to_string(io_mode m) noexcept {
    switch (m) {
        case io_mode::native:
            return "native";
        case io_mode::transition:
            return "transition";
        case io_mode::switchless:
            return "switchless";
        case io_mode::airlock:
            return "airlock";
    }
    return "unknown";
}

expected<io_mode> io_mode_from(std::string_view name) noexcept {
    for (const io_mode m :
         {io_mode::native, io_mode::transition, io_mode::switchless, io_mode::airlock})
        if (name == to_string(m)) return m;
    return unexpected(errc::invalid_argument);
}

std::string_view to_string(model_storage m) noexcept {
    return m == model_storage::suvm ? "suvm" : "memory";
}

expected<model_storage> model_storage_from(std::string_view name) noexcept {
    for (const model_storage m : {model_storage::memory, model_storage::suvm})
        if (name == to_string(m)) return m;
    return unexpected(errc::invalid_argument);
}

namespace {

// What a system call returned, and errno when it failed: both cross back
// from the host in the enclave modes.
struct host_result {
    long value = 0;
    int error = 0;
};
template <class F>
host_result capture(F&& f) noexcept {
    const long v = static_cast<long>(f());
    return {v, v < 0 ? errno : 0};
}

void pin_thread(int cpu) noexcept {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // best effort
}

// The gates: how the server thread makes a system call.
struct native_gate {
    static constexpr bool stages = false;  // data goes straight to private buffers
    template <class F>
    host_result call(F&& f) noexcept {
        return capture(f);
    }
};

struct transition_gate {
    static constexpr bool stages = true;
    platform::modelled_transition& transition;
    template <class F>
    host_result call(F&& f) noexcept {
        return transition.call([&] { return capture(f); });
    }
};

struct switchless_gate {
    static constexpr bool stages = true;
    platform::switchless_pool& pool;
    template <class F>
    host_result call(F&& f) noexcept {
        return pool.call([&]() noexcept { return capture(f); });
    }
};

constexpr int max_events = 64;
constexpr std::size_t io_chunk = 64 * 1024;  // bytes per recv and per send
constexpr int max_fd = 1 << 16;              // descriptors the server thread tracks
constexpr int stop_poll_ms = 50;

struct connection {
    int fd = -1;
    session s;
    std::vector<std::byte> out;  // replies not yet sent
    std::size_t sent = 0;        // bytes of `out` already sent
    bool writing = false;        // registered for EPOLLOUT, not reading
};

}  // namespace

struct server::state {
    server_options options;
    model m;
    engine e;
    int listen_fd = -1;
    int epoll_fd = -1;
    std::uint16_t port = 0;
    double cycles_per_ns = 1;
    std::atomic<bool> stop_flag{false};
    std::atomic<std::size_t> open{0};

    // Private (enclave) memory of the server thread.
    std::vector<std::unique_ptr<connection>> by_fd;
    std::vector<std::byte> in;
    epoll_event events[max_events];
    // Untrusted memory the host side reads and writes in the enclave modes.
    std::unique_ptr<std::byte[]> staging = std::make_unique<std::byte[]>(io_chunk);
    std::unique_ptr<epoll_event[]> staged_events = std::make_unique<epoll_event[]>(max_events);

    explicit state(const server_options& o)
        : options(o), m(o.dimension, o.keys), e(m, o.engine), by_fd(max_fd), in(io_chunk) {}
    ~state() {
        for (auto& c : by_fd)
            if (c) ::close(c->fd);
        if (epoll_fd >= 0) ::close(epoll_fd);
        if (listen_fd >= 0) ::close(listen_fd);
    }

    template <class Gate>
    expected<void> serve(Gate& gate);
    template <class Gate>
    void accept_one(Gate& gate);
    template <class Gate>
    void read_from(Gate& gate, connection& c);
    template <class Gate>
    bool flush(Gate& gate, connection& c);
    template <class Gate>
    void close_connection(Gate& gate, connection& c);
};

template <class Gate>
expected<void> server::state::serve(Gate& gate) {
    while (!stop_flag.load(std::memory_order_relaxed)) {  // polled; orders nothing
        epoll_event* ev = Gate::stages ? staged_events.get() : events;
        const host_result r =
            gate.call([&] { return ::epoll_wait(epoll_fd, ev, max_events, stop_poll_ms); });
        const std::uint64_t start = platform::read_tsc();
        if (r.value < 0) {
            if (r.error == EINTR) continue;
            return unexpected(errc::sys_bad_result);
        }
        if (r.value > max_events) [[unlikely]]
            return unexpected(errc::sys_bad_result);  // more events than the array holds
        const int n = static_cast<int>(r.value);
        if constexpr (Gate::stages) std::memcpy(events, ev, sizeof(epoll_event) * n);
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == listen_fd) {
                accept_one(gate);
                continue;
            }
            // A descriptor the server did not register is ignored (Iago).
            if (fd < 0 || fd >= max_fd || !by_fd[fd]) [[unlikely]]
                continue;
            connection& c = *by_fd[fd];
            if (c.writing) {
                if (flush(gate, c) && c.s.closing()) close_connection(gate, c);
            } else {
                read_from(gate, c);
            }
        }
        e.add_trusted_ns(static_cast<std::uint64_t>(
            static_cast<double>(platform::read_tsc() - start) / cycles_per_ns));
    }
    return {};
}

template <class Gate>
void server::state::accept_one(Gate& gate) {
    const host_result r = gate.call(
        [&] { return ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC); });
    if (r.value < 0) return;  // EAGAIN, or a client that left already
    const int fd = static_cast<int>(r.value);
    if (r.value >= max_fd || by_fd[fd] ||
        open.load(std::memory_order_relaxed) >= options.max_connections) {
        // Out of range, already ours (a host lying), or too many: not served.
        if (r.value < max_fd && !by_fd[fd]) gate.call([&] { return ::close(fd); });
        return;
    }
    const int one = 1;
    gate.call([&] { return ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); });
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (gate.call([&] { return ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev); }).value != 0) {
        gate.call([&] { return ::close(fd); });
        return;
    }
    auto c = std::make_unique<connection>();
    c->fd = fd;
    by_fd[fd] = std::move(c);
    open.fetch_add(1, std::memory_order_relaxed);  // statistic
}

template <class Gate>
void server::state::read_from(Gate& gate, connection& c) {
    std::byte* buf = Gate::stages ? staging.get() : in.data();
    const host_result r = gate.call([&] { return ::recv(c.fd, buf, io_chunk, 0); });
    if (r.value < 0 && (r.error == EAGAIN || r.error == EINTR)) return;
    // End of stream, an error, or more bytes than asked (Iago): the connection ends.
    if (r.value <= 0 || static_cast<std::size_t>(r.value) > io_chunk)
        return close_connection(gate, c);
    const std::size_t n = static_cast<std::size_t>(r.value);
    if constexpr (Gate::stages) std::memcpy(in.data(), buf, n);  // copied once, then parsed
    const bool keep = e.on_bytes(c.s, std::span(in.data(), n), c.out);
    if (!flush(gate, c)) return;  // waits for EPOLLOUT (or was closed)
    if (!keep) close_connection(gate, c);
}

// Sends what is pending. True when all was sent; false when the socket is
// full (the connection now waits for EPOLLOUT) or the connection was closed.
template <class Gate>
bool server::state::flush(Gate& gate, connection& c) {
    while (c.sent < c.out.size()) {
        const std::size_t chunk = std::min(io_chunk, c.out.size() - c.sent);
        const std::byte* data = c.out.data() + c.sent;
        if constexpr (Gate::stages) {
            std::memcpy(staging.get(), data, chunk);
            data = staging.get();
        }
        const host_result r =
            gate.call([&] { return ::send(c.fd, data, chunk, MSG_NOSIGNAL | MSG_DONTWAIT); });
        if (r.value < 0 && (r.error == EAGAIN || r.error == EINTR)) break;
        if (r.value <= 0 || static_cast<std::size_t>(r.value) > chunk) {  // gone, or lying
            close_connection(gate, c);
            return false;
        }
        c.sent += static_cast<std::size_t>(r.value);
    }
    const bool done = c.sent == c.out.size();
    if (done) {
        c.out.clear();
        c.sent = 0;
    }
    if (done == c.writing) {  // switch between reading and waiting to write
        epoll_event ev{};
        ev.events = done ? EPOLLIN : EPOLLOUT;
        ev.data.fd = c.fd;
        gate.call([&] { return ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev); });
        c.writing = !done;
    }
    return done;
}

template <class Gate>
void server::state::close_connection(Gate& gate, connection& c) {
    const int fd = c.fd;
    gate.call([&] { return ::close(fd); });  // also leaves the epoll set
    by_fd[fd].reset();
    open.fetch_sub(1, std::memory_order_relaxed);  // statistic
}

expected<std::unique_ptr<server>> server::create(const server_options& options) {
    if (options.dimension == 0 || options.keys == 0 || options.engine.max_batch == 0 ||
        options.max_connections == 0 || options.keys >= model::no_row)
        return unexpected(errc::invalid_argument);
    // The three modelled modes keep their model in the server thread's memory.
    if (options.model_in != model_storage::memory && options.mode != io_mode::airlock)
        return unexpected(errc::invalid_argument);
    if (options.mode == io_mode::airlock) {
        auto a = airlock_server::create(options);
        if (!a) return unexpected(a.error());
        return std::unique_ptr<server>(new server(std::move(*a)));
    }
    auto s = std::make_unique<state>(options);
    std::vector<float> v(options.dimension);
    for (std::uint64_t id = 0; id < options.keys; ++id) {
        model::initial_value(id, v);
        if (!s->m.insert(id, v)) return unexpected(errc::invalid_argument);
    }
    s->cycles_per_ns = platform::tsc_clock::calibrated().cycles_per_ns();

    s->listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->listen_fd < 0) return unexpected(errc::platform_unavailable);
    const int one = 1;
    ::setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(options.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(s->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(s->listen_fd, 1024) != 0 ||
        ::getsockname(s->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return unexpected(errc::platform_unavailable);
    s->port = ntohs(addr.sin_port);
    s->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = s->listen_fd;
    if (s->epoll_fd < 0 || ::epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev) != 0)
        return unexpected(errc::platform_unavailable);
    return std::unique_ptr<server>(new server(std::move(s)));
}

server::server(std::unique_ptr<state> s) noexcept : state_(std::move(s)) {}
server::server(std::unique_ptr<airlock_server> a) noexcept : airlock_(std::move(a)) {}
server::~server() = default;

std::uint16_t server::port() const noexcept {
    return airlock_ ? airlock_->port() : state_->port;
}
void server::stop() noexcept {
    if (airlock_) return airlock_->stop();
    state_->stop_flag.store(true, std::memory_order_relaxed);
}
std::size_t server::open_connections() const noexcept {
    return airlock_ ? airlock_->open_connections() : state_->open.load(std::memory_order_relaxed);
}
server_stats server::stats() const noexcept {
    return airlock_ ? airlock_->stats() : state_->e.stats();
}

model_paging server::paging() const noexcept {
    return airlock_ ? airlock_->paging() : model_paging{};
}

expected<void> server::run() {
    if (airlock_) return airlock_->run();
    state& s = *state_;
    pin_thread(s.options.cpu);
    switch (s.options.mode) {
        case io_mode::native: {
            native_gate gate;
            return s.serve(gate);
        }
        case io_mode::transition: {
            platform::modelled_transition t(s.options.transition_cycles);
            transition_gate gate{t};
            return s.serve(gate);
        }
        case io_mode::switchless: {
            platform::modelled_transition fallback(s.options.transition_cycles);
            platform::switchless_options o;
            o.fallback = &fallback;
            const int cpu = s.options.io_worker_cpu;
            o.on_worker_start = [cpu](std::size_t) { pin_thread(cpu); };
            platform::switchless_pool pool(1, 8, std::move(o));
            switchless_gate gate{pool};
            return s.serve(gate);
        }
        case io_mode::airlock:
            break;  // served by airlock_
    }
    return unexpected(errc::invalid_argument);
}

}  // namespace airlock::ps
