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
// Service links: `enclave_config::service_links` extra ring pairs per
// enclave thread, apart from the rpc channel, for a host service with a
// wire protocol of its own (the `sys` layer's io_uring service). The
// enclave thread sees its links in `enclave_thread::links` (validated with
// its trusted geometry); the host takes its end with `enclave::link`.
//
// `enclave::create<Context>(config, settings, program)` does the same with
// an enclave-wide context: a Context built inside the enclave from a copy of
// the trivially copyable `settings`, handed to every thread's program.
//
// Platforms: `sim` (the default, for development and CI) runs the enclave on
// threads of the host process; `process` (platform_kind::process) runs it as
// a separate process, forked by `create`, that shares only the region and is
// sealed by a seccomp allow-list and a fixed heap before the program runs
// (docs/platform.md). Both take the same config and program. Each platform
// also offers the classic synchronous transition: `transition()` is the
// modelled one (platform/transition.hh); on `process`,
// `transition_round_trip` is a real cross-process handoff, to be measured.
//
// Thread contract: create and the destructor on one host thread; a
// host_channel belongs to the thread that opened it (its executor's owner).
// Close every host_channel before destroying the enclave. On `process`, the
// thread that calls create must outlive the enclave (the enclave process is
// killed when that thread ends: PR_SET_PDEATHSIG), and create must be called
// before the host starts threads that hold locks the enclave code needs
// (fork copies only the calling thread).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
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

// Whether a sanitizer runtime (ASan, TSan, MSan, HWASan, UBSan) is linked
// into this program, found when it runs (weak symbols), not when Airlock was
// compiled. On `process` the enclave then allows the system calls the
// runtime makes and does not enforce the fixed heap (docs/platform.md).
[[nodiscard]] bool sanitizer_runtime_present() noexcept;

struct enclave_config {
    platform_kind platform = platform_kind::sim;
    // Enclave threads; each has an executor and one channel to the host.
    std::size_t enclave_threads = 1;
    // Bytes of each ring (two per channel); a power of two.
    std::size_t ring_capacity = std::size_t{1} << 18;
    rpc::endpoint_options rpc{};
    // Bytes of each buffer pool, two per channel (one each way,
    // ring/buffer_pool.hh): calls and replies of at least
    // rpc.pool_threshold bytes cross there, written once, instead of
    // streaming through the rings. A multiple of 4096; 0: no pools (every
    // message goes through the rings, as before pools).
    std::size_t pool_bytes = std::size_t{4} << 20;
    // Idle strategy of the enclave executors.
    async::executor_options executor{};
    // CPUs for the enclave threads: thread i runs on cpus[i % size]; empty
    // leaves placement to the OS.
    std::vector<int> cpus{};
    // Cost of the modelled synchronous transition (platform/transition.hh).
    std::uint64_t transition_cycles = modelled_transition::default_cycles_per_call;
    // `process` only: the enclave's heap (the EPC budget), reserved before
    // the program runs; allocations past it fail inside the enclave.
    std::size_t enclave_memory = std::size_t{64} << 20;
    // `process` only: how long the destructor waits for the enclave to stop
    // on request before it kills the process.
    std::uint64_t stop_grace_ns = 2'000'000'000;
    // Service links per enclave thread (ring pairs for a host service such
    // as sys); 0: none. Their rings have `service_ring_capacity` bytes.
    std::size_t service_links = 0;
    std::size_t service_ring_capacity = std::size_t{1} << 18;
    // Untrusted memory shared with the enclave beside the region, for the
    // enclave's own use (a suvm backing store): laid out after the region in
    // the same shared mapping, rounded up to 4096 bytes, zeroed. The enclave
    // gets it in enclave_thread::untrusted_memory, the host through
    // enclave::untrusted_memory(). At most max_untrusted_memory.
    std::size_t untrusted_memory = 0;
    // The liveness check (a host thread, checking every quarter of the
    // bound, at least once a second and at most once a millisecond; no
    // heartbeat: it watches the enclave's ring indices). When calls
    // wait unread in a channel and the enclave makes no progress on it
    // (reads none, writes nothing) for this long, every open channel fails
    // (its ring_fault() is peer_stalled) and failure() is peer_stalled. 0
    // turns it off. A call the enclave read and never answers is bounded by
    // rpc.default_call_timeout_ns instead.
    std::uint64_t stall_timeout_ns = 5'000'000'000;
};

