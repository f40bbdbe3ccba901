// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/clock.hh: the host's clocks, read by the enclave without a round trip.
//
// `sys::clock` reads the clock words the host's sys service keeps current
// in the link's shared words (a seqlock: sequence odd while the host writes,
// then monotonic and realtime nanoseconds, then the sequence even again).
// The host refreshes them every round and, while idle, every tick
// (service_options::tick_ns), so a reading is at most about a tick old.
// An idle service stops ticking after a while (service_options::
// tickless_after) and marks the words stale (wire::clock_stale); the next
// reading then rings the service's doorbell and waits for fresh words, at
// most `stale_wait_ns` (a thread wake-up, ~50 us, once per idle spell),
// after which it returns the stale ones. Readings right after any sys
// activity are fresh: every round of the service refreshes the words.
// The host is not trusted: a reading older than the last one this clock
// returned (time going backwards), or a sequence that stays torn, faults
// the clock for good with errc::sys_bad_clock. Only the host can say what
// time it is; the check bounds what a lying host can do to a program
// (time never runs backwards), not whether it lies.
//
// Sleeping and deadlines use the executor's timers:
// `co_await executor.sleep_for(ns)` (async/executor.hh).
//
// Thread contract: enclave side; one clock per thread (it keeps the last
// readings privately). Memory ordering: the sequence is read with acquire
// before and after the two relaxed value loads, with an acquire fence
// between, the reader's half of the host's seqlock.

#include <cstdint>

#include "airlock/sys/client.hh"

namespace airlock::sys {

class clock {
  public:
    // How long a reading waits for a stale clock to be refreshed.
    static constexpr std::uint64_t stale_wait_ns = 10'000'000;

    explicit clock(const client& c) noexcept
        : words_(c.link().words), service_bell_(c.link().service_bell), hooks_(c.hooks_) {}
    // Without `hooks` a stale clock is read as it is.
    explicit clock(const platform::service_link& link, ring::wait_hooks* hooks = nullptr) noexcept
        : words_(link.words), service_bell_(link.service_bell), hooks_(hooks) {}

    // Nanoseconds of the host's CLOCK_MONOTONIC, never less than the last.
    [[nodiscard]] result<std::uint64_t> monotonic_ns() noexcept;
    // Nanoseconds since 1970 (CLOCK_REALTIME), never less than the last.
    [[nodiscard]] result<std::uint64_t> realtime_ns() noexcept;
    [[nodiscard]] errc fault() const noexcept { return fault_; }

  private:
    struct reading {
        std::uint64_t seq = 0, mono = 0, real = 0;
    };
    // One consistent reading of the words; false when torn for too long.
    bool snapshot(reading& r) noexcept;
    // Asks the service for fresh words and waits for them (bounded); false
    // when the words stay torn.
    bool refresh(reading& r) noexcept;
    result<void> take() noexcept;
    ring::wire::doorbell* words_;
    ring::wire::doorbell* service_bell_;
    ring::wait_hooks* hooks_;
    std::uint64_t unanswered_ = 0;  // a stale sequence the service did not refresh in time
    std::uint64_t mono_ = 0;
    std::uint64_t real_ = 0;
    errc fault_ = errc::ok;
};

}  // namespace airlock::sys
