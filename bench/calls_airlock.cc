// SPDX-License-Identifier: Apache-2.0
// The Airlock modes of the calls benchmark: typed rpc calls over the rings
// between an enclave thread (sim or process platform, --platform) and a host
// thread, each running an executor.
//
//   airlock       `in_flight` coroutines (--in-flight, default 128) on the
//                 caller's thread share the calls, so many are in flight at
//                 once and the thread never waits for one reply before
//                 sending the next call.
//   airlock_sync  one coroutine, one call in flight: the pure round trip.
//   airlock_stream, airlock_stream_sync  the same without buffer pools: an
//                 argument above a ring record streams through the ring.
//
// The caller is the enclave for enclave-to-host (it runs the loop inside an
// ecall `drive` and returns the per-call ticks) and the host otherwise. The
// callee copies the argument out of the ring into private memory (the
// ring's receive buffer), reads it there (a borrowed_bytes argument: no
// second copy into a vector) and returns `id ^ digest`, as in every other
// mode.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "airlock/platform/enclave.hh"
#include "calls_baselines.hh"
#include "support.hh"

namespace airlock::bench {
namespace {

using work_signature = std::uint64_t(rpc::borrowed_bytes, std::uint64_t);
constexpr rpc::host_method<1, work_signature> host_work{"host_work"};
constexpr rpc::enclave_method<1, work_signature> enclave_work{"enclave_work"};
// Runs the caller's loop in the enclave: (bytes, warmup, messages,
// concurrency) -> per-call ticks, then the elapsed ticks of the timed calls.
constexpr rpc::enclave_method<2, std::vector<std::uint64_t>(std::uint64_t, std::uint64_t,
                                                            std::uint64_t, std::uint64_t)>
    enclave_drive{"enclave_drive"};

std::uint64_t serve_work(std::span<const std::byte> argument, std::uint64_t id) {
    return id ^ digest_of(argument);
}

// Shared by the coroutines of one run (they all live on one thread).
struct run_state {
    std::span<const std::byte> argument;
    std::uint64_t digest = 0;
    std::uint64_t next = 0;  // next call id to take
    std::uint64_t end = 0;   // one past the last call id of this phase
    bool timed = false;      // record each call's ticks at ticks[id - first_timed]
    std::uint64_t first_timed = 0;
    std::vector<std::uint64_t> ticks;
};

// One caller coroutine: takes call ids until none are left in the phase.
template <class Endpoint, class Method>
async::task<void> caller(Endpoint& ep, const Method& method, run_state& s) {
    while (s.next < s.end) {
        const std::uint64_t id = s.next++;
        const std::uint64_t before = platform::read_tsc();
        auto r = co_await ep.call(method, s.argument, id);
        const std::uint64_t after = platform::read_tsc();
        if (!r)
            fail(std::string("calls: airlock call failed: ") + std::string(to_string(r.error())));
        if (*r != (id ^ s.digest)) fail_call(id, *r, id ^ s.digest);
        if (s.timed) s.ticks[id - s.first_timed] = after - before;
    }
}

// `concurrency` coroutines share the calls [s.next, s.end).
template <class Endpoint, class Method>
async::task<void> run_phase(Endpoint& ep, const Method& method, run_state& s,
                            std::uint64_t concurrency) {
    std::vector<async::task<void>> callers;
    for (std::uint64_t k = 0; k < concurrency; ++k)
        callers.push_back(caller(ep, method, s));
    co_await async::when_all(std::move(callers));
}

// The caller's loop: `concurrency` coroutines share `warmup` calls, all of
// which complete before the clock starts (with warmup >= concurrency, every
// coroutine has had a call in flight at once, so both sides' buffer pools
// hold what the timed calls need); then they share `messages` timed calls,
// and the clock stops when the last of them completes: the timed window holds
// only calls issued inside it. Returns the ticks of the timed calls followed
// by the window's ticks.
template <class Endpoint, class Method>
async::task<std::vector<std::uint64_t>> drive(Endpoint& ep, const Method& method,
                                              std::span<const std::byte> argument,
                                              std::uint64_t warmup, std::uint64_t messages,
                                              std::uint64_t concurrency) {
    run_state s;
    s.argument = argument;
    s.digest = digest_of(argument);
    s.ticks.assign(messages, 0);
    s.end = warmup;
    co_await run_phase(ep, method, s, concurrency);
    s.next = s.first_timed = warmup;
    s.end = warmup + messages;
    s.timed = true;
    const std::uint64_t start = platform::read_tsc();
    co_await run_phase(ep, method, s, concurrency);
    s.ticks.push_back(platform::read_tsc() - start);
    co_return std::move(s.ticks);
}

// The drive ecall lasts the whole measurement, which may outlast the
// endpoint's default call deadline (30 s): it carries its own.
constexpr std::uint64_t drive_timeout_ns = std::uint64_t{3600} * 1'000'000'000;

// The enclave's program: serves the work ecall and the drive ecall.
void bench_enclave(platform::enclave_thread& t) {
    t.host.serve(enclave_work, serve_work);
    t.host.serve(enclave_drive,
                 [&t](std::uint64_t bytes, std::uint64_t warmup, std::uint64_t messages,
                      std::uint64_t concurrency) -> async::task<std::vector<std::uint64_t>> {
                     // The argument is the enclave's own data, made inside the enclave.
                     const call_buffers buffers(bytes);
                     co_return co_await drive(t.host, host_work, buffers.argument(), warmup,
                                              messages, concurrency);
                 });
}

calls_result from_ticks(std::vector<std::uint64_t> ticks) {
    if (ticks.size() < 2) fail("calls: the airlock run returned no ticks");
    const std::uint64_t elapsed = ticks.back();
    ticks.pop_back();
    const platform::tsc_clock& tsc = platform::tsc_clock::calibrated();
    auto percentile = [&](double q) {
        const auto k = static_cast<std::size_t>(q * static_cast<double>(ticks.size() - 1));
        std::nth_element(ticks.begin(), ticks.begin() + static_cast<std::ptrdiff_t>(k),
                         ticks.end());
        return tsc.cycles_to_ns(static_cast<double>(ticks[k]));
    };
    const double ns = tsc.cycles_to_ns(static_cast<double>(elapsed));
    calls_result r;
    r.calls_per_sec = static_cast<double>(ticks.size()) * 1e9 / ns;
    r.ns_per_call = ns / static_cast<double>(ticks.size());
    r.p50_ns = percentile(0.50);
    r.p99_ns = percentile(0.99);
    return r;
}

calls_result measure(const calls_config& c, std::uint64_t concurrency, bool pools) {
    const bool enclave_calls = c.direction == call_direction::enclave_to_host;
    platform::enclave_config config;
    config.platform = c.platform;
    config.enclave_threads = 1;
    config.ring_capacity = std::size_t{1} << 18;
    config.pool_bytes = pools ? c.pool_bytes : 0;
    config.rpc.pool_threshold = c.pool_threshold;
    config.rpc.host_pool_max = c.host_pool_max;
    config.rpc.max_message = std::max<std::size_t>(c.bytes + 4096, c.messages * 8 + 4096);
    config.rpc.max_in_flight = std::max<std::size_t>(config.rpc.max_in_flight, concurrency);
    config.rpc.max_serving = std::max<std::size_t>(config.rpc.max_serving, concurrency);
    config.cpus = {enclave_calls ? c.caller_cpu : c.callee_cpu};
    auto created = platform::enclave::create(config, bench_enclave);
    if (!created)
        fail(std::string("calls: no enclave: ") + std::string(to_string(created.error())));
    platform::enclave& e = **created;

    // Enough warm-up calls that all `concurrency` are in flight at once.
    const std::uint64_t warmup = std::max<std::uint64_t>(warmup_calls(c), concurrency);
    const call_buffers buffers(c.bytes);
    std::vector<std::uint64_t> ticks;
    std::uint64_t capped = 0;
    const int host_cpu = enclave_calls ? c.callee_cpu : c.caller_cpu;
    run_threads(1, {host_cpu}, [&](std::size_t) {
        auto channel = e.open_channel(0);
        rpc::endpoint<rpc::side::host>& ep = channel->endpoint();
        ep.serve(host_work, serve_work);
        expected<std::vector<std::uint64_t>> r =
            enclave_calls
                ? async::sync_wait(channel->executor(),
                                   ep.call(enclave_drive, c.bytes, warmup, c.messages, concurrency)
                                       .with_timeout(drive_timeout_ns))
                : expected<std::vector<std::uint64_t>>(async::sync_wait(
                      channel->executor(), drive(ep, enclave_work, buffers.argument(), warmup,
                                                 c.messages, concurrency)));
        if (!r) fail(std::string("calls: drive failed: ") + std::string(to_string(r.error())));
        ticks = std::move(*r);
        capped = ep.stats().pool_capped;
    });
    calls_result result = from_ticks(std::move(ticks));
    result.fallbacks = capped;
    return result;
}

}  // namespace

calls_result measure_airlock(const calls_config& c) {
    return measure(c, c.in_flight, true);
}
calls_result measure_airlock_sync(const calls_config& c) {
    return measure(c, 1, true);
}
calls_result measure_airlock_stream(const calls_config& c) {
    return measure(c, c.in_flight, false);
}
calls_result measure_airlock_stream_sync(const calls_config& c) {
    return measure(c, 1, false);
}

}  // namespace airlock::bench
