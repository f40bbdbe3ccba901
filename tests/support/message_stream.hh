// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/support/message_stream.hh: the deterministic message sequence of the
// ring stress tests.
//
// `message_stream` gives message `seq` a size drawn from a seeded PRNG
// (splitmix64 of seed and seq), so sender and receiver agree on every size
// without sharing state: mostly small (0..small_max bytes), a fraction
// `large_per_65536` of them large (large_min..large_max bytes, enough to
// be fragmented). Content is `pattern(size, seq)` (region_fixture.hh), so a
// lost, duplicated, reordered, truncated or corrupted message is detected.
// `scaled_count` applies AIRLOCK_STRESS_SCALE (test::stress_scale()).
// `first_failure` keeps the first failure any thread of a stress test
// reports, so the others can stop and the test body can print it.
//
// Thread contract: message_stream is immutable after construction and
// first_failure is thread-safe; both may be used from any thread.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>

#include "support/region_fixture.hh"

namespace airlock::test {

[[nodiscard]] constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

struct message_stream {
    std::uint64_t seed = 1;
    std::size_t small_max = 64;
    std::size_t large_min = 1024;
    std::size_t large_max = 64 * 1024;
    std::uint32_t large_per_65536 = 64;  // about 1 in 1000

    [[nodiscard]] std::size_t size_of(std::uint64_t seq) const noexcept {
        const std::uint64_t x = splitmix64(seed * 0x100000001b3ull + seq);
        if ((x & 0xffff) < large_per_65536)
            return large_min + static_cast<std::size_t>((x >> 16) % (large_max - large_min + 1));
        return static_cast<std::size_t>((x >> 16) % (small_max + 1));
    }
    [[nodiscard]] static std::uint16_t tag_of(std::uint64_t seq) noexcept {
        return static_cast<std::uint16_t>(seq * 2654435761u >> 7);
    }
};

// `count` scaled by AIRLOCK_STRESS_SCALE, at least `floor`.
[[nodiscard]] inline std::uint64_t scaled_count(std::uint64_t count, std::uint64_t floor = 1000) {
    const double scaled = static_cast<double>(count) * stress_scale();
    return std::max<std::uint64_t>(floor, static_cast<std::uint64_t>(scaled));
}

// "message <seq> (<n> bytes): byte <at> expected <x>, got <y>".
[[nodiscard]] inline std::string describe_mismatch(std::uint64_t seq,
                                                   std::span<const std::byte> got, long at) {
    const auto i = static_cast<std::size_t>(at);
    return "message " + std::to_string(seq) + " (" + std::to_string(got.size()) + " bytes): byte " +
           std::to_string(i) + " expected " +
           std::to_string(static_cast<int>(pattern_byte(seq, i))) + ", got " +
           std::to_string(static_cast<int>(got[i]));
}

class first_failure {
  public:
    void report(std::string what) {
        std::lock_guard lock(mutex_);
        if (text_.empty()) text_ = std::move(what);
        failed_.store(true, std::memory_order_relaxed);
    }
    [[nodiscard]] bool failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
    // Empty when nothing failed.
    [[nodiscard]] std::string text() const {
        std::lock_guard lock(mutex_);
        return text_;
    }

  private:
    mutable std::mutex mutex_;
    std::string text_;
    std::atomic<bool> failed_{false};
};

}  // namespace airlock::test
