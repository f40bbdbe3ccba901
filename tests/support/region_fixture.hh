// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/support/region_fixture.hh: shared test helpers for the ring layer.
//
// `test_region` owns aligned memory formatted as a region; `bytes_of` and
// `pattern` make and check payloads; `watchdog` aborts a test that hangs,
// after printing what it was doing.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <new>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "airlock/ring/region.hh"
#include "airlock/ring/spsc_ring.hh"

namespace airlock::test {

// Aligned, zeroed memory of `size` bytes.
class aligned_memory {
  public:
    explicit aligned_memory(std::size_t size)
        : size_(size),
          data_(static_cast<std::byte*>(::operator new (size, std::align_val_t{4096}))) {
        std::memset(data_, 0, size_);
    }
    ~aligned_memory() { ::operator delete (data_, std::align_val_t{4096}); }
    aligned_memory(const aligned_memory&) = delete;
    aligned_memory& operator=(const aligned_memory&) = delete;
    [[nodiscard]] std::span<std::byte> span() const { return {data_, size_}; }
    [[nodiscard]] std::byte* data() const { return data_; }
    [[nodiscard]] std::size_t size() const { return size_; }

  private:
    std::size_t size_;
    std::byte* data_;
};

// A formatted region with the given ring capacities, doorbells and buffer pools.
class test_region {
  public:
    explicit test_region(std::vector<std::size_t> capacities, std::size_t doorbells = 0,
                         std::vector<std::size_t> pools = {})
        : geometry_{std::move(capacities), doorbells, std::move(pools)},
          memory_(ring::region::required_size(geometry_).value()) {
        region_ = ring::region::format(memory_.span(), geometry_).value();
    }
    [[nodiscard]] ring::ring_view ring(std::size_t i = 0) const { return region_.ring(i); }
    // Pool `i`, or no pool (size 0) when the region has fewer.
    [[nodiscard]] ring::pool_view pool(std::size_t i) const {
        return i < region_.pool_count() ? region_.pool(i) : ring::pool_view{};
    }
    [[nodiscard]] const ring::region& region() const { return region_; }
    [[nodiscard]] const ring::region_geometry& geometry() const { return geometry_; }
    [[nodiscard]] aligned_memory& memory() { return memory_; }

  private:
    ring::region_geometry geometry_;
    aligned_memory memory_;
    ring::region region_;
};

// Deterministic payload: byte i of message `seq` is a function of both, so
// a reordered, truncated or corrupted message is detected.
inline std::byte pattern_byte(std::uint64_t seq, std::size_t i) {
    return static_cast<std::byte>((seq * 131 + i * 7 + (i >> 8)) & 0xff);
}
inline void fill_pattern(std::span<std::byte> out, std::uint64_t seq) {
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = pattern_byte(seq, i);
}
inline std::vector<std::byte> pattern(std::size_t n, std::uint64_t seq) {
    std::vector<std::byte> v(n);
    fill_pattern(v, seq);
    return v;
}
// Index of the first wrong byte, or -1 when `got` is pattern(n, seq).
inline long first_mismatch(std::span<const std::byte> got, std::uint64_t seq) {
    for (std::size_t i = 0; i < got.size(); ++i)
        if (got[i] != pattern_byte(seq, i)) return static_cast<long>(i);
    return -1;
}

inline std::span<const std::byte> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// `watchdog` aborts the process if it is not destroyed within `limit`,
// printing `what` first (and calling `dump`, if given, to print the test's
// state): a test that could hang fails loudly instead.
class watchdog {
  public:
    watchdog(std::chrono::seconds limit, std::string what, std::function<void()> dump = {})
        : thread_([this, limit, what = std::move(what), dump = std::move(dump)] {
              std::unique_lock lock(mutex_);
              if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
                  std::fprintf(stderr, "watchdog: test hung: %s\n", what.c_str());
                  if (dump) dump();
                  std::fflush(stderr);
                  std::abort();
              }
          }) {}
    ~watchdog() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool done_ = false;
    std::thread thread_;
};

// Scale factor for stress tests: AIRLOCK_STRESS_SCALE=0.1 runs a tenth.
inline double stress_scale() {
    const char* s = std::getenv("AIRLOCK_STRESS_SCALE");
    return s != nullptr ? std::atof(s) : 1.0;
}

}  // namespace airlock::test
