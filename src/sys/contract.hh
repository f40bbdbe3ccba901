// SPDX-License-Identifier: Apache-2.0
#pragma once
// src/sys/contract.hh: what a completion may say for each call (internal).
//
// `check_completion` is the Iago check of one completion against the
// request it answers: the errno must be one the call can produce, a byte
// count at most what was asked and equal to the bytes that came, an address,
// stat record or directory listing well formed. It returns errc::ok or the
// fault code, with the reason.
//
// Thread contract: pure functions; any thread.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "airlock/base/error.hh"
#include "airlock/sys/protocol.hh"

namespace airlock::sys::detail {

struct verdict {
    errc code = errc::ok;
    const char* reason = "";
};

[[nodiscard]] bool errno_allowed(wire::op op, std::int64_t e) noexcept;
[[nodiscard]] bool sockaddr_well_formed(std::span<const std::byte> bytes) noexcept;
[[nodiscard]] verdict check_completion(wire::op op, std::uint64_t asked, std::size_t room,
                                       std::int64_t result, std::uint64_t aux,
                                       std::span<const std::byte> data) noexcept;

}  // namespace airlock::sys::detail
