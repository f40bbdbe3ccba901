// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/platform/transition.hh: the synchronous transition, MODELLED.
//
// Defines `tsc_clock` (the time-stamp counter and its rate, calibrated once
// against CLOCK_MONOTONIC, with cycles <-> ns conversion) and
// `modelled_transition`, the classic ecall/ocall that benchmarks compare
// Airlock against (DESIGN.md, performance rules). There is no SGX hardware
// here, so the cost of EENTER/EEXIT and the SDK bridge is not measured but
// modelled: each call burns a configured number of TSC cycles, half before the
// function runs ("entry") and half after ("exit"), on the calling thread. The
// default, 8,200 cycles, is the low end of the 8,200-17,000 cycles HotCalls
// (Weisse et al., ISCA 2017) measured for an SGX SDK ecall, in rdtsc cycles.
//
// Thread contract: `tsc_clock` is immutable after construction; any thread.
// `modelled_transition::call` may run on many threads at once; the call
// counter is the only shared state.
// Memory ordering: the call counter is a relaxed atomic (a statistic, it
// orders nothing).

#include <atomic>
#include <cstdint>
#include <functional>
#include <type_traits>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

namespace airlock::platform {

namespace detail {
// CLOCK_MONOTONIC in nanoseconds (out of line: a vDSO call, not a syscall).
[[nodiscard]] std::uint64_t monotonic_ns() noexcept;
}  // namespace detail

// Reads the time-stamp counter: rdtsc on x86, the virtual counter on
// AArch64, CLOCK_MONOTONIC nanoseconds elsewhere. Not serialising: it may be
// reordered with nearby loads, which is fine for busy-waiting and for
// timing many calls, not for timing a few instructions.
[[nodiscard]] inline std::uint64_t read_tsc() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    return __rdtsc();
#elif defined(__aarch64__)
    std::uint64_t v;
    asm volatile("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return detail::monotonic_ns();
#endif
}

// `tsc_clock` converts between TSC cycles and nanoseconds at a fixed rate.
// `calibrated()` measures the rate once per process; tests construct one with
// a known rate so the arithmetic is checked without timing anything.
class tsc_clock {
  public:
    // A clock ticking `cycles_per_ns` times per nanosecond (3.0 for 3 GHz).
    // Precondition: cycles_per_ns > 0.
    explicit constexpr tsc_clock(double cycles_per_ns) noexcept : cycles_per_ns_(cycles_per_ns) {}

    // The process-wide clock, calibrated against CLOCK_MONOTONIC on first use
    // (blocks the first caller for about 30 ms; thread-safe). Host side.
    [[nodiscard]] static const tsc_clock& calibrated() noexcept;

    [[nodiscard]] constexpr double cycles_per_ns() const noexcept { return cycles_per_ns_; }
    [[nodiscard]] constexpr double cycles_to_ns(double cycles) const noexcept {
        return cycles / cycles_per_ns_;
    }
    // Rounded to the nearest cycle.
    [[nodiscard]] constexpr std::uint64_t ns_to_cycles(double ns) const noexcept {
        return static_cast<std::uint64_t>(ns * cycles_per_ns_ + 0.5);
    }

  private:
    double cycles_per_ns_;
};

// Busy-waits on the calling thread until at least `cycles` TSC cycles have
// passed since `read_tsc()` returned `start`. Never blocks or yields.
inline void spin_until_cycles(std::uint64_t start, std::uint64_t cycles) noexcept {
    while (read_tsc() - start < cycles) {
    }
}
inline void spin_for_cycles(std::uint64_t cycles) noexcept {
    spin_until_cycles(read_tsc(), cycles);
}

// `modelled_transition` calls a function "across the boundary" the way an SDK
// ecall or ocall does: synchronously, on the caller's thread, paying the
// transition cost on the way in and on the way out. The cost is MODELLED (a
// busy wait of `cycles_per_call()` TSC cycles), not measured; nothing is
// isolated. The same class serves both directions (ecall and ocall cost
// about the same, per HotCalls).
class modelled_transition {
  public:
    // HotCalls, ISCA 2017: an SGX SDK ecall costs 8,200-17,000 cycles.
    static constexpr std::uint64_t default_cycles_per_call = 8'200;

    // A transition costing `cycles_per_call` cycles, split into an entry half
    // (cycles_per_call / 2) and an exit half (the rest). The first form uses
    // `tsc_clock::calibrated()` (may block ~30 ms on first use). `clock` must
    // outlive the transition.
    explicit modelled_transition(std::uint64_t cycles_per_call = default_cycles_per_call)
        : modelled_transition(cycles_per_call, tsc_clock::calibrated()) {}
    modelled_transition(std::uint64_t cycles_per_call, const tsc_clock& clock) noexcept
        : clock_(&clock),
          entry_cycles_(cycles_per_call / 2),
          exit_cycles_(cycles_per_call - cycles_per_call / 2) {}

    modelled_transition(const modelled_transition&) = delete;
    modelled_transition& operator=(const modelled_transition&) = delete;

    // Runs `f()` on this thread between the entry and the exit cost and
    // returns what it returns (a value, a reference or void). Blocks (busy)
    // for the modelled cost; never yields or makes a system call. If `f`
    // throws, the exit cost is still paid and the exception propagates.
    template <class F>
    decltype(auto) call(F&& f) {
        calls_.fetch_add(1, std::memory_order_relaxed);  // statistic only
        spin_for_cycles(entry_cycles_);
        const exit_cost on_exit{exit_cycles_};
        return std::invoke(std::forward<F>(f));
    }

    // The modelled cost of one call, in TSC cycles and in nanoseconds.
    [[nodiscard]] std::uint64_t cycles_per_call() const noexcept {
        return entry_cycles_ + exit_cycles_;
    }
    [[nodiscard]] std::uint64_t entry_cycles() const noexcept { return entry_cycles_; }
    [[nodiscard]] std::uint64_t exit_cycles() const noexcept { return exit_cycles_; }
    [[nodiscard]] double ns_per_call() const noexcept {
        return clock_->cycles_to_ns(static_cast<double>(cycles_per_call()));
    }
    [[nodiscard]] const tsc_clock& clock() const noexcept { return *clock_; }

    // Calls made so far (including ones still running or that threw).
    [[nodiscard]] std::uint64_t calls() const noexcept {
        return calls_.load(std::memory_order_relaxed);
    }

  private:
    // Pays the exit half when the call returns or throws.
    struct exit_cost {
        std::uint64_t cycles;
        ~exit_cost() { spin_for_cycles(cycles); }
    };

    const tsc_clock* clock_;
    std::uint64_t entry_cycles_;
    std::uint64_t exit_cycles_;
    std::atomic<std::uint64_t> calls_{0};
};

}  // namespace airlock::platform
