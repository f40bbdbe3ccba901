// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/datagram.hh: a UDP socket owned by enclave code.
//
// `sys::datagram_socket::bind` makes a UDP socket bound to an address (port
// 0 picks one: see local_address); `send_to` sends one datagram of at most
// wire::max_io bytes, `receive_from` receives one (a longer one is cut to
// what was asked, as recvfrom does) and says who sent it. The sender's
// address is checked like any host reply. The destructor closes without
// waiting.
//
// Thread contract: enclave side, the client's executor thread; do not move
// it while one of its calls is in flight.

#include <cstddef>
#include <span>

#include "airlock/async/task.hh"
#include "airlock/sys/address.hh"
#include "airlock/sys/client.hh"

namespace airlock::sys {

class datagram_socket {
  public:
    datagram_socket() noexcept = default;
    datagram_socket(datagram_socket&& o) noexcept
        : client_(std::move(o.client_)), handle_(o.handle_) {
        o.handle_ = 0;
    }
    datagram_socket& operator=(datagram_socket&& o) noexcept;
    ~datagram_socket();

    [[nodiscard]] static async::task<result<datagram_socket>> bind(client& c, address at);

    [[nodiscard]] bool is_open() const noexcept;
    // Sends `bytes` (at most wire::max_io) to `to`; returns how many went.
    [[nodiscard]] async::task<result<std::size_t>> send_to(std::span<const std::byte> bytes,
                                                           address to);
    // Receives one datagram into `into`; its sender in `*from` when not null.
    [[nodiscard]] async::task<result<std::size_t>> receive_from(std::span<std::byte> into,
                                                                address* from = nullptr);
    [[nodiscard]] async::task<result<address>> local_address();
    [[nodiscard]] async::task<result<void>> close();

  private:
    datagram_socket(client_ref c, handle h) noexcept : client_(std::move(c)), handle_(h) {}
    client_ref client_;
    handle handle_ = 0;
};

}  // namespace airlock::sys
