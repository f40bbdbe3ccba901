// SPDX-License-Identifier: Apache-2.0
#include "calls_baselines.hh"

// asio enables co_await on clang only with <experimental/coroutine>; clang 14
// with libstdc++ has the standard <coroutine>, which asio uses once told that
// the compiler supports co_await.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(ASIO_HAS_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#endif
#include <asio.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "airlock/platform/enclave.hh"
#include "airlock/platform/switchless.hh"
#include "support.hh"

namespace airlock::bench {

std::string_view to_string(call_direction d) noexcept {
    return d == call_direction::host_to_enclave ? "host-to-enclave" : "enclave-to-host";
}

// ---------------------------------------------------------------------------
// The call and its timing.

std::uint64_t digest_of(std::span<const std::byte> b) noexcept {
    return word_sum(b) + b.size();
}

// Each buffer on cache lines of its own and touched before timing
// (private_bytes zero-fills it).
call_buffers::call_buffers(std::size_t bytes)
    : bytes_(bytes), argument_(bytes), untrusted_(bytes), copy_(bytes) {
    for (std::size_t i = 0; i < bytes; ++i)
        argument_.data()[i] = static_cast<std::byte>((i * 131 + (i >> 8)) & 0xff);
    digest_ = digest_of(argument());
}

void call_buffers::send() noexcept {
    if (bytes_ != 0) std::memcpy(untrusted_.data(), argument_.data(), bytes_);
}

std::uint64_t call_buffers::serve(std::uint64_t id) noexcept {
    if (bytes_ != 0) std::memcpy(copy_.data(), untrusted_.data(), bytes_);
    return id ^ digest_of({copy_.data(), bytes_});
}

call_recorder::call_recorder(std::size_t messages) : ticks_(messages) {
    std::fill(ticks_.begin(), ticks_.end(), 0);  // touch every page before timing
}

calls_result call_recorder::result() {
    if (count_ != ticks_.size() || count_ == 0)
        fail("calls: recorded " + std::to_string(count_) + " of " + std::to_string(ticks_.size()) +
             " calls");
    const double seconds = std::chrono::duration<double>(stop_ - start_).count();
    const platform::tsc_clock& tsc = platform::tsc_clock::calibrated();
    auto percentile = [&](double q) {
        const auto k = static_cast<std::size_t>(q * static_cast<double>(count_ - 1));
        std::nth_element(ticks_.begin(), ticks_.begin() + static_cast<std::ptrdiff_t>(k),
                         ticks_.begin() + static_cast<std::ptrdiff_t>(count_));
        return tsc.cycles_to_ns(static_cast<double>(ticks_[k]));
    };
    calls_result r;
    r.calls_per_sec = static_cast<double>(count_) / seconds;
    r.ns_per_call = seconds * 1e9 / static_cast<double>(count_);
    r.p50_ns = percentile(0.50);
    r.p99_ns = percentile(0.99);
    return r;
}

std::size_t warmup_calls(const calls_config& c) noexcept {
    return std::clamp<std::size_t>(c.messages / 10, 10, 1000);
}

void fail_call(std::uint64_t id, std::uint64_t got, std::uint64_t want) {
    fail("calls: call " + std::to_string(id) + " returned " + std::to_string(got) + ", expected " +
         std::to_string(want));
}

// ---------------------------------------------------------------------------
// ecall: the modelled synchronous transition, all on the caller's thread:
// time_calls sends (the proxy's copy), the transition runs the bridge's copy.

calls_result measure_ecall(const calls_config& c) {
    call_buffers buffers(c.bytes);
    platform::modelled_transition transition;  // 8,200 cycles, calibrated clock
    calls_result result;
    run_threads(1, {c.caller_cpu}, [&](std::size_t) {
        result = time_calls(c, buffers, [&](std::uint64_t id) {
            return transition.call([&] { return buffers.serve(id); });
        });
    });
    return result;
}

// ---------------------------------------------------------------------------
// ecall_process: the measured transition into a process enclave. The
// enclave is created on this (main) thread, which outlives it; the round
// trips come from the pinned caller thread.

calls_result measure_ecall_process(const calls_config& c) {
    call_buffers buffers(c.bytes);
    platform::enclave_config config;
    config.platform = platform::platform_kind::process;
    config.ring_capacity = std::size_t{1} << 12;
    config.enclave_memory = std::size_t{16} << 20;
    if (c.callee_cpu >= 0) config.cpus = {c.callee_cpu};
    auto e = platform::enclave::create(config, [](platform::enclave_thread&) {});
    if (!e) fail(std::string("calls: no process enclave: ") + std::string(to_string(e.error())));
    calls_result result;
    run_threads(1, {c.caller_cpu}, [&](std::size_t) {
        result = time_calls(c, buffers, [&](std::uint64_t id) {
            const auto r = (*e)->transition_round_trip(id);
            if (!r || *r != id + 1) fail("calls: the process transition failed");
            return buffers.serve(id);
        });
    });
    return result;
}

// ---------------------------------------------------------------------------
// bare: the machine's floor for a call. The caller writes the argument into
// the untrusted buffer (time_calls), stores the call number in a word on its
// own cache line and spins on the callee's word; the callee spins on the
// caller's word, copies the argument out, reads it and stores the result.
// No queue, no framing, no validation: what one cross-core round trip with
// the marshalling copies costs, for ratios measured in the same run. At
// 1 MiB its calls/s times the size is what this machine moves between two
// cores when one writes the bytes and the other reads each once.

namespace {
struct alignas(128) call_word {
    std::atomic<std::uint64_t> value{0};
};
}  // namespace

calls_result measure_bare(const calls_config& c) {
    call_buffers buffers(c.bytes);
    constexpr std::uint64_t stop = ~std::uint64_t{0};
    auto request = std::make_unique<call_word>();  // call id + 1; `stop` ends the callee
    auto reply = std::make_unique<call_word>();    // result, valid once `done` matches
    auto done = std::make_unique<call_word>();     // call id + 1 of the last served call
    calls_result result;
    run_threads(2, {c.caller_cpu, c.callee_cpu}, [&](std::size_t role) {
        if (role == 1) {
            std::uint64_t seen = 0;
            for (;;) {
                std::uint64_t r;
                // acquire: the caller's argument is written before its request.
                while ((r = request->value.load(std::memory_order_acquire)) == seen)
                    ring::cpu_relax();
                if (r == stop) return;
                seen = r;
                reply->value.store(buffers.serve(r - 1), std::memory_order_relaxed);
                done->value.store(r, std::memory_order_release);  // the reply before `done`
            }
        }
        result = time_calls(c, buffers, [&](std::uint64_t id) {
            request->value.store(id + 1, std::memory_order_release);
            while (done->value.load(std::memory_order_acquire) != id + 1)
                ring::cpu_relax();
            return reply->value.load(std::memory_order_relaxed);
        });
        request->value.store(stop, std::memory_order_release);
    });
    return result;
}

// ---------------------------------------------------------------------------
// switchless: the caller writes the argument into the untrusted buffer
// (time_calls) and spins while one worker on the other CPU copies it out and
// runs the call; the SDK's defaults otherwise (64 slots, 20,000-pause budgets).

calls_result measure_switchless(const calls_config& c) {
    call_buffers buffers(c.bytes);
    platform::modelled_transition fallback;
    platform::switchless_options options;
    options.fallback = &fallback;
    options.on_worker_start = [cpu = c.callee_cpu](std::size_t) { pin_to_cpu(cpu); };
    platform::switchless_pool pool(1, 64, options);
    calls_result result;
    run_threads(1, {c.caller_cpu}, [&](std::size_t) {
        result = time_calls(c, buffers, [&](std::uint64_t id) {
            return pool.call([&] { return buffers.serve(id); });
        });
    });
    result.fallbacks = pool.stats().fallbacks();
    return result;
}

// ---------------------------------------------------------------------------
// asio: one long-lived coroutine, started on the caller's io_context, makes
// every call as Asio users switch threads: it writes the argument into the
// untrusted buffer, `co_await asio::post(bind_executor(callee, ...))` resumes
// it on the callee's thread, where it serves the call, and a second post
// bound to the caller's executor brings it back. Both threads poll their
// context in a loop instead of blocking in run(), so neither ever sleeps,
// like the spinning switchless caller and worker.

namespace {

asio::awaitable<void> call_loop(const calls_config& c, call_buffers& buffers,
                                asio::io_context::executor_type caller,
                                asio::io_context::executor_type callee, call_recorder& recorder) {
    const std::size_t warmup = warmup_calls(c);
    for (std::uint64_t id = 0; id < warmup + c.messages; ++id) {
        if (id == warmup) recorder.start();
        const std::uint64_t before = platform::read_tsc();
        buffers.send();
        co_await asio::post(asio::bind_executor(callee, asio::use_awaitable));
        // Checked on every call (a thread-local lookup): the hop really happened.
        if (!callee.running_in_this_thread()) [[unlikely]]
            fail("calls: asio: the call did not move to the callee's thread");
        const std::uint64_t r = buffers.serve(id);
        co_await asio::post(asio::bind_executor(caller, asio::use_awaitable));
        if (!caller.running_in_this_thread()) [[unlikely]]
            fail("calls: asio: the call did not return to the caller's thread");
        const std::uint64_t after = platform::read_tsc();
        if (r != buffers.expected(id)) [[unlikely]]
            fail_call(id, r, buffers.expected(id));
        if (id >= warmup) recorder.record(before, after);
    }
    recorder.stop();
}

}  // namespace

calls_result measure_asio(const calls_config& c) {
    call_buffers buffers(c.bytes);
    call_recorder recorder(c.messages);
    // Concurrency hint 1: each context is run by exactly one thread.
    asio::io_context caller_context(1);
    asio::io_context callee_context(1);
    auto caller_work = asio::make_work_guard(caller_context);
    auto callee_work = asio::make_work_guard(callee_context);
    std::atomic<bool> finished{false};
    std::exception_ptr error;

    run_threads(2, {c.caller_cpu, c.callee_cpu}, [&](std::size_t role) {
        if (role == 0) {
            asio::co_spawn(caller_context,
                           call_loop(c, buffers, caller_context.get_executor(),
                                     callee_context.get_executor(), recorder),
                           [&](std::exception_ptr e) {
                               error = e;
                               finished.store(true, std::memory_order_release);
                           });
            while (!finished.load(std::memory_order_acquire))
                caller_context.poll();
        } else {
            while (!finished.load(std::memory_order_acquire))
                callee_context.poll();
        }
    });
    caller_work.reset();
    callee_work.reset();
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            fail(std::string("calls: asio: ") + e.what());
        }
    }
    return recorder.result();
}

// ---------------------------------------------------------------------------

std::span<const calls_mode> calls_modes() noexcept {
    static constexpr std::array<calls_mode, 9> modes{{
        {"bare", measure_bare},
        {"ecall", measure_ecall},
        {"ecall_process", measure_ecall_process},
        {"switchless", measure_switchless},
        {"airlock", measure_airlock},
        {"airlock_sync", measure_airlock_sync},
        {"airlock_stream", measure_airlock_stream, false},
        {"airlock_stream_sync", measure_airlock_stream_sync, false},
        {"asio", measure_asio},
    }};
    return modes;
}

}  // namespace airlock::bench
