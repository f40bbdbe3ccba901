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
}  // namespace

bool clock::snapshot(std::uint64_t& mono, std::uint64_t& real) noexcept {
    using ring::shared;
    for (int i = 0; i < max_attempts; ++i) {
        const std::uint64_t s1 = shared::load_acquire(words_[wire::clock_seq].word);
        if ((s1 & 1) != 0) {
            ring::cpu_relax();
            continue;
        }
        mono = shared::load_relaxed(words_[wire::clock_monotonic].word);
        real = shared::load_relaxed(words_[wire::clock_realtime].word);
        std::atomic_thread_fence(std::memory_order_acquire);  // the values before the re-check
        if (shared::load_relaxed(words_[wire::clock_seq].word) == s1) return true;
    }
    return false;
}

result<void> clock::take() noexcept {
    if (fault_ != errc::ok) return fail(fault_);
    std::uint64_t mono = 0, real = 0;
    if (!snapshot(mono, real) || mono < mono_ || real < real_) {
        fault_ = errc::sys_bad_clock;
        return fail(fault_);
    }
    mono_ = mono;
    real_ = real;
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
