// SPDX-License-Identifier: Apache-2.0
#pragma once
// src/suvm/free_lists.hh: the ranges a space's allocator has been given back.
//
// An allocation's size is rounded up to its class, a multiple of 8 bytes
// (whole pages would waste up to a page per large allocation and could leave
// the end of the space unusable). Ranges given back wait in a list per class
// and are handed out again, newest first, to a later allocation of the same
// class whose alignment they meet; anything else comes from the bump
// pointer. Exact classes keep the bookkeeping to one hash lookup and never
// split or merge ranges: a program that frees and allocates objects of a
// few sizes (a store's items, a model's rows) reuses all of its space.
// Enclave memory only; the lists hold addresses, never the space's bytes.
//
// Thread contract: not synchronized; space guards it with a mutex.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

namespace airlock::suvm::detail {

class free_lists {
  public:
    // The bytes an allocation of `bytes` occupies.
    [[nodiscard]] static std::uint64_t class_of(std::uint64_t bytes) noexcept {
        return (bytes + 7) / 8 * 8;
    }
    // Keeps [address, address + class_bytes) for reuse; false if that
    // address is already free (given back twice).
    bool put(std::uint64_t address, std::uint64_t class_bytes);
    // A free range of `class_bytes` aligned to `alignment`, or nothing.
    std::optional<std::uint64_t> take(std::uint64_t class_bytes, std::size_t alignment);
    [[nodiscard]] std::uint64_t free_bytes() const noexcept { return free_bytes_; }

  private:
    // How many of a list's newest entries take() looks at for one that meets
    // an alignment (usually the first does: one class, one alignment).
    static constexpr std::size_t alignment_scan = 8;

    std::unordered_map<std::uint64_t, std::vector<std::uint64_t>> by_class_;
    std::unordered_map<std::uint64_t, std::uint64_t> free_;  // address -> class bytes
    std::uint64_t free_bytes_ = 0;
};

}  // namespace airlock::suvm::detail
