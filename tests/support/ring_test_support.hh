// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/support/ring_test_support.hh: more helpers for the ring-layer tests.
//
// `PrintTo(errc)` makes GoogleTest print error codes by name, so a failed
// `EXPECT_EQ(r.error(), errc::ring_full)` reads "expected ring_full, got
// ring_empty" (an `expected` that holds a value reports errc::ok).
// `fake_wait_hooks` is a deterministic, single-threaded stand-in for the
// platform's park/unpark: a clock that only park and yield advance, counters
// for every call, and callbacks that let a test play the peer while the
// waiter "sleeps". `counting_wait_hooks` forwards to real hooks and counts.
// `expect_pattern` checks a received payload against `pattern(n, seq)` and
// prints the first differing byte.
//
// Thread contract: fake_wait_hooks is for one thread (the test drives both
// endpoints); counting_wait_hooks may be shared by threads (atomic counters).

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <ostream>
#include <span>

#include "airlock/base/error.hh"
#include "airlock/ring/wait.hh"
#include "support/region_fixture.hh"

namespace airlock {

// Found by argument-dependent lookup from GoogleTest's printers.
inline void PrintTo(errc e, std::ostream* os) {
    *os << to_string(e) << " (" << static_cast<int>(e) << ")";
}

}  // namespace airlock

namespace airlock::test {

inline constexpr std::uint64_t no_timeout = std::numeric_limits<std::uint64_t>::max();

// `fake_wait_hooks`: every park "sleeps" on a simulated clock. A park first
// runs `on_park` (the peer gets to act while we sleep), then returns at once
// if the word no longer holds `expected` (a futex would return EAGAIN or be
// woken), else "sleeps" for the whole timeout (advancing the clock) or, for
// an unbounded park, for `unbounded_park_ns` and returns as a spurious
// wake-up. `max_parks` bounds a test that would otherwise loop for ever.
class fake_wait_hooks final : public ring::wait_hooks {
  public:
    std::uint64_t clock_ns = 1'000'000;
    std::uint64_t yield_ns = 1'000;
    std::uint64_t unbounded_park_ns = 1'000'000;
    std::size_t max_parks = 100'000;

    std::function<void()> on_yield;
    std::function<void()> on_park;

    std::size_t yields = 0;
    std::size_t parks = 0;
    std::size_t parks_woken = 0;      // the word had changed: returned at once
    std::size_t parks_timed_out = 0;  // slept the whole (bounded) timeout
    std::size_t parks_spurious = 0;   // unbounded park returned with no change
    std::size_t unparks = 0;
    const ring::shared_u64* last_unparked = nullptr;
    std::uint64_t last_park_timeout_ns = 0;

    void yield() noexcept override {
        ++yields;
        clock_ns += yield_ns;
        if (on_yield) on_yield();
    }
    void park(ring::shared_u64& word, std::uint64_t expected,
              std::uint64_t timeout_ns) noexcept override {
        if (++parks > max_parks) {
            std::fprintf(stderr, "fake_wait_hooks: more than %zu parks: the wait never ends\n",
                         max_parks);
            std::abort();
        }
        last_park_timeout_ns = timeout_ns;
        if (on_park) on_park();
        if (ring::shared::load_relaxed(word) != expected) {
            ++parks_woken;
            return;
        }
        if (timeout_ns == no_timeout) {
            ++parks_spurious;
            clock_ns += unbounded_park_ns;
        } else {
            ++parks_timed_out;
            clock_ns += timeout_ns;
        }
    }
    void unpark(ring::shared_u64& word) noexcept override {
        ++unparks;
        last_unparked = &word;
    }
    [[nodiscard]] std::uint64_t now_ns() noexcept override { return clock_ns; }
};

// `counting_wait_hooks` forwards to `inner` and counts each call, and
// separately the parks on one `watched` word. wait_until (wait.hh) reads the
// clock once when a wait leaves the spin phase and once before each park, so
// `clock_reads - parks` is about the number of waits that went past spinning.
class counting_wait_hooks final : public ring::wait_hooks {
  public:
    explicit counting_wait_hooks(ring::wait_hooks& inner, const ring::shared_u64* watched = nullptr)
        : inner_(inner), watched_(watched) {}

    std::atomic<std::uint64_t> yields{0};
    std::atomic<std::uint64_t> parks{0};
    std::atomic<std::uint64_t> parks_on_watched{0};
    std::atomic<std::uint64_t> unparks{0};
    std::atomic<std::uint64_t> clock_reads{0};

    void yield() noexcept override {
        yields.fetch_add(1, std::memory_order_relaxed);
        inner_.yield();
    }
    void park(ring::shared_u64& word, std::uint64_t expected,
              std::uint64_t timeout_ns) noexcept override {
        parks.fetch_add(1, std::memory_order_relaxed);
        if (&word == watched_) parks_on_watched.fetch_add(1, std::memory_order_relaxed);
        inner_.park(word, expected, timeout_ns);
    }
    void unpark(ring::shared_u64& word) noexcept override {
        unparks.fetch_add(1, std::memory_order_relaxed);
        inner_.unpark(word);
    }
    [[nodiscard]] std::uint64_t now_ns() noexcept override {
        clock_reads.fetch_add(1, std::memory_order_relaxed);
        return inner_.now_ns();
    }

  private:
    ring::wait_hooks& inner_;
    const ring::shared_u64* watched_;
};

// Checks that `got` is pattern(expected_size, seq); on failure reports the
// size or the first differing byte as expected vs. got.
inline ::testing::AssertionResult is_pattern(std::span<const std::byte> got,
                                             std::size_t expected_size, std::uint64_t seq) {
    if (got.size() != expected_size)
        return ::testing::AssertionFailure() << "message " << seq << ": expected " << expected_size
                                             << " bytes, got " << got.size();
    const long at = first_mismatch(got, seq);
    if (at >= 0)
        return ::testing::AssertionFailure()
               << "message " << seq << " (" << expected_size << " bytes): byte " << at
               << " expected " << static_cast<int>(pattern_byte(seq, static_cast<std::size_t>(at)))
               << ", got " << static_cast<int>(got[static_cast<std::size_t>(at)]);
    return ::testing::AssertionSuccess();
}

// The published producer and consumer indices, as the peer would see them.
inline std::uint64_t shared_tail(const ring::ring_view& v) {
    return ring::shared::load_acquire(v.control->tail);
}
inline std::uint64_t shared_head(const ring::ring_view& v) {
    return ring::shared::load_acquire(v.control->head);
}

// The record header word at byte `offset` of a ring's data area.
inline std::uint64_t header_word_at(const ring::ring_view& v, std::uint64_t offset) {
    return ring::shared::load_relaxed(v.data[offset / 8]);
}

}  // namespace airlock::test
