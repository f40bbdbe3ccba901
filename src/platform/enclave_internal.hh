// SPDX-License-Identifier: Apache-2.0
#pragma once
// src/platform/enclave_internal.hh: the platforms behind enclave::create.
//
// enclave::create (src/platform/enclave.cc) checks what every platform
// needs and dispatches to one of these constructors; each returns a started
// enclave or the reason it could not start.
//
// Thread contract: called on the host thread that calls enclave::create.

#include <memory>

#include "airlock/platform/enclave.hh"

namespace airlock::platform::detail {

// enclave_config::untrusted_memory rounded up to whole 4096-byte pages.
[[nodiscard]] inline std::size_t untrusted_memory_bytes(const enclave_config& config) noexcept {
    return (config.untrusted_memory + 4095) / 4096 * 4096;
}

// Pins enclave thread `i` to config.cpus[i % size] (best effort: a CPU that
// does not exist leaves it where it is); no-op when cpus is empty.
void pin_enclave_thread(const enclave_config& config, std::size_t i) noexcept;

// src/platform/sim_enclave.cc: enclave threads in the host process.
[[nodiscard]] expected<std::unique_ptr<enclave>> create_sim_enclave(const enclave_config& config,
                                                                    program_entry entry);
// src/platform/process_enclave.cc: a forked, sealed enclave process.
[[nodiscard]] expected<std::unique_ptr<enclave>> create_process_enclave(
    const enclave_config& config, program_entry entry);

}  // namespace airlock::platform::detail
