// SPDX-License-Identifier: Apache-2.0
// The host's half of sys calls made at once (host_ops.hh).
#include "host_ops.hh"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

namespace airlock::sys::detail {

namespace {

using wire::op;

std::uint64_t get_word(const std::byte* at) noexcept {
    std::uint64_t w;
    std::memcpy(&w, at, 8);
    return w;
}
void put_word(std::byte* at, std::uint64_t w) noexcept {
    std::memcpy(at, &w, 8);
}

std::int64_t neg_errno() {
    return -static_cast<std::int64_t>(errno);
}
host_result status(int r) {
    return {r == 0 ? 0 : neg_errno(), 0, {}};
}
host_result error(std::int64_t e) {
    return {e, 0, {}};
}
host_result with_data(std::int64_t result, const void* data, std::size_t n, std::uint64_t aux = 0) {
    const auto* p = static_cast<const std::byte*>(data);
    return {result, aux, std::vector<std::byte>(p, p + n)};
}

// Waits until `fd` is ready for `events` or `stop_fd` is readable (the
// host thread is told to stop). False when told to stop.
bool wait_ready(int fd, short events, int stop_fd) {
    pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        if (fds[1].revents != 0) return false;
        return true;  // ready, or an error the call itself will report
    }
}

// A call that may wait, made so that `stop_fd` can end the wait: without it
// (-1) a plain blocking call; with it the call is tried without waiting
// first (one system call when it is ready, as a blocking call would be),
// then waits for readiness or the stop. -ECANCELED when stopped.
template <class Call>
ssize_t stoppable(int fd, short events, int stop_fd, Call&& call) {
    if (stop_fd < 0) return call(0);
    for (;;) {
        const ssize_t n = call(MSG_DONTWAIT);
        if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return n;
        if (!wait_ready(fd, events, stop_fd)) {
            errno = ECANCELED;
            return -1;
        }
    }
}

std::string path_of(std::span<const std::byte> p) {
    return std::string(reinterpret_cast<const char*>(p.data()), p.size());
}

void fill_stat(const struct stat& st, wire::stat_record& r) {
    r.size = static_cast<std::uint64_t>(st.st_size);
    r.mode = st.st_mode;
    r.nlink = st.st_nlink;
    r.uid = st.st_uid;
    r.gid = st.st_gid;
    r.mtime_ns = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                 static_cast<std::uint64_t>(st.st_mtim.tv_nsec);
    r.inode = st.st_ino;
    r.blocks = static_cast<std::uint64_t>(st.st_blocks);
}

// A sockaddr from a request's payload; false when it cannot be one.
bool sockaddr_of(std::span<const std::byte> p, sockaddr_storage& sa, socklen_t& len) {
    if (p.size() < sizeof(sa_family_t) || p.size() > sizeof sa) return false;
    std::memcpy(&sa, p.data(), p.size());
    len = static_cast<socklen_t>(p.size());
    return true;
}

host_result listen_now(host_table& t, const host_request& r) {
    if (!t.fits(r.target)) return error(-EBADF);
    sockaddr_storage sa{};
    socklen_t len = 0;
    if (!sockaddr_of(r.payload, sa, len)) return error(-EINVAL);
    const int s = ::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return error(neg_errno());
    const int one = 1;
    if (r.args[1] & wire::listen_reuse_address)
        (void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if ((r.args[1] & wire::listen_reuse_port) &&
        setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        const std::int64_t e = neg_errno();
        ::close(s);
        return error(e);
    }
    // Set on the listener, TCP_NODELAY passes to every connection it accepts.
    if ((r.args[1] & wire::listen_no_delay) && sa.ss_family != AF_UNIX)
        (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (sa.ss_family == AF_INET6) {
        const int v6 = (r.args[1] & wire::listen_v6_only) ? 1 : 0;
        (void)setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof v6);
    }
    const int backlog = static_cast<int>(std::min<std::uint64_t>(r.args[0], 4096));
    if (::bind(s, reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(s, backlog) != 0) {
        const std::int64_t e = neg_errno();
        ::close(s);
        return error(e);
    }
    t.install(r.target, s);
    return {};
}

host_result set_option_now(int fd, const host_request& r) {
    const int on = r.args[1] != 0 ? 1 : 0;
    int level = SOL_SOCKET, name = 0;
    switch (static_cast<wire::socket_option>(r.args[0])) {
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
            return error(-EINVAL);
    }
    return status(setsockopt(fd, level, name, &on, sizeof on));
}

host_result list_dir_now(const host_request& r) {
    DIR* d = ::opendir(path_of(r.payload).c_str());
    if (d == nullptr) return error(neg_errno());
    const std::size_t asked = std::min<std::uint64_t>(r.args[0], wire::max_io);
    host_result out;
    std::uint64_t next = 0;
    if (r.args[1] != 0) seekdir(d, static_cast<long>(r.args[1]));
    for (;;) {
        const long here = telldir(d);  // where this entry starts: the next cookie
        dirent* e = ::readdir(d);
        if (e == nullptr) break;
        const std::size_t len = std::strlen(e->d_name);
        if ((len == 1 && e->d_name[0] == '.') ||
            (len == 2 && e->d_name[0] == '.' && e->d_name[1] == '.'))
            continue;
        const std::size_t bytes = wire::dir_entry_header_bytes + (len + 7) / 8 * 8;
        if (out.data.size() + bytes > asked) {
            next = static_cast<std::uint64_t>(here);
            break;
        }
        const std::size_t at = out.data.size();
        out.data.resize(at + bytes);
        put_word(out.data.data() + at, e->d_type);
        put_word(out.data.data() + at + 8, len);
        std::memcpy(out.data.data() + at + 16, e->d_name, len);
        ++out.result;
    }
    ::closedir(d);
    out.aux = next;
    return out;
}

}  // namespace

host_result datagram_reply(const sockaddr_storage& sa, socklen_t len, const std::byte* data,
                           std::size_t n) {
    const std::size_t alen = std::min<std::size_t>(len, sizeof sa);
    host_result out{static_cast<std::int64_t>(n), alen, {}};
    out.data.resize(alen + n);
    std::memcpy(out.data.data(), &sa, alen);
    if (n != 0) std::memcpy(out.data.data() + alen, data, n);
    return out;
}

bool decode_request(std::uint16_t tag, std::span<const std::byte> m, host_request& out) noexcept {
    if (m.size() < wire::request_header_bytes) return false;
    out.kind = static_cast<op>(tag);
    out.id = get_word(m.data());
    out.target = get_word(m.data() + 8);
    for (std::size_t i = 0; i < 4; ++i)
        out.args[i] = get_word(m.data() + 16 + 8 * i);
    out.payload = m.subspan(wire::request_header_bytes);
    return true;
}

std::vector<std::byte> encode_completion(std::uint64_t id, std::int64_t result, std::uint64_t aux,
                                         std::span<const std::byte> data) {
    std::vector<std::byte> m(wire::completion_header_bytes + data.size());
    put_word(m.data(), id);
    put_word(m.data() + 8, static_cast<std::uint64_t>(result));
    put_word(m.data() + 16, aux);
    if (!data.empty())
        std::memcpy(m.data() + wire::completion_header_bytes, data.data(), data.size());
    return m;
}

// --- host_table ------------------------------------------------------------------

host_table::~host_table() {
    for (entry& e : fds_)
        if (e.fd >= 0) ::close(e.fd);
}

int host_table::fd_of(std::uint64_t h) const noexcept {
    const auto i = static_cast<std::uint32_t>(h);
    if (i >= fds_.size() || fds_[i].fd < 0 ||
        fds_[i].generation != static_cast<std::uint32_t>(h >> 32))
        return -1;
    return fds_[i].fd;
}

bool host_table::fits(std::uint64_t h) const noexcept {
    return static_cast<std::uint32_t>(h) < fds_.size() && (h >> 32) != 0;
}

void host_table::install(std::uint64_t h, int fd) noexcept {
    entry& e = fds_[static_cast<std::uint32_t>(h)];
    if (e.fd >= 0) ::close(e.fd);  // a handle reused before its close came: drop the old fd
    e.fd = fd;
    e.generation = static_cast<std::uint32_t>(h >> 32);
}

int host_table::take(std::uint64_t h) noexcept {
    const int fd = fd_of(h);
    if (fd >= 0) fds_[static_cast<std::uint32_t>(h)].fd = -1;
    return fd;
}

// --- calls ------------------------------------------------------------------------

std::optional<host_result> run_now(host_table& t, const host_request& r, std::vector<int>* closed) {
    const int fd = t.fd_of(r.target);
    if (r.payload.size() > wire::max_io + 2 * wire::max_path) return error(-EINVAL);
    switch (r.kind) {
        case op::listen:
            return listen_now(t, r);
        case op::udp_bind: {
            if (!t.fits(r.target)) return error(-EBADF);
            sockaddr_storage sa{};
            socklen_t len = 0;
            if (!sockaddr_of(r.payload, sa, len)) return error(-EINVAL);
            const int s = ::socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (s < 0) return error(neg_errno());
            if (::bind(s, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
                const std::int64_t e = neg_errno();
                ::close(s);
                return error(e);
            }
            t.install(r.target, s);
            return host_result{};
        }
        case op::shutdown:
            if (fd < 0) return error(-EBADF);
            if (r.args[0] > 2) return error(-EINVAL);
            return status(::shutdown(fd, static_cast<int>(r.args[0])));
        case op::close: {
            const int f = t.take(r.target);
            if (f < 0) return error(-EBADF);
            (void)::shutdown(f, SHUT_RDWR);  // wakes this socket's accepts and receives
            if (closed != nullptr)
                closed->push_back(f);
            else
                ::close(f);
            return host_result{};
        }
        case op::set_option:
            if (fd < 0) return error(-EBADF);
            return set_option_now(fd, r);
        case op::local_address:
        case op::peer_address: {
            if (fd < 0) return error(-EBADF);
            sockaddr_storage sa{};
            socklen_t len = sizeof sa;
            const int s = r.kind == op::local_address
                              ? getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len)
                              : getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len);
            if (s != 0) return error(neg_errno());
            return with_data(0, &sa, std::min<std::size_t>(len, sizeof sa));
        }
        case op::ftruncate:
            if (fd < 0) return error(-EBADF);
            return status(::ftruncate(fd, static_cast<off_t>(r.args[0])));
        case op::fstat:
        case op::stat: {
            struct stat st {};
            if (r.kind == op::fstat) {
                if (fd < 0) return error(-EBADF);
                if (::fstat(fd, &st) != 0) return error(neg_errno());
            } else if (::stat(path_of(r.payload).c_str(), &st) != 0) {
                return error(neg_errno());
            }
            wire::stat_record rec;
            fill_stat(st, rec);
            return with_data(0, &rec, sizeof rec);
        }
        case op::unlink:
            return status(::unlink(path_of(r.payload).c_str()));
        case op::rmdir:
            return status(::rmdir(path_of(r.payload).c_str()));
        case op::mkdir:
            return status(
                ::mkdir(path_of(r.payload).c_str(), static_cast<mode_t>(r.args[0] & 07777)));
        case op::rename: {
            if (r.args[0] > r.payload.size()) return error(-EINVAL);
            const std::string from = path_of(r.payload.first(r.args[0]));
            const std::string to = path_of(r.payload.subspan(r.args[0]));
            return status(::rename(from.c_str(), to.c_str()));
        }
        case op::list_dir:
            return list_dir_now(r);
        default:
            return std::nullopt;
    }
}

namespace {

// Connects `s`: a plain blocking connect, or (with a stop_fd) a
// non-blocking one whose wait the stop can end. 0 or -errno.
std::int64_t connect_socket(int s, const sockaddr_storage& sa, socklen_t len, int stop_fd) {
    if (stop_fd < 0)
        return ::connect(s, reinterpret_cast<const sockaddr*>(&sa), len) == 0 ? 0 : neg_errno();
    const int flags = ::fcntl(s, F_GETFL);
    if (flags < 0 || ::fcntl(s, F_SETFL, flags | O_NONBLOCK) != 0) return neg_errno();
    if (::connect(s, reinterpret_cast<const sockaddr*>(&sa), len) != 0) {
        if (errno != EINPROGRESS) return neg_errno();
        if (!wait_ready(s, POLLOUT, stop_fd)) return -ECANCELED;
        int e = 0;
        socklen_t n = sizeof e;
        if (::getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &n) != 0) return neg_errno();
        if (e != 0) return -static_cast<std::int64_t>(e);
    }
    return ::fcntl(s, F_SETFL, flags) == 0 ? 0 : neg_errno();  // blocking again
}

// A blocking send: returns once every byte is queued (or at an error, the
// bytes queued so far if any). With a stop_fd its waits can be ended.
ssize_t send_all(int fd, std::span<const std::byte> bytes, int stop_fd) {
    if (stop_fd < 0) return ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    std::size_t sent = 0;
    for (;;) {
        const ssize_t n = stoppable(fd, POLLOUT, stop_fd, [&](int flags) {
            return ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | flags);
        });
        if (n < 0) return sent != 0 ? static_cast<ssize_t>(sent) : n;
        sent += static_cast<std::size_t>(n);
        if (sent == bytes.size() || n == 0) return static_cast<ssize_t>(sent);
    }
}

