// SPDX-License-Identifier: Apache-2.0
// The host's sys service on io_uring (service.hh).
//
// Request flow: take a request from a link's ring (a private copy), check
// its handle against the link's table, then either prepare an SQE (its
// op_state holds the buffers the kernel uses until the CQE) or answer at
// once. After the round's requests: one io_uring_enter submits them all,
// then the deferred closes run (an fd closed before the submit could be
// reused by a request of the same round). Completions go back in order of
// the CQEs; a full completion ring keeps them queued per link.
#include "airlock/sys/service.hh"

#include <dirent.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <time.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <thread>

#include "airlock/ring/spsc_ring.hh"
#include "airlock/sys/protocol.hh"

namespace airlock::sys {

namespace {

using wire::op;
using shared = ring::shared;
using ring::shared_u64;

constexpr std::uint64_t futex_tag = std::uint64_t{1} << 63;
constexpr std::uint8_t op_futex_wait = 51;  // IORING_OP_FUTEX_WAIT (Linux 6.7), not in 6.1 headers
constexpr std::uint32_t futex2_size_u32 = 0x02;

std::uint64_t get_word(const std::byte* at) noexcept {
    std::uint64_t w;
    std::memcpy(&w, at, 8);
    return w;
}
void put_word(std::byte* at, std::uint64_t w) noexcept {
    std::memcpy(at, &w, 8);
}

std::uint64_t clock_ns(clockid_t id) noexcept {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000 +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

struct fd_entry {
    int fd = -1;
    std::uint32_t generation = 0;
};

struct link_state {
    platform::service_link view;
    ring::ring_consumer requests;
    ring::ring_producer completions;
    std::vector<fd_entry> fds;
    std::deque<std::vector<std::byte>> pending;  // completions waiting for ring space
    std::optional<ring::outgoing_message> partial;
    bool futex_armed = false;
    std::uint64_t clock_seq = 0;
};

// One request handed to the kernel.
struct op_state {
    std::size_t link = 0;
    std::uint64_t id = 0;
    op kind{};
    std::uint64_t new_handle = 0;
    int fd = -1;  // connect: the socket made for it
    bool no_delay = false;
    std::vector<std::byte> buffer;
    sockaddr_storage addr{};
    socklen_t addrlen = 0;
    std::string path;
    std::uint32_t next_free = 0;
    std::uint32_t index = 0;
};

class uring_service final : public service {
  public:
    uring_service(std::vector<platform::service_link> links, ring::wait_hooks& hooks,
                  service_options options)
        : hooks_(&hooks), options_(options) {
        for (const auto& l : links) {
            link_state s{
                l,
                ring::ring_consumer(l.to_service, {{.hooks = &hooks, .peer_bell = l.enclave_bell},
                                                   wire::max_message}),
                ring::ring_producer(l.from_service, {.hooks = &hooks, .peer_bell = l.enclave_bell}),
                std::vector<fd_entry>(options.max_handles),
                {},
                {},
                false,
                0};
            links_.push_back(std::move(s));
        }
    }

    ~uring_service() override {
        stop_.store(true, std::memory_order_release);
        for (auto& l : links_)
            hooks_->unpark(l.view.service_bell->word);
        if (thread_.joinable()) thread_.join();
        for (auto& l : links_)
            for (auto& e : l.fds)
                if (e.fd >= 0) ::close(e.fd);
        if (ring_ready_) io_uring_queue_exit(&ring_);
    }

    expected<void> begin() {
        if (io_uring_queue_init(options_.ring_entries, &ring_, 0) != 0)
            return unexpected(errc::platform_unavailable);
        ring_ready_ = true;
        update_clocks();
        thread_ = std::thread([this] { run(); });
        return {};
    }

    service_stats stats() const noexcept override {
        service_stats s;
        s.requests = requests_.load(std::memory_order_relaxed);
        s.submits = submits_.load(std::memory_order_relaxed);
        s.completions = completions_.load(std::memory_order_relaxed);
        s.sleeps = sleeps_.load(std::memory_order_relaxed);
        return s;
    }

  private:
    // --- the loop -------------------------------------------------------------

    void run() {
        std::uint32_t empty_rounds = 0;
        while (!stop_.load(std::memory_order_acquire)) {
            update_clocks();
            std::size_t work = 0;
            for (std::size_t i = 0; i < links_.size(); ++i)
                work += take_requests(i);
            if (queued_sqes_ > 0) {
                (void)io_uring_submit(&ring_);  // one io_uring_enter for the round
                queued_sqes_ = 0;
                submits_.fetch_add(1, std::memory_order_relaxed);
            }
            run_deferred_closes();
            work += reap();
            for (auto& l : links_)
                flush_completions(l);
            if (work != 0) {
                empty_rounds = 0;
                continue;
            }
            if (++empty_rounds < options_.spin_rounds) {
                ring::cpu_relax();
                continue;
            }
            empty_rounds = 0;
            sleep();
        }
    }

    // Announce, re-check, then sleep in the kernel until a CQE (a futex wait
    // completing is one) or the tick (ring/wait.hh's handshake).
    void sleep() {
        for (auto& l : links_)
            shared::store_relaxed(l.view.service_bell->word, 1);
        ring::full_fence();
        for (auto& l : links_)
            if (l.requests.has_data() || !l.pending.empty()) return;
        if (!futex_unsupported_)
            for (std::size_t i = 0; i < links_.size(); ++i)
                arm_futex(i);
        __kernel_timespec ts{};
        ts.tv_sec = static_cast<long long>(options_.tick_ns / 1'000'000'000);
        ts.tv_nsec = static_cast<long long>(options_.tick_ns % 1'000'000'000);
        io_uring_cqe* cqe = nullptr;
        sleeps_.fetch_add(1, std::memory_order_relaxed);
        (void)io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
        queued_sqes_ = 0;
    }

    void arm_futex(std::size_t i) {
        link_state& l = links_[i];
        if (l.futex_armed) return;
        io_uring_sqe* sqe = get_sqe();
        if (sqe == nullptr) return;
        std::memset(sqe, 0, sizeof *sqe);
        sqe->opcode = op_futex_wait;
        sqe->fd =
            static_cast<int>(futex2_size_u32);  // shared futex: the enclave is another process
        sqe->addr = reinterpret_cast<std::uint64_t>(&l.view.service_bell->word);
        sqe->off = 1;  // sleep while the word is 1
        sqe->addr3 = 0xffffffffu;
        sqe->user_data = futex_tag | i;
        l.futex_armed = true;
    }

    io_uring_sqe* get_sqe() {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        if (sqe == nullptr) {
            (void)io_uring_submit(&ring_);
            submits_.fetch_add(1, std::memory_order_relaxed);
            queued_sqes_ = 0;
            sqe = io_uring_get_sqe(&ring_);
        }
        if (sqe != nullptr) ++queued_sqes_;
        return sqe;
    }

    void update_clocks() {
        const std::uint64_t mono = clock_ns(CLOCK_MONOTONIC);
        const std::uint64_t real = clock_ns(CLOCK_REALTIME);
        for (auto& l : links_) {
            auto& seq = l.view.words[wire::clock_seq].word;
            shared::store_relaxed(seq, ++l.clock_seq);  // odd: being written
            std::atomic_thread_fence(std::memory_order_release);
            shared::store_relaxed(l.view.words[wire::clock_monotonic].word, mono);
            shared::store_relaxed(l.view.words[wire::clock_realtime].word, real);
            shared::store_release(seq, ++l.clock_seq);  // even: consistent
        }
    }

    // --- requests -------------------------------------------------------------

    std::size_t take_requests(std::size_t li) {
        link_state& l = links_[li];
        if (l.pending.size() > 1024) return 0;  // the enclave is not draining: back-pressure
        std::size_t n = 0;
        for (; n < 64; ++n) {
            auto m = l.requests.try_receive();
            if (!m) break;  // empty, or faulted (the enclave broke the ring: ignore it)
            requests_.fetch_add(1, std::memory_order_relaxed);
            handle_request(li, static_cast<op>(m->tag), m->bytes);
        }
        l.requests.publish();
        return n;
    }

    int fd_of(link_state& l, std::uint64_t h) {
        const auto i = static_cast<std::uint32_t>(h);
        if (i >= l.fds.size() || l.fds[i].fd < 0 ||
            l.fds[i].generation != static_cast<std::uint32_t>(h >> 32))
            return -1;
        return l.fds[i].fd;
    }

    bool handle_ok(link_state& l, std::uint64_t h) {
        return static_cast<std::uint32_t>(h) < l.fds.size() && (h >> 32) != 0;
    }

    void install(link_state& l, std::uint64_t h, int fd) {
        fd_entry& e = l.fds[static_cast<std::uint32_t>(h)];
        if (e.fd >= 0) ::close(e.fd);  // a handle reused before its close came: drop the old fd
        e.fd = fd;
        e.generation = static_cast<std::uint32_t>(h >> 32);
    }

    static std::int64_t neg_errno() { return -static_cast<std::int64_t>(errno); }

    void handle_request(std::size_t li, op kind, std::span<const std::byte> m) {
        link_state& l = links_[li];
        if (m.size() < wire::request_header_bytes) return;  // not a request: nothing to answer
        const std::uint64_t id = get_word(m.data());
        const std::uint64_t target = get_word(m.data() + 8);
        std::uint64_t a[4];
        for (std::size_t i = 0; i < 4; ++i)
            a[i] = get_word(m.data() + 16 + 8 * i);
        const auto payload = m.subspan(wire::request_header_bytes);
        auto reply = [&](std::int64_t result, std::span<const std::byte> data = {},
                         std::uint64_t aux = 0) { complete(l, id, result, aux, data); };
        const int fd = fd_of(l, target);

        switch (kind) {
            case op::listen: {
                if (!handle_ok(l, target)) return reply(-EBADF);
                sockaddr_storage sa{};
                if (payload.size() < sizeof(sa_family_t) || payload.size() > sizeof sa)
                    return reply(-EINVAL);
                std::memcpy(&sa, payload.data(), payload.size());
                const int s = ::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (s < 0) return reply(neg_errno());
                const int one = 1;
                if (a[1] & wire::listen_reuse_address)
                    (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                if (sa.ss_family == AF_INET6) {
                    const int v6 = (a[1] & wire::listen_v6_only) ? 1 : 0;
                    (void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof v6);
                }
                const int backlog = static_cast<int>(std::min<std::uint64_t>(a[0], 4096));
                if (::bind(s, reinterpret_cast<sockaddr*>(&sa),
                           static_cast<socklen_t>(payload.size())) != 0 ||
                    ::listen(s, backlog) != 0) {
                    const std::int64_t e = neg_errno();
                    ::close(s);
                    return reply(e);
                }
                install(l, target, s);
                return reply(0);
            }
            case op::accept: {
                if (fd < 0 || !handle_ok(l, a[0])) return reply(-EBADF);
                op_state& o = new_op(li, id, kind);
                o.new_handle = a[0];
                o.addrlen = sizeof o.addr;
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                io_uring_prep_accept(sqe, fd, reinterpret_cast<sockaddr*>(&o.addr), &o.addrlen,
                                     SOCK_CLOEXEC);
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::connect: {
                if (!handle_ok(l, target)) return reply(-EBADF);
                op_state& o = new_op(li, id, kind);
                if (payload.size() < sizeof(sa_family_t) || payload.size() > sizeof o.addr)
                    return fail_op(o, -EINVAL);
                std::memcpy(&o.addr, payload.data(), payload.size());
                o.addrlen = static_cast<socklen_t>(payload.size());
                o.new_handle = target;
                o.no_delay = a[0] != 0;
                o.fd = ::socket(o.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (o.fd < 0) return fail_op(o, neg_errno());
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                io_uring_prep_connect(sqe, o.fd, reinterpret_cast<sockaddr*>(&o.addr), o.addrlen);
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::recv:
            case op::read: {
                if (fd < 0) return reply(-EBADF);
                op_state& o = new_op(li, id, kind);
                o.buffer.resize(std::min<std::uint64_t>(a[0], wire::max_io));
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                if (kind == op::recv)
                    io_uring_prep_recv(sqe, fd, o.buffer.data(), o.buffer.size(), 0);
                else
                    io_uring_prep_read(sqe, fd, o.buffer.data(),
                                       static_cast<unsigned>(o.buffer.size()), a[1]);
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::send:
            case op::write:
            case op::append: {
                if (fd < 0) return reply(-EBADF);
                if (payload.size() > wire::max_io) return reply(-EINVAL);
                op_state& o = new_op(li, id, kind);
                o.buffer.assign(payload.begin(), payload.end());
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                if (kind == op::send)
                    io_uring_prep_send(sqe, fd, o.buffer.data(), o.buffer.size(), MSG_NOSIGNAL);
                else
                    io_uring_prep_write(sqe, fd, o.buffer.data(),
                                        static_cast<unsigned>(o.buffer.size()),
                                        kind == op::append ? ~std::uint64_t{0} : a[1]);
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::shutdown:
                if (fd < 0) return reply(-EBADF);
                if (a[0] > 2) return reply(-EINVAL);
                return reply(::shutdown(fd, static_cast<int>(a[0])) == 0 ? 0 : neg_errno());
            case op::close: {
                if (fd < 0) return reply(-EBADF);
                l.fds[static_cast<std::uint32_t>(target)].fd = -1;
                (void)::shutdown(fd, SHUT_RDWR);  // wakes this socket's accepts and receives
                deferred_closes_.push_back(fd);
                return reply(0);
            }
            case op::set_option: {
                if (fd < 0) return reply(-EBADF);
                const int on = a[1] != 0 ? 1 : 0;
                int level = SOL_SOCKET, name = 0;
                switch (static_cast<wire::socket_option>(a[0])) {
                    case wire::socket_option::no_delay:
                        level = IPPROTO_TCP;
                        name = TCP_NODELAY;
                        break;
                    case wire::socket_option::keep_alive:
                        name = SO_KEEPALIVE;
                        break;
                    case wire::socket_option::reuse_address:
                        name = SO_REUSEADDR;
                        break;
                    default:
                        return reply(-EINVAL);
                }
                return reply(setsockopt(fd, level, name, &on, sizeof on) == 0 ? 0 : neg_errno());
            }
            case op::local_address:
            case op::peer_address: {
                if (fd < 0) return reply(-EBADF);
                sockaddr_storage sa{};
                socklen_t len = sizeof sa;
                const int r = kind == op::local_address
                                  ? getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len)
                                  : getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len);
                if (r != 0) return reply(neg_errno());
                return reply(0, {reinterpret_cast<const std::byte*>(&sa),
                                 std::min<std::size_t>(len, sizeof sa)});
            }
            default:
                return file_request(li, kind, id, target, fd, a, payload);
        }
    }

    void file_request(std::size_t li, op kind, std::uint64_t id, std::uint64_t target, int fd,
                      const std::uint64_t* a, std::span<const std::byte> payload);

    // --- ops in the kernel ------------------------------------------------------

    op_state& new_op(std::size_t li, std::uint64_t id, op kind) {
        if (free_op_ == ops_.size()) {
            ops_.emplace_back();
            ops_.back().index = static_cast<std::uint32_t>(ops_.size() - 1);
            ops_.back().next_free = static_cast<std::uint32_t>(ops_.size());
        }
        const std::uint32_t i = static_cast<std::uint32_t>(free_op_);
        op_state& o = ops_[i];
        free_op_ = o.next_free;
        o.link = li;
        o.id = id;
        o.kind = kind;
        o.fd = -1;
        o.new_handle = 0;
        o.no_delay = false;
        return o;
    }
    std::uint64_t op_index(const op_state& o) const { return o.index; }
    void release_op(op_state& o) {
        o.next_free = static_cast<std::uint32_t>(free_op_);
        free_op_ = op_index(o);
        o.buffer.clear();
    }
    void fail_op(op_state& o, std::int64_t e) {
        if (o.fd >= 0) ::close(o.fd);
        o.fd = -1;
        complete(links_[o.link], o.id, e, 0, {});
        release_op(o);
    }

    std::size_t reap() {
        std::size_t n = 0;
        io_uring_cqe* cqe = nullptr;
        while (io_uring_peek_cqe(&ring_, &cqe) == 0 && cqe != nullptr) {
            const std::uint64_t data = cqe->user_data;
            const int res = cqe->res;
            io_uring_cqe_seen(&ring_, cqe);
            if (data & futex_tag) {
                const std::size_t li = data & ~futex_tag;
                if (li < links_.size()) links_[li].futex_armed = false;
                if (res == -EINVAL || res == -ENOSYS || res == -EOPNOTSUPP)
                    futex_unsupported_ = true;
                continue;
            }
            ++n;
            completions_.fetch_add(1, std::memory_order_relaxed);
            finish(ops_[data], res);
        }
        return n;
    }

    void finish(op_state& o, int res) {
        link_state& l = links_[o.link];
        if (res < 0) return fail_op(o, res);
        switch (o.kind) {
            case op::accept:
                install(l, o.new_handle, res);
                complete(l, o.id, 0, 0,
                         {reinterpret_cast<const std::byte*>(&o.addr),
                          std::min<std::size_t>(o.addrlen, sizeof o.addr)});
                break;
            case op::connect:
                if (o.no_delay) {
                    const int one = 1;
                    (void)setsockopt(o.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                }
                install(l, o.new_handle, o.fd);
                o.fd = -1;
                complete(l, o.id, 0, 0, {});
                break;
            case op::open:
                install(l, o.new_handle, res);
                complete(l, o.id, 0, 0, {});
                break;
            case op::recv:
            case op::read:
                complete(l, o.id, res, 0,
                         {o.buffer.data(), std::min<std::size_t>(res, o.buffer.size())});
                break;
            default:
                complete(l, o.id, res, 0, {});
        }
        release_op(o);
    }

    void run_deferred_closes() {
        for (int fd : deferred_closes_)
            ::close(fd);
        deferred_closes_.clear();
    }

    // --- completions ----------------------------------------------------------

    void complete(link_state& l, std::uint64_t id, std::int64_t result, std::uint64_t aux,
                  std::span<const std::byte> data) {
        std::vector<std::byte> m(wire::completion_header_bytes + data.size());
        put_word(m.data(), id);
        put_word(m.data() + 8, static_cast<std::uint64_t>(result));
        put_word(m.data() + 16, aux);
        if (!data.empty())
            std::memcpy(m.data() + wire::completion_header_bytes, data.data(), data.size());
        l.pending.push_back(std::move(m));
    }

    void flush_completions(link_state& l) {
        while (!l.pending.empty()) {
            if (!l.partial) l.partial.emplace(wire::completion_tag, l.pending.front());
            auto sent = l.completions.try_send(*l.partial);
            if (!sent) return;  // full (the enclave drains later) or faulted
            l.partial.reset();
            l.pending.pop_front();
        }
    }

    ring::wait_hooks* hooks_;
    service_options options_;
    std::vector<link_state> links_;
    io_uring ring_{};
    bool ring_ready_ = false;
    bool futex_unsupported_ = false;
    unsigned queued_sqes_ = 0;
    std::deque<op_state> ops_;  // stable addresses: the kernel holds pointers into them
    std::uint64_t free_op_ = 0;
    std::vector<int> deferred_closes_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> requests_{0}, submits_{0}, completions_{0}, sleeps_{0};
    std::thread thread_;
};

std::int64_t stat_reply(const struct stat& st, wire::stat_record& r) {
    r.size = static_cast<std::uint64_t>(st.st_size);
    r.mode = st.st_mode;
    r.nlink = st.st_nlink;
    r.uid = st.st_uid;
    r.gid = st.st_gid;
    r.mtime_ns = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                 static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
    r.inode = st.st_ino;
    r.blocks = static_cast<std::uint64_t>(st.st_blocks);
    return 0;
}

void uring_service::file_request(std::size_t li, op kind, std::uint64_t id, std::uint64_t target,
                                 int fd, const std::uint64_t* a,
                                 std::span<const std::byte> payload) {
    link_state& l = links_[li];
    auto reply = [&](std::int64_t result, std::span<const std::byte> data = {},
                     std::uint64_t aux = 0) { complete(l, id, result, aux, data); };
    auto path_of = [](std::span<const std::byte> p) {
        return std::string(reinterpret_cast<const char*>(p.data()), p.size());
    };
    if (payload.size() > 2 * wire::max_path) return reply(-ENAMETOOLONG);
    switch (kind) {
        case op::open: {
            if (!handle_ok(l, target)) return reply(-EBADF);
            op_state& o = new_op(li, id, kind);
            o.path = path_of(payload);
            o.new_handle = target;
            io_uring_sqe* sqe = get_sqe();
            if (sqe == nullptr) return fail_op(o, -EAGAIN);
            io_uring_prep_openat(sqe, AT_FDCWD, o.path.c_str(), static_cast<int>(a[0]) | O_CLOEXEC,
                                 static_cast<mode_t>(a[1] & 07777));
            io_uring_sqe_set_data64(sqe, op_index(o));
            return;
        }
        case op::fsync: {
            if (fd < 0) return reply(-EBADF);
            op_state& o = new_op(li, id, kind);
            io_uring_sqe* sqe = get_sqe();
            if (sqe == nullptr) return fail_op(o, -EAGAIN);
            io_uring_prep_fsync(sqe, fd, a[0] != 0 ? IORING_FSYNC_DATASYNC : 0);
            io_uring_sqe_set_data64(sqe, op_index(o));
            return;
        }
        case op::ftruncate:
            if (fd < 0) return reply(-EBADF);
            return reply(::ftruncate(fd, static_cast<off_t>(a[0])) == 0 ? 0 : neg_errno());
        case op::fstat:
        case op::stat: {
            struct stat st {};
            int r;
            if (kind == op::fstat) {
                if (fd < 0) return reply(-EBADF);
                r = ::fstat(fd, &st);
            } else {
                r = ::stat(path_of(payload).c_str(), &st);
            }
            if (r != 0) return reply(neg_errno());
            wire::stat_record rec;
            stat_reply(st, rec);
            return reply(0, {reinterpret_cast<const std::byte*>(&rec), sizeof rec});
        }
        case op::unlink:
            return reply(::unlink(path_of(payload).c_str()) == 0 ? 0 : neg_errno());
        case op::rmdir:
            return reply(::rmdir(path_of(payload).c_str()) == 0 ? 0 : neg_errno());
        case op::mkdir:
            return reply(::mkdir(path_of(payload).c_str(), static_cast<mode_t>(a[0] & 07777)) == 0
                             ? 0
                             : neg_errno());
        case op::rename: {
            if (a[0] > payload.size()) return reply(-EINVAL);
            const std::string from = path_of(payload.first(a[0]));
            const std::string to = path_of(payload.subspan(a[0]));
            return reply(::rename(from.c_str(), to.c_str()) == 0 ? 0 : neg_errno());
        }
        case op::list_dir: {
            DIR* d = ::opendir(path_of(payload).c_str());
            if (d == nullptr) return reply(neg_errno());
            const std::size_t asked = std::min<std::uint64_t>(a[0], wire::max_io);
            std::vector<std::byte> out;
            std::int64_t count = 0;
            std::uint64_t next = 0;
            if (a[1] != 0) seekdir(d, static_cast<long>(a[1]));
            for (;;) {
                const long here = telldir(d);  // where this entry starts: the next cookie
                dirent* e = ::readdir(d);
                if (e == nullptr) break;
                const std::size_t len = std::strlen(e->d_name);
                if ((len == 1 && e->d_name[0] == '.') ||
                    (len == 2 && e->d_name[0] == '.' && e->d_name[1] == '.'))
                    continue;
                const std::size_t bytes = wire::dir_entry_header_bytes + (len + 7) / 8 * 8;
                if (out.size() + bytes > asked) {
                    next = static_cast<std::uint64_t>(here);
                    break;
                }
                const std::size_t at = out.size();
                out.resize(at + bytes);
                put_word(out.data() + at, e->d_type);
                put_word(out.data() + at + 8, len);
                std::memcpy(out.data() + at + 16, e->d_name, len);
                ++count;
            }
            ::closedir(d);
            return reply(count, out, next);
        }
        default:
            return reply(-EINVAL);
    }
}

}  // namespace

expected<std::unique_ptr<service>> service::start(std::vector<platform::service_link> links,
                                                  ring::wait_hooks& hooks,
                                                  service_options options) {
    auto s = std::make_unique<uring_service>(std::move(links), hooks, options);
    if (auto b = s->begin(); !b) return unexpected(b.error());
    return std::unique_ptr<service>(std::move(s));
}

expected<std::unique_ptr<service>> service::start_for(platform::enclave& e, std::size_t link_index,
                                                      service_options options) {
    std::vector<platform::service_link> links;
    for (std::size_t i = 0; i < e.channels(); ++i)
        links.push_back(e.link(i, link_index));
    return start(std::move(links), e.hooks(), options);
}

}  // namespace airlock::sys
