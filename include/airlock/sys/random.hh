// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/random.hh: randomness from the CPU, never from the host.
//
// `random_bytes` fills a buffer from the CPU's RDRAND instruction, inside
// the enclave: the host can neither see nor choose the bytes (on SGX
// hardware RDRAND is available in enclave mode; a host's /dev/urandom is
// not to be trusted). Each word is retried up to ten times, as Intel
// advises; a CPU without RDRAND, or one that keeps failing, gives
// platform_unavailable and an unfilled buffer is never returned as random.
//
// Thread contract: any thread; no system calls, no shared state.

#include <cstddef>
#include <cstdint>
#include <span>

#include "airlock/sys/error.hh"

namespace airlock::sys {

[[nodiscard]] result<void> random_bytes(std::span<std::byte> out) noexcept;
[[nodiscard]] result<std::uint64_t> random_u64() noexcept;

}  // namespace airlock::sys
