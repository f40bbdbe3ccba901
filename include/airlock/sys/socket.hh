// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/socket.hh: a connected stream socket (TCP or Unix), owned by enclave code.
//
// `sys::socket` is a handle of a sys client (client.hh), made by `connect`
// or by `listener::accept`; the host's descriptor never reaches the
// enclave. Calls are coroutines returning `sys::result`: `recv` returns at
// most what was asked (0: the peer shut its side), `send` may be short,
// `send_all` loops.
//
// Eager and promised execution (client_options::streams): a socket keeps a
// receive posted into its own bounded buffer from the moment it exists, so
// `recv` usually copies bytes that are already in the enclave; `send` and
// `writev` return once their bytes are queued (at most write_behind_bytes
// unflushed, then they wait for room) and the host sends them behind, in
// order. An error of either is kept: the next call on the socket returns
// it, and so do `flush` and `close`, which wait until every queued byte was
// sent. The destructor closes without waiting, once the queue is sent.
//
// Thread contract: enclave side, the client's executor thread. One call
// at a time per direction is the natural use (a recv and a send may be in
// flight together); do not move a socket while one of its calls is in flight.

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "airlock/async/task.hh"
#include "airlock/sys/address.hh"
#include "airlock/sys/client.hh"

namespace airlock::sys {

enum class shutdown_how : std::uint64_t { read = 0, write = 1, both = 2 };

struct connect_options {
    bool no_delay = false;  // TCP_NODELAY once connected
};

namespace detail {
class stream;
}

class socket {
  public:
    socket() noexcept = default;
    socket(socket&& o) noexcept = default;
    socket& operator=(socket&& o) noexcept;
    ~socket();

    // Connects a new socket to `to` (IPv4, IPv6 or Unix).
    [[nodiscard]] static async::task<result<socket>> connect(client& c, address to,
                                                             connect_options options = {});

    [[nodiscard]] bool is_open() const noexcept;
    [[nodiscard]] handle native_handle() const noexcept;

    // Receives up to min(into.size(), wire::max_io) bytes; 0 at end of stream.
    // Bytes already received ahead come first, at once; then a kept error.
    [[nodiscard]] async::task<result<std::size_t>> recv(std::span<std::byte> into);
    // Sends up to min(bytes.size(), wire::max_io) bytes; returns how many
    // went (writing behind: how many were queued, once there was room).
    [[nodiscard]] async::task<result<std::size_t>> send(std::span<const std::byte> bytes);
    // Sends every byte (several sends when needed).
    [[nodiscard]] async::task<result<void>> send_all(std::span<const std::byte> bytes);
    // Waits until every queued byte was sent; the kept error if one was not.
    [[nodiscard]] async::task<result<void>> flush();
    // Bytes queued and not yet sent; bytes received ahead and not yet taken.
    [[nodiscard]] std::size_t unflushed() const noexcept;
    [[nodiscard]] std::size_t received_ahead() const noexcept;
    // readv and writev: one recv filling `into`'s buffers in order, one send
    // of `bytes`' buffers in order; at most wire::max_io bytes in all (the
    // rest is left, a short call as POSIX allows). Returns the byte count.
    [[nodiscard]] async::task<result<std::size_t>> readv(
        std::span<const std::span<std::byte>> into);
    [[nodiscard]] async::task<result<std::size_t>> writev(
        std::span<const std::span<const std::byte>> bytes);
    // Shutting the write side down flushes first (the queued bytes go before it).
    [[nodiscard]] async::task<result<void>> shutdown(shutdown_how how);
    [[nodiscard]] async::task<result<void>> set_option(wire::socket_option option, bool on);
    [[nodiscard]] async::task<result<address>> local_address();
    [[nodiscard]] async::task<result<address>> peer_address();
    // Flushes, closes and waits for the host; the socket is closed
    // afterwards whatever the answer. The kept error comes first.
    [[nodiscard]] async::task<result<void>> close();

  private:
    friend class listener;
    explicit socket(std::shared_ptr<detail::stream> s) noexcept : stream_(std::move(s)) {}
    std::shared_ptr<detail::stream> stream_;
};

namespace detail {
// A request on `h` that needs it open as `kind`.
async::task<result<outcome>> call_on(client_ref c, handle h, handle_kind kind, request r);
// Asks for a sockaddr reply and makes an address of it.
async::task<result<address>> address_of(client_ref c, handle h, handle_kind kind, wire::op op);
// Closes `h` without waiting (destructors).
void close_detached(client_ref& c, handle& h, handle_kind kind) noexcept;
// Closes `h` and waits.
async::task<result<void>> close_and_wait(client_ref c, handle h, handle_kind kind);

// The first `limit` bytes of the buffers `parts`: `parts` itself when it
// holds no more, else a trimmed list kept in `keep`. `total` is their bytes.
template <class B>
std::span<const std::span<B>> first_bytes(std::span<const std::span<B>> parts, std::size_t limit,
                                          std::vector<std::span<B>>& keep, std::size_t& total) {
    total = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (parts[i].size() <= limit - total) {
            total += parts[i].size();
            continue;
        }
        keep.assign(parts.begin(), parts.begin() + static_cast<std::ptrdiff_t>(i));
        keep.push_back(parts[i].first(limit - total));
        total = limit;
        return keep;
    }
    return parts;
}
}  // namespace detail

}  // namespace airlock::sys
