// SPDX-License-Identifier: Apache-2.0
// Reading the host's clock words (clock.hh).
#include "airlock/sys/clock.hh"

#include <atomic>

#include "airlock/ring/shared_memory.hh"
#include "airlock/ring/wait.hh"

namespace airlock::sys {

namespace {
// Attempts before a sequence that never settles counts as a fault: the
// host writes three words, so a healthy writer is seen torn only briefly.
constexpr int max_attempts = 4096;
// Waiting for a stale clock's refresh: spins, then parks (each park lasts
// until the refresh or the deadline, so only spurious wake-ups repeat it).
constexpr std::uint32_t spin_rounds = 256;
constexpr std::uint32_t max_parks = 64;
}  // namespace

bool clock::snapshot(reading& r) noexcept {
    using ring::shared;
    for (int i = 0; i < max_attempts; ++i) {
        const std::uint64_t s1 = shared::load_acquire(words_[wire::clock_seq].word);
        if ((s1 & 1) != 0) {
            ring::cpu_relax();
            continue;
        }
        r.mono = shared::load_relaxed(words_[wire::clock_monotonic].word);
        r.real = shared::load_relaxed(words_[wire::clock_realtime].word);
        std::atomic_thread_fence(std::memory_order_acquire);  // the values before the re-check
        if (shared::load_relaxed(words_[wire::clock_seq].word) == s1) {
            r.seq = s1;
            return true;
        }
    }
    return false;
}

bool clock::refresh(reading& r) noexcept {
    // The service marked the words stale after announcing its sleep on the
    // bell, so this sees the bell set (or already rung) and wakes it.
    ring::ring_doorbell(*service_bell_, hooks_);
    const std::uint64_t stale = r.seq;
    const std::uint64_t deadline = hooks_->now_ns() + stale_wait_ns;
    // Bounded by the clock and by a count (hooks whose clock stands still).
    for (std::uint32_t i = 0; i < spin_rounds + max_parks; ++i) {
        reading fresh;
        if (!snapshot(fresh)) return false;
        if (fresh.seq != stale) {
            r = fresh;
            return true;
        }
        const std::uint64_t now = hooks_->now_ns();
        if (now >= deadline) break;
        // A wake-up costs tens of microseconds: spin a little, then park on
        // the sequence word (the service unparks it when it refreshes).
        if (i < spin_rounds)
            ring::cpu_relax();
        else
            hooks_->park(words_[wire::clock_seq].word, stale, deadline - now);
    }
    unanswered_ = stale;  // not asked again until the words change
    return true;
}

result<void> clock::take() noexcept {
    if (fault_ != errc::ok) return fail(fault_);
    reading r;
    bool ok = snapshot(r);
    if (ok && (r.seq & wire::clock_stale) != 0 && hooks_ != nullptr && r.seq != unanswered_)
        [[unlikely]]
        ok = refresh(r);
    if (!ok || r.mono < mono_ || r.real < real_) {
        fault_ = errc::sys_bad_clock;
        return fail(fault_);
    }
    mono_ = r.mono;
    real_ = r.real;
    return {};
}

result<std::uint64_t> clock::monotonic_ns() noexcept {
    if (auto t = take(); !t) return unexpected(t.error());
    return mono_;
}

result<std::uint64_t> clock::realtime_ns() noexcept {
    if (auto t = take(); !t) return unexpected(t.error());
    return real_;
}

}  // namespace airlock::sys
