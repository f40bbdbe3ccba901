// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/async/async_support.hh: helpers for the async layer's tests.
//
// `manual_hooks` is a ring::wait_hooks with a manual clock: parking with a
// timeout advances the clock by that timeout instead of sleeping, so timer
// and deadline tests are deterministic and never wait; parking without one
// (nothing could ever wake a single-threaded test) aborts with a message.
// `harness` bundles a private doorbell, manual hooks and an executor.
// `counted` counts constructions and destructions so leaks and double
// destruction fail loudly.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "airlock/async/executor.hh"
#include "airlock/ring/layout.hh"
#include "airlock/ring/wait.hh"

namespace airlock::test {

class manual_hooks final : public ring::wait_hooks {
  public:
    void yield() noexcept override { ++yields; }
    void park(ring::shared_u64& /*word*/, std::uint64_t /*expected*/,
              std::uint64_t timeout_ns) noexcept override {
        ++parks;
        if (timeout_ns == std::numeric_limits<std::uint64_t>::max()) {
            std::fprintf(stderr,
                         "manual_hooks: park with no timeout in a single-threaded test: "
                         "nothing can wake it (a coroutine waits for nothing)\n");
            std::abort();
        }
        now += timeout_ns;  // time passes only while the executor idles
    }
    void unpark(ring::shared_u64& /*word*/) noexcept override { ++unparks; }
    [[nodiscard]] std::uint64_t now_ns() noexcept override { return now; }

    std::uint64_t now = 1'000'000;  // not zero: deadlines "in the past" exist
    std::uint64_t yields = 0;
    std::uint64_t parks = 0;
    std::uint64_t unparks = 0;
};

// Options for single-threaded tests: no spinning (the clock is manual).
inline async::executor_options quiet_options() {
    async::executor_options o;
    o.spin_iterations = 0;
    o.yield_iterations = 0;
    return o;
}

struct harness {
    explicit harness(async::executor_options options = quiet_options())
        : ex(bell, hooks, options) {}
    ring::wire::doorbell bell{};
    manual_hooks hooks;
    async::executor ex;
};

// Counts live instances; copies and moves count as new instances. The
// counters are atomic: frames die on whichever thread holds them.
struct counted {
    static inline std::atomic<long> constructed{0};
    static inline std::atomic<long> destroyed{0};
    static long alive() { return constructed.load() - destroyed.load(); }
    static void reset() {
        constructed.store(0);
        destroyed.store(0);
    }

    counted() { constructed.fetch_add(1, std::memory_order_relaxed); }
    counted(const counted&) { constructed.fetch_add(1, std::memory_order_relaxed); }
    counted(counted&&) noexcept { constructed.fetch_add(1, std::memory_order_relaxed); }
    counted& operator=(const counted&) = default;
    counted& operator=(counted&&) noexcept = default;
    ~counted() { destroyed.fetch_add(1, std::memory_order_relaxed); }
};

}  // namespace airlock::test