// Words of the region beside each service link (each on a doorbell line),
// for the service's own use (sys keeps its clock there).
inline constexpr std::size_t service_link_words = 4;

// `service_link` is one side's view of a service link: a ring each way, the
// doorbell the service parks on, the doorbell of the enclave thread's
// executor (completions wake it), and `service_link_words` shared words.
// All in the untrusted region: hostile to the enclave.
struct service_link {
    ring::ring_view to_service;    // enclave -> host
    ring::ring_view from_service;  // host -> enclave
    ring::wire::doorbell* service_bell = nullptr;
    ring::wire::doorbell* enclave_bell = nullptr;
    ring::wire::doorbell* words = nullptr;  // [service_link_words]
};

inline constexpr std::size_t max_untrusted_memory = std::size_t{1} << 40;

// What an enclave thread's program is given.
struct enclave_thread {
    std::size_t index = 0;
    async::executor& executor;
    // Calls host_methods (ocalls), serves enclave_methods (ecalls).
    rpc::endpoint<rpc::side::enclave>& host;
    // Where the shared region is mapped on the enclave's side (on `process`
    // not where the host maps it: only offsets may cross).
    const void* region_base = nullptr;
    // This thread's service links (enclave_config::service_links of them).
    std::span<const service_link> links{};
    // Objects the program wants kept until its thread stops: destroyed after
    // the executor stops running and before it is destroyed (a sys::client).
    std::vector<std::shared_ptr<void>>* keep_alive = nullptr;
    // enclave_config::untrusted_memory bytes of untrusted memory, mapped
    // where the enclave chose (empty when none was asked for). Hostile like
    // the region: check it before use (suvm::space::create does).
    std::span<std::byte> untrusted_memory{};
    // True when this thread may make no system call (`process`: sealed by
    // seccomp), so a service that needs one asks the host (sys::client's
    // transition transport).
    bool sealed = false;
};

// The enclave's code: runs on each enclave thread, registers handlers and
// may spawn tasks. A plain function: on the process platform it is code of
// the enclave program, not a closure over host memory.
using enclave_program = void (*)(enclave_thread& thread);

// An enclave program with an enclave-wide context: `Context` is built once,
// inside the enclave, from the settings the host passed to create, before
// any thread's program runs; every enclave thread's program gets the same
// Context&, for the state its handlers share. Context must be safe for the
// enclave's threads to use at once (one thread needs no locking).
template <class Context>
using enclave_program_with = void (*)(enclave_thread& thread, Context& context);

