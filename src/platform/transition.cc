// SPDX-License-Identifier: Apache-2.0
#include "airlock/platform/transition.hh"

#include <algorithm>
#include <array>
#include <ctime>

namespace airlock::platform {

std::uint64_t detail::monotonic_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000 +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

namespace {

// One (tsc, ns) pair read as close together as possible: the TSC is read on
// both sides of the clock and the tightest of a few tries is kept, so a
// preemption in the middle does not skew the pair.
struct clock_pair {
    std::uint64_t tsc;
    std::uint64_t ns;
};

clock_pair read_pair() noexcept {
    clock_pair best{};
    std::uint64_t best_width = UINT64_MAX;
    for (int i = 0; i < 8; ++i) {
        const std::uint64_t before = read_tsc();
        const std::uint64_t ns = detail::monotonic_ns();
        const std::uint64_t after = read_tsc();
        if (after - before < best_width) {
            best_width = after - before;
            best = {before + (after - before) / 2, ns};
        }
    }
    return best;
}

// TSC cycles per nanosecond over one window of `window_ns`, busy-waiting.
double measure_rate(std::uint64_t window_ns) noexcept {
    const clock_pair start = read_pair();
    while (detail::monotonic_ns() - start.ns < window_ns) {
    }
    const clock_pair end = read_pair();
    if (end.ns <= start.ns || end.tsc <= start.tsc) return 0.0;
    return static_cast<double>(end.tsc - start.tsc) / static_cast<double>(end.ns - start.ns);
}

// The median of three 10 ms windows: one window disturbed by a preemption or
// a migration does not decide the rate.
[[gnu::cold]] double calibrate() noexcept {
    std::array<double, 3> rates{};
    for (double& r : rates)
        r = measure_rate(10'000'000);
    std::sort(rates.begin(), rates.end());
    // A clock that does not advance leaves 1 cycle per ns: conversions stay
    // finite and the modelled cost is still paid in whatever read_tsc counts.
    return rates[1] > 0.0 ? rates[1] : 1.0;
}

}  // namespace

const tsc_clock& tsc_clock::calibrated() noexcept {
    static const tsc_clock clock{calibrate()};  // thread-safe, once per process
    return clock;
}

}  // namespace airlock::platform
