// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/listener.hh: a listening stream socket, owned by enclave code.
//
// `sys::listener::listen` binds and listens in one call (SO_REUSEADDR on by
// default, SO_REUSEPORT when asked); `accept` yields connected
// `sys::socket`s, each with an enclave handle, and may tell the peer's
// address. The destructor closes the listener without waiting (an accept
// still in flight then fails).
//
// Eager accepts: a listener keeps `listen_options::accepts_ahead` accepts
// posted from the moment it listens (each one of the client's eager
// requests, client_options::max_eager_requests). A connection the host
// accepted waits in the listener, already receiving ahead, until `accept`
// takes it; so do the errors of accepts posted ahead, in order. The
// connections not taken are closed with the listener.
//
// Thread contract: enclave side, the client's executor thread; several
// accepts may be in flight at once. Do not move a listener while one of its
// calls is in flight.

#include <cstdint>
#include <memory>

#include "airlock/async/task.hh"
#include "airlock/sys/address.hh"
#include "airlock/sys/client.hh"
#include "airlock/sys/socket.hh"

namespace airlock::sys {

struct listen_options {
    std::uint32_t backlog = 128;
    bool reuse_address = true;
    bool v6_only = false;  // an IPv6 listener that refuses IPv4-mapped peers
    // Accepts kept in flight ahead of `accept` (connections accepted and not
    // yet taken count too); 0 accepts only when asked.
    std::uint32_t accepts_ahead = 4;
    // SO_REUSEPORT: several listeners (of one link or of several) may bind
    // the same address, and the kernel spreads new connections over them.
    bool reuse_port = false;
    // TCP_NODELAY on every connection accepted: a reply leaves at once
    // instead of waiting (Nagle) for the ACK of the one before, which the
    // peer may delay by up to 40 ms. What a request/response server wants.
    bool no_delay = false;
};

namespace detail {
class acceptor;
}

class listener {
  public:
    listener() noexcept = default;
    listener(listener&& o) noexcept = default;
    listener& operator=(listener&& o) noexcept;
    ~listener();

    // Binds to `at` and listens. Port 0 picks a free port: see local_address.
    [[nodiscard]] static async::task<result<listener>> listen(client& c, address at,
                                                              listen_options options = {});

    [[nodiscard]] bool is_open() const noexcept;
    // The enclave's handle (for sys::poll); 0 when not open.
    [[nodiscard]] handle native_handle() const noexcept;
    // The next connection; its peer's address in `*peer` when not null.
    [[nodiscard]] async::task<result<socket>> accept(address* peer = nullptr);
    [[nodiscard]] async::task<result<address>> local_address();
    [[nodiscard]] async::task<result<void>> close();

    // Connections accepted ahead and not yet taken.
    [[nodiscard]] std::size_t accepted_ahead() const noexcept;

  private:
    explicit listener(std::shared_ptr<detail::acceptor> a) noexcept : acceptor_(std::move(a)) {}
    std::shared_ptr<detail::acceptor> acceptor_;
};

}  // namespace airlock::sys
