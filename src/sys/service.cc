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

#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <thread>

#include "airlock/ring/spsc_ring.hh"
#include "airlock/sys/protocol.hh"
#include "host_ops.hh"
#include "transition_server.hh"

namespace airlock::sys {

namespace {

using wire::op;
using shared = ring::shared;
using ring::shared_u64;

constexpr std::uint64_t futex_tag = std::uint64_t{1} << 63;
constexpr std::uint8_t op_futex_wait = 51;  // IORING_OP_FUTEX_WAIT (Linux 6.7), not in 6.1 headers
constexpr std::uint32_t futex2_size_u32 = 0x02;

std::uint64_t clock_ns(clockid_t id) noexcept {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000 +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

struct link_state {
    platform::service_link view;
    ring::ring_consumer requests;
    ring::ring_producer completions;
    std::unique_ptr<detail::host_table> fds;
    std::deque<std::vector<std::byte>> pending;  // completions waiting for ring space
    std::optional<ring::outgoing_message> partial;
    bool futex_armed = false;
    std::uint64_t clock_seq = 0;
    bool clock_stale = false;  // the words carry wire::clock_stale: unpark readers on refresh
    bool served = false;       // a request was taken: the link's transport is decided
    // The transition transport's host thread, which owns the link's rings
    // and table once its first request asked for it (transition_server.hh).
    std::unique_ptr<detail::transition_server> transition;
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
    msghdr msg{};  // send_to, receive_from
    iovec iov{};
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
                std::make_unique<detail::host_table>(options.max_handles),
                {},
                {},
                false,
                0,
                false,
                false,
                nullptr};
            links_.push_back(std::move(s));
        }
    }

    ~uring_service() override {
        stop_.store(true, std::memory_order_release);
        for (auto& l : links_)
            hooks_->unpark(l.view.service_bell->word);
        if (thread_.joinable()) thread_.join();
        for (auto& l : links_)
            l.transition.reset();  // ends its blocking call; answers nothing more
        // Nothing more will be answered: say so on every link, after the
        // last completion, and wake the enclave threads that park, so their
        // waiting calls end now instead of at their deadlines.
        for (auto& l : links_) {
            shared::store_release(l.view.words[wire::service_state].word, wire::service_stopped);
            ring::ring_doorbell(*l.view.enclave_bell, hooks_);
        }
        if (ring_ready_) io_uring_queue_exit(&ring_);  // cancels what is in flight
        links_.clear();                                // closes every fd still open
    }