// poll: waits for the entries' events (or the stop), then replies a word
// of events per entry; a handle the table does not know is poll_nval.
host_result poll_blocking(host_table& t, const host_request& r, int stop_fd) {
    const std::uint64_t n = r.args[0];
    if (n > wire::max_poll_entries || r.payload.size() != n * 16) return error(-EINVAL);
    std::vector<pollfd> fds(n + (stop_fd >= 0 ? 1 : 0));
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t events = get_word(r.payload.data() + 16 * i + 8);
        fds[i].fd = t.fd_of(get_word(r.payload.data() + 16 * i));
        fds[i].events = static_cast<short>(events & (wire::poll_in | wire::poll_out));
    }
    if (stop_fd >= 0) fds[n] = {stop_fd, POLLIN, 0};
    const auto timeout = static_cast<std::int64_t>(r.args[1]);
    const int ms = timeout < 0 ? -1 : static_cast<int>(std::min<std::int64_t>(timeout, INT_MAX));
    if (::poll(fds.data(), fds.size(), ms) < 0) return error(neg_errno());
    if (stop_fd >= 0 && fds[n].revents != 0) return error(-ECANCELED);
    host_result out;
    out.data.resize(n * 8);
    for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t ev = static_cast<std::uint16_t>(fds[i].revents) & wire::poll_events;
        if (fds[i].fd < 0) ev = wire::poll_nval;
        put_word(out.data.data() + 8 * i, ev);
        out.result += ev != 0 ? 1 : 0;
    }
    return out;
}

}  // namespace

