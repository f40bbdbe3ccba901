// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/base/speculation.hh: indexing private tables with hostile indices.
//
// `index_nospec(index, size)` returns `index` when it is below `size` and 0
// otherwise, computed without a branch, so that a CPU speculating past a
// mispredicted bounds check still reads inside the table (Spectre v1,
// HOSTILE-INPUTS #9). Call it after the ordinary bounds check and index the
// table with its result: the architectural path is unchanged, and the
// speculative one reads entry 0 at worst. This is the kernel's
// array_index_nospec: a data dependency, not a serialising fence, so the
// rest of the message keeps flowing through the pipeline while the index is
// checked (an `lfence` waits for every older instruction, including the
// cache misses that brought the message in).
//
// Thread contract: pure functions. `size` must be at least 1.

#include <cstddef>
#include <cstdint>

namespace airlock {

// All ones when index < size, else zero; no branch the CPU can mispredict.
[[nodiscard]] inline std::uint64_t index_mask_nospec(std::uint64_t index,
                                                     std::uint64_t size) noexcept {
#if defined(__x86_64__)
    std::uint64_t mask;
    // cmp sets the carry flag when index < size; sbb spreads it into a mask.
    asm volatile("cmp %1, %2\n\tsbb %0, %0" : "=r"(mask) : "r"(size), "r"(index) : "cc");
    return mask;
#else
    // Sign of (index | (size - 1 - index)): set when index >= size, for any
    // index and size below 2^63 (larger ones are out of range for every table).
    const auto both = static_cast<std::int64_t>(index | (size - 1 - index));
    const std::uint64_t mask = ~static_cast<std::uint64_t>(both >> 63);
#if defined(__aarch64__)
    asm volatile("hint #0x14" ::: "memory");  // csdb: later reads see the resolved mask
#endif
    return mask;
#endif
}

// `index` if index < size, else 0, for indexing a table of `size` entries.
[[nodiscard]] inline std::size_t index_nospec(std::uint64_t index, std::size_t size) noexcept {
    return static_cast<std::size_t>(index & index_mask_nospec(index, size));
}

}  // namespace airlock