namespace detail {

// How a platform runs an enclave program, plain or with a context, without
// knowing its types. Built by enclave::create.
struct program_entry {
    using erased = void (*)();
    erased program = nullptr;
    // Runs `program` on one enclave thread; `context` is null for a plain one.
    void (*run)(erased program, enclave_thread& thread, void* context) = nullptr;
    // Builds the context from `settings` inside the enclave (null: none);
    // on failure returns null with `error` set.
    void* (*build)(std::span<const std::byte> settings, errc& error) noexcept = nullptr;
    // Destroys it after every enclave thread stopped (sim; the process
    // platform's enclave ends with its process).
    void (*destroy)(void* context) noexcept = nullptr;
    // The settings as bytes: they cross to the enclave as a copy.
    std::vector<std::byte> settings{};
};

}  // namespace detail

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
    // Creates the enclave with an enclave-wide context: inside the enclave,
    // before any thread's program, builds `Context(settings)` from a copy of
    // `settings` (a trivially copyable value: only its bytes cross, so it
    // holds no pointers into host memory), then runs `program(thread,
    // context)` on each enclave thread. Returns enclave_context_failed when
    // Context's constructor throws (enclave_memory_exhausted for
    // std::bad_alloc on `sim`), besides the errors of the plain create.
    template <class Context, class Settings>
    requires std::is_trivially_copyable_v<Settings> &&
        std::is_constructible_v<Context, const Settings&>
    [[nodiscard]] static expected<std::unique_ptr<enclave>> create(
        const enclave_config& config, const Settings& settings,
        enclave_program_with<Context> program);
    // What both creates call: runs `entry` on the platform `config` names.
    [[nodiscard]] static expected<std::unique_ptr<enclave>> create(const enclave_config& config,
                                                                   detail::program_entry entry);
    // Stops the enclave threads (after their current round) and joins them.
    virtual ~enclave() = default;

    [[nodiscard]] virtual platform_kind kind() const noexcept = 0;
    [[nodiscard]] virtual std::size_t channels() const noexcept = 0;
    // On the calling host thread: that thread's executor and endpoint for
    // channel `i` (< channels()); at most one open host_channel per channel.
    // A channel closed (its host_channel destroyed: its waiting calls end
    // with broken_promise) may be opened again, on any host thread: the new
    // one goes on where the last stopped (rpc::endpoint_handover): it reads
    // what the enclave sent meanwhile, drops replies to the last one's calls
    // as stale, and serves its own handlers. Opening a channel that is open
    // aborts.
    [[nodiscard]] virtual std::unique_ptr<host_channel> open_channel(
        std::size_t i, async::executor_options options = {}) = 0;
    // The platform's wait hooks (park, unpark, clock) for host-side waits.
    [[nodiscard]] virtual ring::wait_hooks& hooks() noexcept = 0;
    // The classic synchronous ecall/ocall of this platform, modelled.
    [[nodiscard]] virtual const modelled_transition& transition() const noexcept = 0;

    // --- the process platform (defaults serve `sim`) --------------------------

    // The measured synchronous transition: hands `value` to a dedicated
    // enclave thread through two futex words of the region and blocks until
    // it answers `value + 1`. One host thread at a time. platform_unavailable
    // on `sim` (whose transition is only modelled); enclave_died once the
    // enclave process is gone.
    [[nodiscard]] virtual expected<std::uint64_t> transition_round_trip(std::uint64_t value) {
        (void)value;
        return unexpected(errc::platform_unavailable);
    }
    // ok while the enclave runs; enclave_died once it has stopped on its own
    // (crashed, killed, stopped by the sandbox, or std::terminate);
    // enclave_memory_exhausted when what ended it was an uncaught
    // std::bad_alloc (its budget ran out; `process`); peer_stalled once the
    // liveness check found it stalled (enclave_config::stall_timeout_ns)
    // and until it dies. Any host thread.
    [[nodiscard]] virtual errc failure() const noexcept { return errc::ok; }
    // Why the enclave stopped ("killed by signal 9", or the sandbox's report
    // naming the system call and the code that made it); empty while it runs.
    // Any host thread.
    [[nodiscard]] virtual std::string diagnostic() const { return {}; }
    // The enclave's process id on `process`, -1 on `sim`.
    [[nodiscard]] virtual int process_id() const noexcept { return -1; }
    // Where the host maps the shared region.
    [[nodiscard]] virtual const void* region_base() const noexcept = 0;
    // Its layout: channel_geometry(channels(), ring_capacity) plus whatever
    // words the platform keeps there for itself.
    [[nodiscard]] virtual const ring::region_geometry& geometry() const noexcept = 0;
    // The host's view of service link `link` of enclave thread `thread`;
    // precondition: thread < channels(), link < config.service_links.
    [[nodiscard]] virtual service_link link(std::size_t thread, std::size_t link) const = 0;
    // The host's mapping of enclave_config::untrusted_memory (empty when
    // none was asked for).
    [[nodiscard]] virtual std::span<std::byte> untrusted_memory() const noexcept { return {}; }
};

