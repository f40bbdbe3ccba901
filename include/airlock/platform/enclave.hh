// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/platform/enclave.hh: what an enclave is and how a thread gets in.
//
// `enclave::create(config, program)` lays out the shared region (two rings
// and two doorbells per channel), starts the enclave's threads and runs
// `program` once on each of them with that thread's executor and its rpc
// endpoint to the host; `create` returns once every thread has registered
// its handlers, so the host can call at once. Each enclave thread then runs
// its executor until the enclave is destroyed.
//
// The host talks to enclave thread i through `open_channel(i)`, which gives
// the calling host thread an executor parked on the region's doorbell for
// that channel and the host endpoint bound to it.
//
// Platforms: `sim` (the default, for development and CI) runs the enclave on
// threads of the host process; `process` (platform_kind::process) will run it
// as a separate, sandboxed process. Both take the same config and program.
// Each platform also offers the classic synchronous transition
// (`transition()`), used as the baseline in benchmarks: on `sim` its cost is
// modelled (platform/transition.hh).
//
// Thread contract: create and the destructor on one host thread; a
// host_channel belongs to the thread that opened it (its executor's owner).
// Close every host_channel before destroying the enclave.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "airlock/async/executor.hh"
#include "airlock/base/expected.hh"
#include "airlock/platform/transition.hh"
#include "airlock/ring/region.hh"
#include "airlock/rpc/endpoint.hh"

namespace airlock::platform {

enum class platform_kind : std::uint8_t { sim, process };

// The platform named by the AIRLOCK_PLATFORM environment variable ("sim" or
// "process"), or `fallback` when it is unset. An unknown name is
// invalid_argument.
[[nodiscard]] expected<platform_kind> platform_from_environment(
    platform_kind fallback = platform_kind::sim);

struct enclave_config {
    platform_kind platform = platform_kind::sim;
    // Enclave threads; each has an executor and one channel to the host.
    std::size_t enclave_threads = 1;
    // Bytes of each ring (two per channel); a power of two.
    std::size_t ring_capacity = std::size_t{1} << 18;
    rpc::endpoint_options rpc{};
    // Idle strategy of the enclave executors.
    async::executor_options executor{};
    // CPUs for the enclave threads: thread i runs on cpus[i % size]; empty
    // leaves placement to the OS.
    std::vector<int> cpus{};
    // Cost of the modelled synchronous transition (platform/transition.hh).
    std::uint64_t transition_cycles = modelled_transition::default_cycles_per_call;
};

// What an enclave thread's program is given.
struct enclave_thread {
    std::size_t index = 0;
    async::executor& executor;
    // Calls host_methods (ocalls), serves enclave_methods (ecalls).
    rpc::endpoint<rpc::side::enclave>& host;
};

// The enclave's code: runs on each enclave thread, registers handlers and
// may spawn tasks. A plain function: on the process platform it is code of
// the enclave program, not a closure over host memory.
using enclave_program = void (*)(enclave_thread& thread);

// The host's end of one channel: an executor for the calling thread, parked
// on the channel's host doorbell, and the host endpoint on it.
class host_channel {
  public:
    virtual ~host_channel() = default;
    [[nodiscard]] virtual async::executor& executor() noexcept = 0;
    // Calls enclave_methods (ecalls), serves host_methods (ocalls).
    [[nodiscard]] virtual rpc::endpoint<rpc::side::host>& endpoint() noexcept = 0;
};

class enclave {
  public:
    // Creates the enclave and runs `program` on each of its threads.
    // Returns platform_unavailable for a platform this build cannot run.
    [[nodiscard]] static expected<std::unique_ptr<enclave>> create(const enclave_config& config,
                                                                   enclave_program program);
    // Stops the enclave threads (after their current round) and joins them.
    virtual ~enclave() = default;

    [[nodiscard]] virtual platform_kind kind() const noexcept = 0;
    [[nodiscard]] virtual std::size_t channels() const noexcept = 0;
    // On the calling host thread: that thread's executor and endpoint for
    // channel `i` (< channels()); at most one open host_channel per channel.
    [[nodiscard]] virtual std::unique_ptr<host_channel> open_channel(
        std::size_t i, async::executor_options options = {}) = 0;
    // The platform's wait hooks (park, unpark, clock) for host-side waits.
    [[nodiscard]] virtual ring::wait_hooks& hooks() noexcept = 0;
    // The classic synchronous ecall/ocall of this platform.
    [[nodiscard]] virtual const modelled_transition& transition() const noexcept = 0;
};

// The region layout every platform uses: channel i has rings 2i
// (enclave→host) and 2i+1 (host→enclave), doorbells 2i (the enclave
// executor's) and 2i+1 (the host executor's).
[[nodiscard]] ring::region_geometry channel_geometry(std::size_t channels,
                                                     std::size_t ring_capacity);
[[nodiscard]] inline std::size_t enclave_to_host_ring(std::size_t channel) {
    return 2 * channel;
}
[[nodiscard]] inline std::size_t host_to_enclave_ring(std::size_t channel) {
    return 2 * channel + 1;
}
[[nodiscard]] inline std::size_t enclave_bell(std::size_t channel) {
    return 2 * channel;
}
[[nodiscard]] inline std::size_t host_bell(std::size_t channel) {
    return 2 * channel + 1;
}

}  // namespace airlock::platform
