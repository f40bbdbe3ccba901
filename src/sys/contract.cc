// SPDX-License-Identifier: Apache-2.0
// The contract of every sys call's completion (contract.hh).
#include "contract.hh"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>
#include <initializer_list>
#include <limits>

namespace airlock::sys::detail {

namespace {

std::uint64_t word_at(std::span<const std::byte> b, std::size_t i) noexcept {
    std::uint64_t w;
    std::memcpy(&w, b.data() + 8 * i, 8);
    return w;
}

bool one_of(std::int64_t e, std::initializer_list<int> list) noexcept {
    for (int x : list)
        if (x == e) return true;
    return false;
}

// Errors any call may see from io_uring or the host's table.
bool common_errno(std::int64_t e) noexcept {
    return one_of(e, {EBADF, EINVAL, ENOMEM, EINTR, ECANCELED, EAGAIN, EMFILE, ENFILE, EPERM,
                      EACCES, ENOBUFS, EOPNOTSUPP, EFAULT});
}

bool socket_errno(std::int64_t e) noexcept {
    return one_of(
        e, {ECONNRESET,      ECONNREFUSED, ECONNABORTED, EPIPE,      ETIMEDOUT,     ENOTCONN,
            EISCONN,         EALREADY,     EINPROGRESS,  EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT,
            ENETUNREACH,     EHOSTUNREACH, ENETDOWN,     EHOSTDOWN,  EPROTO,        ENOTSOCK,
            EPROTONOSUPPORT, ENOPROTOOPT,  EMSGSIZE,     ESHUTDOWN,  ENOENT,        ENOTDIR,
            ELOOP,           ENAMETOOLONG, EROFS,        EIO});
}

bool file_errno(std::int64_t e) noexcept {
    return one_of(e, {ENOENT, EEXIST, EISDIR, ENOTDIR, ENOTEMPTY, ENAMETOOLONG, ELOOP,   EROFS,
                      ENOSPC, EDQUOT, EIO,    EFBIG,   EXDEV,     EBUSY,        ETXTBSY, EOVERFLOW,
                      ESPIPE, EMLINK, ENXIO,  ENODEV,  ESTALE,    EWOULDBLOCK});
}

bool is_socket_op(wire::op op) noexcept {
    return static_cast<std::uint16_t>(op) < 20;
}

bool dir_listing_well_formed(std::span<const std::byte> data, std::int64_t count) noexcept {
    std::size_t at = 0;
    std::int64_t n = 0;
    while (at < data.size()) {
        if (data.size() - at < wire::dir_entry_header_bytes) return false;
        const std::uint64_t type = word_at(data.subspan(at), 0);
        const std::uint64_t len = word_at(data.subspan(at), 1);
        if (type > 15 || len == 0 || len > wire::max_name) return false;
        const std::size_t padded = (len + 7) / 8 * 8;
        if (data.size() - at - wire::dir_entry_header_bytes < padded) return false;
        const std::byte* name = data.data() + at + wire::dir_entry_header_bytes;
        for (std::size_t i = 0; i < len; ++i)
            if (name[i] == std::byte{0} || name[i] == std::byte{'/'}) return false;
        at += wire::dir_entry_header_bytes + padded;
        ++n;
    }
    return n == count;
}

}  // namespace

bool errno_allowed(wire::op op, std::int64_t e) noexcept {
    if (e <= 0 || e > 4095) return false;
    if (common_errno(e)) return true;
    return is_socket_op(op) ? socket_errno(e) : file_errno(e);
}

bool sockaddr_well_formed(std::span<const std::byte> b) noexcept {
    if (b.size() < sizeof(sa_family_t) || b.size() > wire::max_sockaddr) return false;
    sa_family_t family;
    std::memcpy(&family, b.data(), sizeof family);
    switch (family) {
        case AF_INET:
            return b.size() == sizeof(sockaddr_in);
        case AF_INET6:
            return b.size() == sizeof(sockaddr_in6);
        case AF_UNIX:
            return b.size() <= sizeof(sockaddr_un);
        default:
            return false;
    }
}

verdict check_completion(wire::op kind, std::uint64_t asked, std::size_t room, std::int64_t result,
                         std::uint64_t aux, std::span<const std::byte> data) noexcept {
    using wire::op;
    if (result < 0) {
        // -INT64_MIN does not exist: no call produces that value.
        if (result == std::numeric_limits<std::int64_t>::min() || !errno_allowed(kind, -result))
            return {errc::sys_bad_errno, "an errno the call cannot produce"};
        if (!data.empty()) return {errc::sys_bad_result, "data with an error"};
        return {};
    }
    if (data.size() > room) return {errc::sys_bad_result, "more data than the caller's buffer"};
    switch (kind) {
        case op::recv:
        case op::read:
            if (static_cast<std::uint64_t>(result) > asked)
                return {errc::sys_bad_result, "more bytes than asked"};
            if (data.size() != static_cast<std::uint64_t>(result))
                return {errc::sys_bad_result, "a byte count that is not the bytes that came"};
            return {};
        case op::receive_from: {
            if (static_cast<std::uint64_t>(result) > asked)
                return {errc::sys_bad_result, "more bytes than asked"};
            if (aux > wire::max_sockaddr || data.size() != aux + static_cast<std::uint64_t>(result))
                return {errc::sys_bad_result, "a datagram whose lengths do not add up"};
            if (!sockaddr_well_formed(data.first(aux)))
                return {errc::sys_bad_result, "a malformed address"};
            return {};
        }
        case op::send:
        case op::send_to:
        case op::write:
        case op::append:
            if (static_cast<std::uint64_t>(result) > asked)
                return {errc::sys_bad_result, "more bytes written than given"};
            if (!data.empty()) return {errc::sys_bad_result, "data after a write"};
            return {};
        case op::accept:
        case op::local_address:
        case op::peer_address:
            if (result != 0 || !sockaddr_well_formed(data))
                return {errc::sys_bad_result, "a malformed address"};
            return {};
        case op::fstat:
        case op::stat: {
            if (result != 0 || data.size() != wire::stat_record_words * 8)
                return {errc::sys_bad_result, "a malformed stat record"};
            const std::uint64_t mode = word_at(data, 1);
            const std::uint64_t type = mode & S_IFMT;
            if (mode > 0xffff ||
                !(type == S_IFREG || type == S_IFDIR || type == S_IFLNK || type == S_IFCHR ||
                  type == S_IFBLK || type == S_IFIFO || type == S_IFSOCK))
                return {errc::sys_bad_result, "a stat record with an impossible mode"};
            if (word_at(data, 0) > (std::uint64_t{1} << 62))
                return {errc::sys_bad_result, "a stat record with an impossible size"};
            return {};
        }
        case op::poll: {
            // A word of events per entry asked about; `result` counts the
            // entries with any.
            if (data.size() != asked * 8)
                return {errc::sys_bad_result, "a poll reply of another size"};
            std::uint64_t ready = 0;
            for (std::size_t i = 0; i < asked; ++i) {
                const std::uint64_t ev = word_at(data, i);
                if ((ev & ~wire::poll_events) != 0)
                    return {errc::sys_bad_result, "a poll event that does not exist"};
                ready += ev != 0 ? 1 : 0;
            }
            if (static_cast<std::uint64_t>(result) != ready)
                return {errc::sys_bad_result, "a poll count that is not the entries ready"};
            return {};
        }
        case op::list_dir:
            if (data.size() > asked || !dir_listing_well_formed(data, result))
                return {errc::sys_bad_result, "a malformed directory listing"};
            (void)aux;
            return {};
        default:
            if (result != 0 || !data.empty())
                return {errc::sys_bad_result, "a result the call cannot produce"};
            return {};
    }
}

}  // namespace airlock::sys::detail
