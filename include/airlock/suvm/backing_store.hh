// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/suvm/backing_store.hh: the untrusted memory that sealed pages live in.
//
// The host hands the enclave one block of untrusted memory, once. The enclave
// `attach`es it with the page size and page count from its own trusted
// configuration, checks it like a ring region (aligned, large enough, not
// wrapping the address space, not overlapping enclave memory), keeps private
// copies of base and size, and never reads any size or offset from it. The
// store is an array of slots, one per page: the page's ciphertext, its
// 16-byte tag, zeros up to the next 64 bytes. A store attached with a
// sub-page size (a direct-mode space) has one slot per sub-page instead,
// page-major: sub-page k of page p is slot p * (page_size / sub_page) + k,
// each slot_bytes(sub_page) bytes. Nothing else: the versions and the key
// stay in enclave memory.
//
// Every access goes through ring/shared_memory.hh in aligned 8-byte words:
// a slot is copied out into private memory before it is authenticated, so
// the host changing it meanwhile changes nothing the enclave checks.
//
// Thread contract: attach once; then read_slot and write_slot from any
// enclave thread, each slot touched by one thread at a time (the space's
// claimer of the frame that holds or loads that page). Memory ordering:
// relaxed word copies; the store is authenticated, not synchronised, so no
// order with the host is needed.

#include <cstddef>
#include <cstdint>
#include <span>

#include "airlock/base/expected.hh"
#include "airlock/ring/region.hh"
#include "airlock/ring/shared_memory.hh"
#include "airlock/suvm/seal.hh"

namespace airlock::suvm {

inline constexpr std::size_t store_alignment = 64;
inline constexpr std::size_t min_page_size = 1024;
inline constexpr std::size_t max_page_size = 64 * 1024;
inline constexpr std::uint64_t max_pages = std::uint64_t{1} << 32;
// Sub-page sizes of a direct-mode space: a power of two in this range.
inline constexpr std::size_t min_sub_page_size = 256;
inline constexpr std::size_t max_sub_page_size = 1024;

// Bytes of one page's (or sub-page's) slot: ciphertext, tag, padding to 64 bytes.
[[nodiscard]] constexpr std::size_t slot_bytes(std::size_t unit_size) noexcept {
    return (unit_size + sealer::tag_bytes + store_alignment - 1) / store_alignment *
           store_alignment;
}

class backing_store {
  public:
    backing_store() = default;

    // Bytes a store of `pages` pages of `page_size` needs, sealed whole
    // (sub_page 0) or as sub-pages of `sub_page` bytes, or invalid_argument
    // (page size not a power of two in [min_page_size, max_page_size], no
    // pages, more than max_pages, a sub-page size not a power of two in
    // [min_sub_page_size, max_sub_page_size] or larger than the page).
    [[nodiscard]] static expected<std::size_t> required_size(std::size_t page_size,
                                                             std::uint64_t pages,
                                                             std::size_t sub_page = 0);

    // Enclave side: checks `memory` against the trusted geometry. Errors:
    // invalid_argument, suvm_store_misaligned, suvm_store_address_wraps,
    // suvm_store_too_small, suvm_store_overlaps_enclave.
    [[nodiscard]] static expected<backing_store> attach(std::span<std::byte> memory,
                                                        std::size_t page_size, std::uint64_t pages,
                                                        const ring::attach_options& options = {},
                                                        std::size_t sub_page = 0);

    [[nodiscard]] std::size_t page_size() const noexcept { return page_size_; }
    [[nodiscard]] std::uint64_t pages() const noexcept { return pages_; }
    // The bytes sealed in one slot: the page size, or the sub-page size.
    [[nodiscard]] std::size_t unit_size() const noexcept { return unit_size_; }

    // Copies slot `slot`'s ciphertext and tag (unit_size + tag_bytes bytes)
    // out of the store into private `dst`, each word loaded once. A page's
    // slot is its number; sub-page k of page p is p * (page_size /
    // unit_size) + k. Precondition: slot < pages * that.
    void read_slot(std::uint64_t slot, std::byte* dst) const noexcept {
        ring::shared::copy_out(dst, at(slot), unit_size_ + sealer::tag_bytes);
    }
    // Copies a sealed page or sub-page from private `src` into the store.
    void write_slot(std::uint64_t slot, const std::byte* src) const noexcept {
        ring::shared::copy_in(at(slot), src, unit_size_ + sealer::tag_bytes);
    }

  private:
    [[nodiscard]] ring::shared_u64* at(std::uint64_t slot) const noexcept {
        return base_ + slot * slot_words_;
    }
    ring::shared_u64* base_ = nullptr;
    std::size_t page_size_ = 0;
    std::size_t unit_size_ = 0;
    std::size_t slot_words_ = 0;
    std::uint64_t pages_ = 0;
};

}  // namespace airlock::suvm