template <class Context, class Settings>
requires std::is_trivially_copyable_v<Settings> && std::is_constructible_v<Context, const Settings&>
    expected<std::unique_ptr<enclave>> enclave::create(const enclave_config& config,
                                                       const Settings& settings,
                                                       enclave_program_with<Context> program) {
    if (program == nullptr) return unexpected(errc::invalid_argument);
    detail::program_entry entry;
    entry.program = reinterpret_cast<detail::program_entry::erased>(program);
    entry.run = [](detail::program_entry::erased p, enclave_thread& thread, void* context) {
        reinterpret_cast<enclave_program_with<Context>>(p)(thread, *static_cast<Context*>(context));
    };
    entry.build = [](std::span<const std::byte> bytes, errc& error) noexcept -> void* {
        if (bytes.size() != sizeof(Settings)) {
            error = errc::invalid_argument;
            return nullptr;
        }
        try {
            Settings s;
            std::memcpy(static_cast<void*>(&s), bytes.data(), sizeof s);
            return new Context(static_cast<const Settings&>(s));
        } catch (const std::bad_alloc&) {
            error = errc::enclave_memory_exhausted;
        } catch (...) {
            error = errc::enclave_context_failed;
        }
        return nullptr;
    };
    entry.destroy = [](void* context) noexcept { delete static_cast<Context*>(context); };
    const auto* b = reinterpret_cast<const std::byte*>(&settings);
    entry.settings.assign(b, b + sizeof(Settings));
    return create(config, std::move(entry));
}

// The region layout every platform uses: channel i has rings 2i
// (enclave→host) and 2i+1 (host→enclave), doorbells 2i (the enclave
// executor's) and 2i+1 (the host executor's); ring 2 * channels + i is
// enclave thread i's log ring (platform/log.hh).
// Service links follow: link l of thread i has rings 3c + 2(iL + l) and
// 3c + 2(iL + l) + 1 (c channels, L links per thread) and, after the 2c
// channel doorbells, 1 + service_link_words doorbells from
// 2c + (iL + l)(1 + service_link_words): the service's bell, then the words.
// With `pool_bytes`, channel i also has pools 2i (the enclave sends
// through it) and 2i + 1 (the host does), numbered like its rings.
[[nodiscard]] ring::region_geometry channel_geometry(std::size_t channels,
                                                     std::size_t ring_capacity,
                                                     std::size_t links_per_channel = 0,
                                                     std::size_t link_capacity = 0,
                                                     std::size_t pool_bytes = 0);
// Pool `index` (enclave_to_host_ring(i) or host_to_enclave_ring(i)) of an
// attached region, or no pool (size 0) when the region has none.
[[nodiscard]] inline ring::pool_view channel_pool(const ring::region& region, std::size_t index) {
    return index < region.pool_count() ? region.pool(index) : ring::pool_view{};
}
// A side's view of link `l` of channel `i` in an attached region.
[[nodiscard]] service_link link_view(const ring::region& region, std::size_t channels,
                                     std::size_t links_per_channel, std::size_t i, std::size_t l);
[[nodiscard]] inline std::size_t enclave_to_host_ring(std::size_t channel) {
    return 2 * channel;
}
[[nodiscard]] inline std::size_t host_to_enclave_ring(std::size_t channel) {
    return 2 * channel + 1;
}
[[nodiscard]] inline std::size_t log_ring(std::size_t channels, std::size_t channel) {
    return 2 * channels + channel;
}
[[nodiscard]] inline std::size_t enclave_bell(std::size_t channel) {
    return 2 * channel;
}
[[nodiscard]] inline std::size_t host_bell(std::size_t channel) {
    return 2 * channel + 1;
}
// How channel `i`'s endpoint on each side wakes its peer and which pools it
// sends and receives large messages through (the same on every platform).
[[nodiscard]] inline rpc::endpoint_wiring host_wiring(const ring::region& region, std::size_t i,
                                                      ring::wait_hooks& hooks) {
    return {.hooks = &hooks,
            .peer_bell = &region.doorbell(enclave_bell(i)),
            .out_pool = channel_pool(region, host_to_enclave_ring(i)),
            .in_pool = channel_pool(region, enclave_to_host_ring(i))};
}
[[nodiscard]] inline rpc::endpoint_wiring enclave_wiring(const ring::region& region, std::size_t i,
                                                         ring::wait_hooks& hooks) {
    return {.hooks = &hooks,
            .peer_bell = &region.doorbell(host_bell(i)),
            .out_pool = channel_pool(region, enclave_to_host_ring(i)),
            .in_pool = channel_pool(region, host_to_enclave_ring(i))};
}

}  // namespace airlock::platform
