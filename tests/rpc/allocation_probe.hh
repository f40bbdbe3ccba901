// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/rpc/allocation_probe.hh: replaces the global operator new so a test
// can see the largest single allocation made while a probe was armed
// (HOSTILE-INPUTS #19: a size claimed by the host must never reach the
// allocator), and can make large allocations fail (`allocation_ceiling`). The replacements live in
// allocation_probe.cc, which a test program that includes this header links (out of line, so that
// gcc does not inline them into callers and misreport new/free pairs).
//
// Thread contract: the counters are atomics; arm and read on one thread.

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace airlock::test {

inline std::atomic<bool> allocation_probe_armed{false};
inline std::atomic<std::size_t> allocation_probe_largest{0};
inline std::atomic<std::size_t> allocation_probe_count{0};
// While a ceiling is set, a single allocation above it throws std::bad_alloc
// (the enclave's memory budget running out, on demand).
inline std::atomic<std::size_t> allocation_ceiling_bytes{~std::size_t{0}};

// Records allocations while alive.
class allocation_probe {
  public:
    allocation_probe() {
        allocation_probe_largest.store(0);
        allocation_probe_count.store(0);
        allocation_probe_armed.store(true);
    }
    ~allocation_probe() { allocation_probe_armed.store(false); }
    allocation_probe(const allocation_probe&) = delete;
    allocation_probe& operator=(const allocation_probe&) = delete;

    [[nodiscard]] std::size_t largest() const { return allocation_probe_largest.load(); }
    [[nodiscard]] std::size_t count() const { return allocation_probe_count.load(); }
};

// Makes allocations above `bytes` fail while alive.
class allocation_ceiling {
  public:
    explicit allocation_ceiling(std::size_t bytes) { allocation_ceiling_bytes.store(bytes); }
    ~allocation_ceiling() { allocation_ceiling_bytes.store(~std::size_t{0}); }
    allocation_ceiling(const allocation_ceiling&) = delete;
    allocation_ceiling& operator=(const allocation_ceiling&) = delete;
};

inline void note_allocation(std::size_t n) {
    if (n > allocation_ceiling_bytes.load(std::memory_order_relaxed)) throw std::bad_alloc();
    if (!allocation_probe_armed.load(std::memory_order_relaxed)) return;
    allocation_probe_count.fetch_add(1, std::memory_order_relaxed);
    std::size_t seen = allocation_probe_largest.load(std::memory_order_relaxed);
    while (n > seen && !allocation_probe_largest.compare_exchange_weak(seen, n)) {
    }
}

}  // namespace airlock::test
