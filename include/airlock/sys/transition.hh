// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/transition.hh: the transition baseline ("vanilla SGX" sys calls).
//
// `sys::transition_host` answers each sys request with one synchronous
// transition: the modelled ecall/ocall cost of the platform
// (platform/transition.hh, 8,200 cycles by default) around a plain blocking
// system call made on the calling thread, as an SDK's ocall would. A
// client built with `client_options::transport = transport::transition`
// sends every call through one, so the same program runs either way, chosen
// at run time; its completions pass the same checks. The blocking call
// stops the whole enclave thread while it waits, which is what this
// baseline models (Eleos and SGXIO measure against it).
//
// It makes system calls on the calling thread, so it serves `sim` (on
// `process` the sandbox would stop the enclave). On a sealed platform the
// client sends the same requests over its link instead and blocks until a
// host thread of the service has made the call (src/sys/transition_server.hh,
// docs/sys.md).
//
// Thread contract: one thread (the client's).

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "airlock/platform/transition.hh"

namespace airlock::sys {

namespace detail {
class host_table;
}

class transition_host {
  public:
    explicit transition_host(
        std::uint64_t cycles_per_call = platform::modelled_transition::default_cycles_per_call,
        std::size_t max_handles = 8192);
    ~transition_host();
    transition_host(const transition_host&) = delete;
    transition_host& operator=(const transition_host&) = delete;

    // Serves one request message (its tag and bytes) and returns the
    // completion message. Blocks for the transition and the system call.
    [[nodiscard]] std::vector<std::byte> call(std::uint16_t tag,
                                              std::span<const std::byte> request);
    [[nodiscard]] const platform::modelled_transition& transition() const noexcept {
        return transition_;
    }

  private:
    std::unique_ptr<detail::host_table> table_;
    platform::modelled_transition transition_;
};

}  // namespace airlock::sys
