// SPDX-License-Identifier: Apache-2.0
#pragma once
// bench/calls_baselines.hh: the call benchmark's modes and their harness.
//
// A "call" here crosses the enclave boundary with `bytes` of argument and
// an 8-byte result, as the SGX SDK's generated code makes an [in] buffer
// cross: on the caller's core the proxy copies the argument into untrusted
// memory, on the callee's core the bridge copies it from there into its own
// memory and the callee reads all of it, and the result comes back for the
// caller to check (call_buffers). Each mode measures `messages` such calls,
// one after another, and returns calls/s, ns per call and the p50/p99
// latency of single calls. Modes:
//   bare        one atomic word each way, both threads spinning: the floor
//               of a cross-core call on this machine (not a usable design).
//   ecall       platform::modelled_transition per call, both copies on the
//               caller's CPU, as a real ecall runs them on one core (the
//               cost is MODELLED: 8,200 cycles, HotCalls' lower bound).
//   ecall_process  the MEASURED transition of a process enclave per call
//               (enclave::transition_round_trip: two cross-process futex
//               handoffs; both copies run on the caller's side, as the
//               enclave cannot read host buffers). On these VMs a futex
//               handoff costs tens of microseconds, far more than hardware.
//   switchless  platform::switchless_pool with one worker on the other CPU;
//               the caller spins until its call is done.
//   airlock     typed rpc calls over the rings of a sim enclave, from many
//               coroutines on the caller's thread (bench/calls_airlock.cc).
//   airlock_sync the same with one call in flight: the pure round trip.
//   airlock_stream, airlock_stream_sync  the same two without buffer pools:
//               every large argument streams through the ring in
//               fragments, as before the pools (not run unless named).
//   asio        a long-lived C++20 coroutine on an asio::io_context that per
//               call hops to a second io_context on the other CPU with
//               `co_await asio::post`, serves the call there and hops back
//               the same way; both threads poll their contexts.
// Adding a mode is one function `calls_result measure_x(const calls_config&)`
// built from `call_buffers` and `call_recorder` (or `time_calls` for a
// synchronous call), plus one row in `calls_modes()`.
//
// Thread contract: each measure_* function runs on the main thread and
// starts and joins its own threads; `call_buffers::serve` runs on the
// callee's thread, everything else on the caller's.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "airlock/platform/enclave.hh"
#include "airlock/platform/transition.hh"
#include "support.hh"

namespace airlock::bench {

// Which side calls. The baselines cost the same either way in this model
// (an ocall is modelled like an ecall; the workers are host or enclave
// threads alike); the direction labels the figures and lets Airlock modes
// place their caller.
enum class call_direction { host_to_enclave, enclave_to_host };
[[nodiscard]] std::string_view to_string(call_direction d) noexcept;

// One measurement.
struct calls_config {
    std::size_t bytes = 0;          // argument size copied in per call
    std::size_t messages = 50'000;  // timed calls
    call_direction direction = call_direction::enclave_to_host;
    int caller_cpu = 0;  // -1: not pinned
    int callee_cpu = 1;  // -1: not pinned
    // Calls in flight at once in the `airlock` mode (coroutines on the caller's thread).
    std::size_t in_flight = 128;
    // Where the Airlock modes' enclave runs (the baselines do not depend on it).
    platform::platform_kind platform = platform::platform_kind::sim;
    // The Airlock modes' buffer pools: bytes each way (enclave_config::
    // pool_bytes) and the smallest message that uses them.
    std::size_t pool_bytes = std::size_t{16} << 20;
    std::size_t pool_threshold = rpc::endpoint_options{}.pool_threshold;
    // The largest message the host sends through its pool (host_pool_max).
    std::size_t host_pool_max = rpc::endpoint_options{}.host_pool_max;
};

// The figures of one measurement.
struct calls_result {
    double calls_per_sec = 0;
    double ns_per_call = 0;
    double p50_ns = 0;
    double p99_ns = 0;
    // switchless: calls that took the regular transition; airlock modes:
    // the host's messages streamed above host_pool_max (rpc pool_capped)
    std::uint64_t fallbacks = 0;
};

// `call_buffers` holds one call's memory, as the SGX SDK's generated code
// has it for an [in] buffer: the caller's argument (a pattern, private to
// the caller), the untrusted buffer the ocall proxy marshals it into, and the
// callee's private copy that the bridge makes of it. Per call, `send()` is
// the proxy's copy, run on the caller's core, and `serve(id)` the bridge's
// copy and the callee's read of every byte, run on the callee's core, so
// the argument crosses between cores on every call in every mode that has
// two threads. `expected(id)` is what the caller must get back.
class call_buffers {
  public:
    explicit call_buffers(std::size_t bytes);
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
    // The caller's argument, for modes that send it themselves.
    [[nodiscard]] std::span<const std::byte> argument() const noexcept {
        return {argument_.data(), bytes_};
    }

