// SPDX-License-Identifier: Apache-2.0
#include "airlock/suvm/backing_store.hh"

#include <bit>

namespace airlock::suvm {

expected<std::size_t> backing_store::required_size(std::size_t page_size, std::uint64_t pages,
                                                   std::size_t sub_page) {
    if (!std::has_single_bit(page_size) || page_size < min_page_size || page_size > max_page_size)
        return unexpected(errc::invalid_argument);
    if (pages == 0 || pages > max_pages) return unexpected(errc::invalid_argument);
    if (sub_page != 0 && (!std::has_single_bit(sub_page) || sub_page < min_sub_page_size ||
                          sub_page > max_sub_page_size || sub_page > page_size))
        return unexpected(errc::invalid_argument);
    // At most 2^32 pages of at most 256 slots of at most 64 KiB + 64 bytes
    // (a page's slots together at most 1.25 times the page): far from
    // overflowing 64 bits.
    if (sub_page == 0) return static_cast<std::size_t>(pages) * slot_bytes(page_size);
    return static_cast<std::size_t>(pages) * (page_size / sub_page) * slot_bytes(sub_page);
}

expected<backing_store> backing_store::attach(std::span<std::byte> memory, std::size_t page_size,
                                              std::uint64_t pages,
                                              const ring::attach_options& options,
                                              std::size_t sub_page) {
    auto need = required_size(page_size, pages, sub_page);
    if (!need) return unexpected(need.error());
    const auto begin = reinterpret_cast<std::uintptr_t>(memory.data());
    if (begin % store_alignment != 0) return unexpected(errc::suvm_store_misaligned);
    if (memory.size() > UINTPTR_MAX - begin) return unexpected(errc::suvm_store_address_wraps);
    if (memory.size() < *need) return unexpected(errc::suvm_store_too_small);
    if (options.trusted_memory.size != 0) {
        const auto& t = options.trusted_memory;
        if (t.size > UINTPTR_MAX - t.begin) return unexpected(errc::invalid_argument);
        // "Outside" is checked, not "not inside": both ends matter.
        const bool outside = begin + *need <= t.begin || begin >= t.begin + t.size;
        if (!outside) return unexpected(errc::suvm_store_overlaps_enclave);
    }
    backing_store s;
    s.base_ = reinterpret_cast<ring::shared_u64*>(memory.data());
    s.page_size_ = page_size;
    s.unit_size_ = sub_page == 0 ? page_size : sub_page;
    s.slot_words_ = slot_bytes(s.unit_size_) / 8;
    s.pages_ = pages;
    return s;
}

}  // namespace airlock::suvm