host_result run_blocking(host_table& t, const host_request& r, int stop_fd) {
    if (auto now = run_now(t, r, nullptr)) return std::move(*now);
    const int fd = t.fd_of(r.target);
    switch (r.kind) {
        case op::accept: {
            if (fd < 0 || !t.fits(r.args[0])) return error(-EBADF);
            sockaddr_storage sa{};
            socklen_t len = sizeof sa;
            // accept4 has no per-call MSG_DONTWAIT: wait for a connection first.
            if (stop_fd >= 0 && !wait_ready(fd, POLLIN, stop_fd)) return error(-ECANCELED);
            const int s = ::accept4(fd, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_CLOEXEC);
            if (s < 0) return error(neg_errno());
            t.install(r.args[0], s);
            return with_data(0, &sa, std::min<std::size_t>(len, sizeof sa));
        }
        case op::connect: {
            if (!t.fits(r.target)) return error(-EBADF);
            sockaddr_storage sa{};
            socklen_t len = 0;
            if (!sockaddr_of(r.payload, sa, len)) return error(-EINVAL);
            const int s = ::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (s < 0) return error(neg_errno());
            if (const std::int64_t e = connect_socket(s, sa, len, stop_fd); e != 0) {
                ::close(s);
                return error(e);
            }
            if (r.args[0] != 0) {
                const int one = 1;
                (void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            }
            t.install(r.target, s);
            return {};
        }
        case op::open: {
            if (!t.fits(r.target)) return error(-EBADF);
            const int f =
                ::open(path_of(r.payload).c_str(), static_cast<int>(r.args[0]) | O_CLOEXEC,
                       static_cast<mode_t>(r.args[1] & 07777));
            if (f < 0) return error(neg_errno());
            t.install(r.target, f);
            return {};
        }
        case op::recv:
        case op::read: {
            if (fd < 0) return error(-EBADF);
            host_result out;
            out.data.resize(std::min<std::uint64_t>(r.args[0], wire::max_io));
            const ssize_t n =
                r.kind == op::recv
                    ? stoppable(fd, POLLIN, stop_fd,
                                [&](int flags) {
                                    return ::recv(fd, out.data.data(), out.data.size(), flags);
                                })
                    : ::pread(fd, out.data.data(), out.data.size(), static_cast<off_t>(r.args[1]));
            if (n < 0) return error(neg_errno());
            out.data.resize(static_cast<std::size_t>(n));
            out.result = n;
            return out;
        }
        case op::send:
        case op::write:
        case op::append: {
            if (fd < 0) return error(-EBADF);
            if (r.payload.size() > wire::max_io) return error(-EINVAL);
            const ssize_t n = r.kind == op::send ? send_all(fd, r.payload, stop_fd)
                              : r.kind == op::append
                                  ? ::write(fd, r.payload.data(), r.payload.size())
                                  : ::pwrite(fd, r.payload.data(), r.payload.size(),
                                             static_cast<off_t>(r.args[1]));
            return error(n < 0 ? neg_errno() : n);
        }
        case op::fsync:
            if (fd < 0) return error(-EBADF);
            return status(r.args[0] != 0 ? ::fdatasync(fd) : ::fsync(fd));
        case op::send_to: {
            if (fd < 0) return error(-EBADF);
            sockaddr_storage sa{};
            socklen_t len = 0;
            if (r.args[0] > r.payload.size() || !sockaddr_of(r.payload.first(r.args[0]), sa, len))
                return error(-EINVAL);
            const auto data = r.payload.subspan(r.args[0]);
            const ssize_t n = stoppable(fd, POLLOUT, stop_fd, [&](int flags) {
                return ::sendto(fd, data.data(), data.size(), MSG_NOSIGNAL | flags,
                                reinterpret_cast<sockaddr*>(&sa), len);
            });
            return error(n < 0 ? neg_errno() : n);
        }
        case op::receive_from: {
            if (fd < 0) return error(-EBADF);
            std::vector<std::byte> buf(std::min<std::uint64_t>(r.args[0], wire::max_io));
            sockaddr_storage sa{};
            socklen_t len = sizeof sa;
            const ssize_t n = stoppable(fd, POLLIN, stop_fd, [&](int flags) {
                len = sizeof sa;
                return ::recvfrom(fd, buf.data(), buf.size(), flags,
                                  reinterpret_cast<sockaddr*>(&sa), &len);
            });
            if (n < 0) return error(neg_errno());
            return datagram_reply(sa, len, buf.data(), static_cast<std::size_t>(n));
        }
        case op::poll:
            return poll_blocking(t, r, stop_fd);
        default:
            return error(-EINVAL);
    }
}

}  // namespace airlock::sys::detail