    // Caller side: the marshalling copy into the untrusted buffer.
    void send() noexcept;
    // Callee side: the copy out of the untrusted buffer and the callee's read of it.
    [[nodiscard]] std::uint64_t serve(std::uint64_t id) noexcept;
    // Caller side: the result call `id` must return.
    [[nodiscard]] std::uint64_t expected(std::uint64_t id) const noexcept { return id ^ digest_; }

  private:
    std::size_t bytes_;
    private_bytes argument_;    // the caller's
    private_bytes untrusted_;   // written by the caller, read by the callee
    private_bytes copy_;        // the callee's
    std::uint64_t digest_ = 0;  // what serve() reads from a correct copy
};

// What the callee reads from its copy of an argument: every byte, summed as
// 8-byte words (word_sum), plus the size. A call returns `id ^ digest_of`.
[[nodiscard]] std::uint64_t digest_of(std::span<const std::byte> b) noexcept;

// `call_recorder` collects one run: per-call latencies in TSC ticks (read
// with platform::read_tsc around each call) and the wall time of all calls.
class call_recorder {
  public:
    explicit call_recorder(std::size_t messages);
    void start() noexcept { start_ = std::chrono::steady_clock::now(); }
    void record(std::uint64_t tsc_before, std::uint64_t tsc_after) noexcept {
        if (count_ < ticks_.size()) ticks_[count_++] = tsc_after - tsc_before;
    }
    void stop() noexcept { stop_ = std::chrono::steady_clock::now(); }
    // The figures, converting ticks with tsc_clock::calibrated(). Fails the
    // benchmark if fewer calls than expected were recorded.
    [[nodiscard]] calls_result result();

  private:
    std::vector<std::uint64_t> ticks_;
    std::size_t count_ = 0;
    std::chrono::steady_clock::time_point start_{};
    std::chrono::steady_clock::time_point stop_{};
};

// Calls before the timed ones in every measurement (threads spinning,
// caches and branch predictors warm).
[[nodiscard]] std::size_t warmup_calls(const calls_config& c) noexcept;

// Times a synchronous call on the calling thread: `buffers.send()` then
// `call(id)`, which must return the callee's result for call `id`; it is
// checked against `buffers.expected`. Runs warmup_calls(c) untimed calls,
// then c.messages timed ones.
template <class Call>
calls_result time_calls(const calls_config& c, call_buffers& buffers, Call&& call);

// The modes. Each pins its threads as `c` says and fails the benchmark on a
// wrong result.
[[nodiscard]] calls_result measure_bare(const calls_config& c);
[[nodiscard]] calls_result measure_ecall(const calls_config& c);
[[nodiscard]] calls_result measure_ecall_process(const calls_config& c);
[[nodiscard]] calls_result measure_switchless(const calls_config& c);
[[nodiscard]] calls_result measure_asio(const calls_config& c);
// bench/calls_airlock.cc: typed rpc calls over the rings, on c.platform.
[[nodiscard]] calls_result measure_airlock(const calls_config& c);
[[nodiscard]] calls_result measure_airlock_sync(const calls_config& c);
[[nodiscard]] calls_result measure_airlock_stream(const calls_config& c);
[[nodiscard]] calls_result measure_airlock_stream_sync(const calls_config& c);

// A mode as the `calls` subcommand lists it.
struct calls_mode {
    std::string_view name;
    calls_result (*measure)(const calls_config&);
    bool by_default = true;  // run when --modes names none
};
// Every mode, in output order.
[[nodiscard]] std::span<const calls_mode> calls_modes() noexcept;

[[noreturn]] void fail_call(std::uint64_t id, std::uint64_t got, std::uint64_t want);

template <class Call>
calls_result time_calls(const calls_config& c, call_buffers& buffers, Call&& call) {
    const std::size_t warmup = warmup_calls(c);
    for (std::uint64_t id = 0; id < warmup; ++id) {
        buffers.send();
        if (const std::uint64_t r = call(id); r != buffers.expected(id)) [[unlikely]]
            fail_call(id, r, buffers.expected(id));
    }
    call_recorder recorder(c.messages);
    recorder.start();
    for (std::uint64_t id = warmup; id < warmup + c.messages; ++id) {
        const std::uint64_t before = platform::read_tsc();
        buffers.send();
        const std::uint64_t r = call(id);
        const std::uint64_t after = platform::read_tsc();
        if (r != buffers.expected(id)) [[unlikely]]
            fail_call(id, r, buffers.expected(id));
        recorder.record(before, after);
    }
    recorder.stop();
    return recorder.result();
}

}  // namespace airlock::bench