    expected<void> begin() {
        if (io_uring_queue_init(options_.ring_entries, &ring_, 0) != 0)
            return unexpected(errc::platform_unavailable);
        for (auto& l : links_)  // a link served again after an earlier service stopped
            shared::store_release(l.view.words[wire::service_state].word, 0);
        ring_ready_ = true;
        update_clocks();
        thread_ = std::thread([this] {
            if (options_.cpu >= 0 && options_.cpu < CPU_SETSIZE) {
                cpu_set_t set;
                CPU_ZERO(&set);
                CPU_SET(options_.cpu, &set);
                (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
            }
            run();
        });
        return {};
    }

    service_stats stats() const noexcept override {
        service_stats s;
        s.requests = requests_.load(std::memory_order_relaxed);
        s.submits = submits_.load(std::memory_order_relaxed);
        s.completions = completions_.load(std::memory_order_relaxed);
        s.sleeps = sleeps_.load(std::memory_order_relaxed);
        s.tickless_sleeps = tickless_sleeps_.load(std::memory_order_relaxed);
        return s;
    }

  private:
    // --- the loop -------------------------------------------------------------

    // Rounds until stopped. With nothing to do it spins for spin_ns, then
    // yields a few times, then sleeps; a sleep that ends with nothing to do
    // (the clock tick, a spurious wake-up) sleeps again at once, so an idle
    // service costs one short wake-up per tick, until tickless_after ticks
    // in a row found nothing to do: then it sleeps until rung.
    void run() {
        std::uint64_t idle_since = 0;
        std::uint32_t yields = 0;
        bool slept = false;
        while (!stop_.load(std::memory_order_acquire)) {
            const std::uint64_t now = update_clocks();
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
                if (!l.transition) flush_completions(l);
            if (work != 0) {
                idle_since = 0;
                yields = 0;
                slept = false;
                idle_ticks_ = 0;
                continue;
            }
            if (!slept) {
                if (idle_since == 0) idle_since = now;
                if (now - idle_since < options_.spin_ns) {
                    ring::cpu_relax();
                    continue;
                }
                if (yields < options_.yields) {
                    ++yields;
                    sched_yield();
                    continue;
                }
            }
            sleep();
            slept = true;
        }
    }

    // Announce, re-check, then sleep in the kernel until a CQE (a futex wait
    // completing is one) or the tick (ring/wait.hh's handshake). Tickless
    // (no tick for the clock), the clock words are marked stale after the
    // announcement, so a reader that sees the mark also sees the bell set
    // and rings it: a wait submitted after that finds the bell 0 and
    // completes at once, one submitted before is woken.
    void sleep() {
        for (auto& l : links_)
            if (!l.transition) shared::store_relaxed(l.view.service_bell->word, 1);
        ring::full_fence();
        for (auto& l : links_)
            if (!l.transition && (l.requests.has_data() || !l.pending.empty())) return;
        if (!futex_unsupported_)
            for (std::size_t i = 0; i < links_.size(); ++i)
                arm_futex(i);
        // Tickless only with every bell's wait armed: nothing else wakes it.
        // A link served by a transition thread keeps it ticking: a clock
        // reader's ring would reach that thread, not this one.
        const bool tickless = !futex_unsupported_ && options_.tickless_after != 0 &&
                              idle_ticks_ >= options_.tickless_after &&
                              std::all_of(links_.begin(), links_.end(),
                                          [](const link_state& l) { return l.futex_armed; });
        if (tickless) {
            for (auto& l : links_) {
                // release: the consistent values stay visible with the mark.
                shared::store_release(l.view.words[wire::clock_seq].word,
                                      l.clock_seq | wire::clock_stale);
                l.clock_stale = true;
            }
        }
        __kernel_timespec ts{};
        ts.tv_sec = static_cast<long long>(options_.tick_ns / 1'000'000'000);
        ts.tv_nsec = static_cast<long long>(options_.tick_ns % 1'000'000'000);
        io_uring_cqe* cqe = nullptr;
        sleeps_.fetch_add(1, std::memory_order_relaxed);
        if (tickless) tickless_sleeps_.fetch_add(1, std::memory_order_relaxed);
        const int r =
            io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, tickless ? nullptr : &ts, nullptr);
        queued_sqes_ = 0;
        // A tick that ended the sleep counts towards going tickless; being
        // rung (a request, a clock reader, a completion) starts the count again.
        idle_ticks_ = !tickless && r == -ETIME ? idle_ticks_ + 1 : 0;
    }

    void arm_futex(std::size_t i) {
        link_state& l = links_[i];
        if (l.futex_armed || l.transition) return;
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

    // Publishes the clocks to every link; returns the monotonic reading.
    std::uint64_t update_clocks() {
        const std::uint64_t mono = clock_ns(CLOCK_MONOTONIC);
        const std::uint64_t real = clock_ns(CLOCK_REALTIME);
        for (auto& l : links_) {
            auto& seq = l.view.words[wire::clock_seq].word;
            shared::store_relaxed(seq, ++l.clock_seq);  // odd: being written
            std::atomic_thread_fence(std::memory_order_release);
            shared::store_relaxed(l.view.words[wire::clock_monotonic].word, mono);
            shared::store_relaxed(l.view.words[wire::clock_realtime].word, real);
            shared::store_release(seq, ++l.clock_seq);  // even: consistent
            if (l.clock_stale) {                        // a reader may be parked on the sequence
                l.clock_stale = false;
                hooks_->unpark(seq);
            }
        }
        return mono;
    }

    // --- requests -------------------------------------------------------------

    std::size_t take_requests(std::size_t li) {
        link_state& l = links_[li];
        if (l.transition) return 0;             // its own thread serves it
        if (l.pending.size() > 1024) return 0;  // the enclave is not draining: back-pressure
        std::size_t n = 0;
        for (; n < 64; ++n) {
            auto m = l.requests.try_receive();
            if (!m) break;  // empty, or faulted (the enclave broke the ring: ignore it)
            requests_.fetch_add(1, std::memory_order_relaxed);
            if (!l.served && (m->tag & wire::transition_flag) != 0) {
                hand_to_transition(li, m->tag, m->bytes);
                return n + 1;
            }
            l.served = true;  // a link served here stays here: its ops are in the kernel
            handle_request(li, static_cast<op>(m->tag & ~wire::transition_flag), m->bytes);
        }
        l.requests.publish();
        return n;
    }

    // The link's first request asks for the transition transport: its rings
    // and table move to a host thread of its own, which serves that request
    // and every later one synchronously (transition_server.hh).
    void hand_to_transition(std::size_t li, std::uint16_t tag, std::span<const std::byte> m) {
        link_state& l = links_[li];
        l.served = true;
        std::vector<std::byte> first(m.begin(), m.end());  // m lies in the consumer that moves
        l.transition = std::make_unique<detail::transition_server>(
            l.view, std::move(l.requests), std::move(l.completions), std::move(l.fds), *hooks_, tag,
            std::move(first));
    }

    void handle_request(std::size_t li, op kind, std::span<const std::byte> m) {
        link_state& l = links_[li];
        detail::host_request r;
        if (!detail::decode_request(static_cast<std::uint16_t>(kind), m, r))
            return;  // not a request: nothing to answer
        if (auto now = detail::run_now(*l.fds, r, &deferred_closes_))
            return complete(l, r.id, now->result, now->aux, now->data);
        auto reply = [&](std::int64_t result) { complete(l, r.id, result, 0, {}); };
        const int fd = l.fds->fd_of(r.target);
        switch (kind) {
            case op::accept: {
                if (fd < 0 || !l.fds->fits(r.args[0])) return reply(-EBADF);
                op_state& o = new_op(li, r.id, kind);
                o.new_handle = r.args[0];
                o.addrlen = sizeof o.addr;
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                io_uring_prep_accept(sqe, fd, reinterpret_cast<sockaddr*>(&o.addr), &o.addrlen,
                                     SOCK_CLOEXEC);
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::connect: {
                if (!l.fds->fits(r.target)) return reply(-EBADF);
                op_state& o = new_op(li, r.id, kind);
                if (r.payload.size() < sizeof(sa_family_t) || r.payload.size() > sizeof o.addr)
                    return fail_op(o, -EINVAL);
                std::memcpy(&o.addr, r.payload.data(), r.payload.size());
                o.addrlen = static_cast<socklen_t>(r.payload.size());
                o.new_handle = r.target;
                o.no_delay = r.args[0] != 0;
                o.fd = ::socket(o.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (o.fd < 0) return fail_op(o, -static_cast<std::int64_t>(errno));
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                io_uring_prep_connect(sqe, o.fd, reinterpret_cast<sockaddr*>(&o.addr), o.addrlen);
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::open: {
                if (!l.fds->fits(r.target)) return reply(-EBADF);
                if (r.payload.size() > wire::max_path) return reply(-ENAMETOOLONG);
                op_state& o = new_op(li, r.id, kind);
                o.path.assign(reinterpret_cast<const char*>(r.payload.data()), r.payload.size());
                o.new_handle = r.target;
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                io_uring_prep_openat(sqe, AT_FDCWD, o.path.c_str(),
                                     static_cast<int>(r.args[0]) | O_CLOEXEC,
                                     static_cast<mode_t>(r.args[1] & 07777));
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::recv:
            case op::read: {
                if (fd < 0) return reply(-EBADF);
                op_state& o = new_op(li, r.id, kind);
                o.buffer.resize(std::min<std::uint64_t>(r.args[0], wire::max_io));
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                if (kind == op::recv)
                    io_uring_prep_recv(sqe, fd, o.buffer.data(), o.buffer.size(), 0);
                else
                    io_uring_prep_read(sqe, fd, o.buffer.data(),
                                       static_cast<unsigned>(o.buffer.size()), r.args[1]);
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::send:
            case op::write:
            case op::append: {
                if (fd < 0) return reply(-EBADF);
                if (r.payload.size() > wire::max_io) return reply(-EINVAL);
                op_state& o = new_op(li, r.id, kind);
                o.buffer.assign(r.payload.begin(), r.payload.end());
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                if (kind == op::send)
                    io_uring_prep_send(sqe, fd, o.buffer.data(), o.buffer.size(), MSG_NOSIGNAL);
                else
                    io_uring_prep_write(sqe, fd, o.buffer.data(),
                                        static_cast<unsigned>(o.buffer.size()),
                                        kind == op::append ? ~std::uint64_t{0} : r.args[1]);
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::send_to:
            case op::receive_from: {
                if (fd < 0) return reply(-EBADF);
                op_state& o = new_op(li, r.id, kind);
                o.msg = msghdr{};
                if (kind == op::send_to) {
                    if (r.args[0] > r.payload.size() || r.args[0] > sizeof o.addr ||
                        r.payload.size() - r.args[0] > wire::max_io)
                        return fail_op(o, -EINVAL);
                    std::memcpy(&o.addr, r.payload.data(), r.args[0]);
                    o.addrlen = static_cast<socklen_t>(r.args[0]);
                    o.buffer.assign(r.payload.begin() + static_cast<std::ptrdiff_t>(r.args[0]),
                                    r.payload.end());
                } else {
                    o.addrlen = sizeof o.addr;
                    o.buffer.resize(std::min<std::uint64_t>(r.args[0], wire::max_io));
                }
                o.iov = {o.buffer.data(), o.buffer.size()};
                o.msg.msg_name = &o.addr;
                o.msg.msg_namelen = o.addrlen;
                o.msg.msg_iov = &o.iov;
                o.msg.msg_iovlen = 1;
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                if (kind == op::send_to)
                    io_uring_prep_sendmsg(sqe, fd, &o.msg, MSG_NOSIGNAL);
                else
                    io_uring_prep_recvmsg(sqe, fd, &o.msg, 0);
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::fsync: {
                if (fd < 0) return reply(-EBADF);
                op_state& o = new_op(li, r.id, kind);
                io_uring_sqe* sqe = get_sqe();
                if (sqe == nullptr) return fail_op(o, -EAGAIN);
                io_uring_prep_fsync(sqe, fd, r.args[0] != 0 ? IORING_FSYNC_DATASYNC : 0);
                io_uring_sqe_set_data64(sqe, op_index(o));
                return;
            }
            case op::poll:
                // Readiness is the transition transport's (a ring client
                // refuses it before sending): its calls block, these do not.
                return reply(-EOPNOTSUPP);
            default:
                return reply(-EINVAL);
        }
    }

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
                l.fds->install(o.new_handle, res);
                complete(l, o.id, 0, 0,
                         {reinterpret_cast<const std::byte*>(&o.addr),
                          std::min<std::size_t>(o.addrlen, sizeof o.addr)});
                break;
            case op::connect:
                if (o.no_delay) {
                    const int one = 1;
                    (void)setsockopt(o.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                }
                l.fds->install(o.new_handle, o.fd);
                o.fd = -1;
                complete(l, o.id, 0, 0, {});
                break;
            case op::open:
                l.fds->install(o.new_handle, res);
                complete(l, o.id, 0, 0, {});
                break;
            case op::recv:
            case op::read:
                complete(l, o.id, res, 0,
                         {o.buffer.data(), std::min<std::size_t>(res, o.buffer.size())});
                break;
            case op::receive_from: {
                auto d = detail::datagram_reply(o.addr, o.msg.msg_namelen, o.buffer.data(),
                                                std::min<std::size_t>(res, o.buffer.size()));
                complete(l, o.id, d.result, d.aux, d.data);
                break;
            }
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
        l.pending.push_back(detail::encode_completion(id, result, aux, data));
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
    std::atomic<std::uint64_t> requests_{0}, submits_{0}, completions_{0}, sleeps_{0},
        tickless_sleeps_{0};
    std::uint32_t idle_ticks_ = 0;  // sleeps in a row that the tick ended
    std::thread thread_;
};

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
