// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/platform/futex_wait.hh: wait hooks for threads outside an enclave.
//
// `futex_wait_hooks` implements ring::wait_hooks with Linux futexes on the
// low 32 bits of a doorbell word (x86-64 and AArch64 are little-endian, so
// the low half is at the word's address), sched_yield and CLOCK_MONOTONIC.
// The futexes are process-shared (not FUTEX_PRIVATE), so they also work when
// the region is a memfd mapped into two processes. Host side only: these are
// system calls, which enclave code never makes directly.
//
// Thread contract: stateless; any host thread.

#include "airlock/ring/wait.hh"

namespace airlock::platform {

class futex_wait_hooks final : public ring::wait_hooks {
  public:
    void yield() noexcept override;
    void park(ring::shared_u64& word, std::uint64_t expected,
              std::uint64_t timeout_ns) noexcept override;
    void unpark(ring::shared_u64& word) noexcept override;
    [[nodiscard]] std::uint64_t now_ns() noexcept override;

    // A process-wide instance, for code that needs no other.
    [[nodiscard]] static futex_wait_hooks& instance() noexcept;
};

}  // namespace airlock::platform
