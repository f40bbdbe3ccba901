// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/base/cpu_random.hh: random bytes from the CPU's RDRAND.
//
// Enclave code must not take randomness from the host (a host's
// /dev/urandom is whatever the host says it is); RDRAND runs inside the
// enclave. Each 64-bit word is retried up to ten times, as Intel advises,
// and a CPU without RDRAND, or one that keeps failing, gives false: a
// buffer that could not be filled is never passed off as random. Callers
// decide what to do without it (sys: an error; suvm: libsodium's source).
//
// Thread contract: any thread; no system calls, no shared state.

#include <cstddef>
#include <span>

namespace airlock {

// Whether this CPU has RDRAND (CPUID leaf 1, ECX bit 30).
[[nodiscard]] bool cpu_random_available() noexcept;

// Fills `out` from RDRAND; false, with `out` partly written, when the CPU
// has no RDRAND or reports no entropy ten times in a row.
[[nodiscard]] bool cpu_random_bytes(std::span<std::byte> out) noexcept;

}  // namespace airlock
