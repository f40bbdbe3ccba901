// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/ring/wait.hh: spin, then yield, then park, without a lost wake-up.
//
// Defines `wait_hooks` (what the platform supplies: yield, park on a shared
// word, unpark, a clock), `wait_policy` (how long each phase lasts) and
// `wait_until`, the one waiting loop every blocking call in Airlock uses, and
// `ring_doorbell`, the waker's half of the handshake.
//
// Why spin so long: on the 2-vCPU VMs Airlock is developed on, waking a
// parked thread costs about 50 us (400 us at p99) because an idle vCPU halts
// at once, while a message crosses cores in about 0.1 us. The default spin
// phase therefore lasts tens of microseconds before the thread yields and
// finally parks.
//
// The handshake: a waiter stores 1 into a doorbell word, issues a seq_cst
// fence, re-checks its condition and only then parks (the park itself
// re-checks that the word is still 1). A waker first publishes its change,
// issues a seq_cst fence, then reads the doorbell; if it is non-zero it swaps
// it to 0 and unparks. By the fences, either the waiter sees the change or the
// waker sees the doorbell: no lost wake-up. Doorbells are hints: a spurious
// wake-up (or a host scribbling on the word) only causes a fresh re-check
// (HOSTILE-INPUTS #17).
//
// Thread contract: `wait_until` runs on the waiting thread; `ring_doorbell`
// on the waking thread; the hooks must be callable from both.
// Memory ordering: seq_cst fences on both sides as described above; the
// doorbell word itself is accessed relaxed / acq_rel.

#include <cstdint>
#include <limits>

#include "airlock/base/expected.hh"
#include "airlock/ring/layout.hh"
#include "airlock/ring/shared_memory.hh"

namespace airlock::ring {

// `wait_hooks` is the platform's contribution to waiting. On the host side it
// is a futex on the doorbell word (platform/futex_wait.hh); in an enclave each
// call would be a transition, which is why they are only taken on the slow
// path.
class wait_hooks {
  public:
    virtual ~wait_hooks() = default;
    // Gives the CPU to another thread for a moment.
    virtual void yield() noexcept = 0;
    // Blocks while `word` still holds `expected`, for at most `timeout_ns`
    // (UINT64_MAX: no limit). May return early, spuriously.
    virtual void park(shared_u64& word, std::uint64_t expected,
                      std::uint64_t timeout_ns) noexcept = 0;
    // Wakes every thread parked on `word`.
    virtual void unpark(shared_u64& word) noexcept = 0;
    // A monotonic clock in nanoseconds, for deadlines.
    [[nodiscard]] virtual std::uint64_t now_ns() noexcept = 0;
};

// How long each phase of a wait lasts. The defaults suit the development VMs
// (see above); `spin_iterations` counts `pause` instructions plus one
// re-check each, roughly 20-50 ns per iteration.
struct wait_policy {
    std::uint32_t spin_iterations = 1024;
    std::uint32_t yield_iterations = 8;
    // Total time allowed before the wait gives up with `errc::timed_out`;
    // UINT64_MAX waits for ever. Only enforced when `hooks` is set.
    std::uint64_t timeout_ns = std::numeric_limits<std::uint64_t>::max();
    // Without hooks there is no yielding, parking or clock: the wait spins
    // `spin_iterations` times and then reports `errc::timed_out`.
    wait_hooks* hooks = nullptr;
};

// One CPU pause inside a spin loop.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield" ::: "memory");
#endif
}

namespace detail {
[[nodiscard]] inline bool spin_phase(auto& ready, std::uint32_t iterations) {
    for (std::uint32_t i = 0; i < iterations; ++i) {
        if (ready()) return true;
        cpu_relax();
    }
    return ready();
}
}  // namespace detail

// Waits until `ready()` returns true, spinning, then yielding, then parking on
// `bell`. `ready` must take a fresh snapshot of shared state on every call.
// Returns `errc::timed_out` when the policy's time runs out (or, without
// hooks, when the spin phase ends).
template <class Ready>
[[nodiscard]] expected<void> wait_until(Ready&& ready, wire::doorbell& bell,
                                        const wait_policy& policy) {
    if (detail::spin_phase(ready, policy.spin_iterations)) return {};
    wait_hooks* hooks = policy.hooks;
    if (hooks == nullptr) return unexpected(errc::timed_out);

    const std::uint64_t start = hooks->now_ns();
    const std::uint64_t deadline =
        policy.timeout_ns > std::numeric_limits<std::uint64_t>::max() - start
            ? std::numeric_limits<std::uint64_t>::max()
            : start + policy.timeout_ns;
    for (std::uint32_t i = 0; i < policy.yield_iterations; ++i) {
        if (ready()) return {};
        hooks->yield();
    }
    for (;;) {
        shared::store_relaxed(bell.word, 1);  // announce: "I may park"
        full_fence();                         // order the announcement before the re-check
        if (ready()) return {};
        const std::uint64_t now = hooks->now_ns();
        if (now >= deadline) return unexpected(errc::timed_out);
        hooks->park(
            bell.word, 1,
            deadline == std::numeric_limits<std::uint64_t>::max() ? deadline : deadline - now);
        if (ready()) return {};
    }
}

// The waker's half: call after publishing a change the waiter may wait for.
// A no-op without hooks (then nobody may park on this bell).
// `wait_budget` bounds a blocking call made of several waits as a whole:
// the deadline is computed once, when the call begins, and each wait gets
// only what is left, so a peer that keeps a wait returning early (a trickle
// of records that complete nothing) cannot stretch the call. Without hooks
// there is no clock: the call gives up after `max_unclocked_waits` waits.
class wait_budget {
  public:
    static constexpr std::uint32_t max_unclocked_waits = 64;

    explicit wait_budget(const wait_policy& policy) noexcept : policy_(policy) {
        if (policy.hooks == nullptr) return;
        const std::uint64_t now = policy.hooks->now_ns();
        const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
        deadline_ = policy.timeout_ns > max - now ? max : now + policy.timeout_ns;
    }
    // The policy for the next wait, or errc::timed_out once the whole call's
    // time (or count) is spent.
    [[nodiscard]] expected<wait_policy> next() noexcept {
        if (policy_.hooks == nullptr) {
            if (waits_++ >= max_unclocked_waits) return unexpected(errc::timed_out);
            return policy_;
        }
        if (deadline_ == std::numeric_limits<std::uint64_t>::max()) return policy_;
        const std::uint64_t now = policy_.hooks->now_ns();
        if (now >= deadline_) return unexpected(errc::timed_out);
        wait_policy p = policy_;
        p.timeout_ns = deadline_ - now;
        return p;
    }

  private:
    wait_policy policy_;
    std::uint64_t deadline_ = std::numeric_limits<std::uint64_t>::max();
    std::uint32_t waits_ = 0;
};

inline void ring_doorbell(wire::doorbell& bell, wait_hooks* hooks) noexcept {
    if (hooks == nullptr) return;
    full_fence();  // order the published change before reading the bell
    if (shared::load_relaxed(bell.word) == 0) [[likely]]
        return;
    if (shared::exchange_acq_rel(bell.word, 0) != 0) hooks->unpark(bell.word);
}

}  // namespace airlock::ring
