// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/address.hh: a socket address (IPv4, IPv6 or Unix), as bytes.
//
// `sys::address` holds a sockaddr in enclave memory: made from text
// ("127.0.0.1", "::1") and a port, or from a host reply that passed the
// link's checks (family and length agree). Parsing and printing make no
// system call.
//
// Thread contract: a plain value; any thread.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "airlock/sys/error.hh"
#include "airlock/sys/protocol.hh"

namespace airlock::sys {

enum class family : std::uint8_t { none, ipv4, ipv6, unix_stream };

class address {
  public:
    address() = default;
    // A numeric IPv4 or IPv6 address and a port; invalid_argument otherwise.
    [[nodiscard]] static result<address> parse(std::string_view host, std::uint16_t port);
    [[nodiscard]] static address ipv4_loopback(std::uint16_t port);
    [[nodiscard]] static address ipv6_loopback(std::uint16_t port);
    [[nodiscard]] static address ipv4_any(std::uint16_t port);
    [[nodiscard]] static address ipv6_any(std::uint16_t port);
    // A Unix stream socket path (at most 107 bytes).
    [[nodiscard]] static result<address> unix_path(std::string_view path);
    // From a sockaddr's bytes (family and length must agree).
    [[nodiscard]] static result<address> from_bytes(std::span<const std::byte> bytes);

    [[nodiscard]] sys::family family() const noexcept;
    [[nodiscard]] std::uint16_t port() const noexcept;  // 0 for Unix
    [[nodiscard]] std::span<const std::byte> bytes() const noexcept {
        return {storage_.data(), size_};
    }
    // "127.0.0.1:8080", "[::1]:8080", "unix:/path".
    [[nodiscard]] std::string to_string() const;

  private:
    alignas(8) std::array<std::byte, wire::max_sockaddr> storage_{};
    std::size_t size_ = 0;
};

}  // namespace airlock::sys
