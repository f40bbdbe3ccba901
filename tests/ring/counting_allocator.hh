// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/ring/counting_allocator.hh: counts the heap allocations a ring test
// makes while `count_allocations` is set: how many, their bytes and the
// largest. The global operator new and delete replacements that do the
// counting live in counting_allocator.cc, which a test program that includes
// this header links (out of line, so that gcc does not inline them into
// callers and misreport new/free pairs).
//
// Thread contract: the counters are atomics; set, reset and read them on the
// test's thread.

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace airlock::test {

inline std::atomic<bool> count_allocations{false};
inline std::atomic<std::uint64_t> allocations{0};
inline std::atomic<std::uint64_t> allocated_bytes{0};
inline std::atomic<std::uint64_t> largest_allocation{0};

inline void note_allocation(std::size_t n) {
    if (!count_allocations.load(std::memory_order_relaxed)) return;
    allocations.fetch_add(1);
    allocated_bytes.fetch_add(n);
    if (n > largest_allocation.load()) largest_allocation.store(n);
}

}  // namespace airlock::test
