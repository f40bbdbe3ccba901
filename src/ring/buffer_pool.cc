// SPDX-License-Identifier: Apache-2.0
// The sender's private bookkeeping of a buffer pool.
#include "airlock/ring/buffer_pool.hh"

namespace airlock::ring {

pool_allocator::pool_allocator(pool_view pool)
    : pool_(pool),
      granules_(static_cast<std::size_t>(pool.size / wire::pool_granule)),
      taken_((granules_ + 63) / 64, 0),
      length_(granules_, 0) {
    AIRLOCK_CHECK(pool.size % wire::pool_granule == 0 && pool.size <= wire::max_pool_size,
                  "a pool is a whole number of granules");
}

void pool_allocator::mark(std::size_t first, std::size_t count, bool value) noexcept {
    for (std::size_t g = first; g < first + count; ++g) {
        const std::uint64_t bit = std::uint64_t{1} << (g % 64);
        if (value)
            taken_[g / 64] |= bit;
        else
            taken_[g / 64] &= ~bit;
    }
}

std::optional<pool_allocator::buffer> pool_allocator::try_allocate(std::uint64_t length) noexcept {
    if (length == 0 || length > pool_.size) return std::nullopt;
    const std::size_t need =
        static_cast<std::size_t>((length + wire::pool_granule - 1) / wire::pool_granule);
    // Next fit: from the rover to the end, then from the start. A buffer
    // never wraps, so a run restarts at granule 0.
    for (int pass = 0; pass < 2; ++pass) {
        std::size_t g = pass == 0 ? rover_ : 0;
        const std::size_t end = pass == 0 ? granules_ : std::min(granules_, rover_ + need - 1);
        std::size_t run = 0;
        while (g < end) {
            if (run == 0 && g % 64 == 0 && taken_[g / 64] == ~std::uint64_t{0}) {
                g += 64;  // a whole word of taken granules
                continue;
            }
            if (taken(g)) {
                run = 0;
                ++g;
                continue;
            }
            if (++run == need) {
                const std::size_t first = g + 1 - need;
                mark(first, need, true);
                length_[first] = length;
                rover_ = g + 1 == granules_ ? 0 : g + 1;
                ++outstanding_;
                return buffer{first * wire::pool_granule, length};
            }
            ++g;
        }
    }
    return std::nullopt;
}

bool pool_allocator::release(std::uint64_t offset, std::uint64_t length) noexcept {
    if (offset % wire::pool_granule != 0 || offset >= pool_.size || length == 0) return false;
    const auto first = static_cast<std::size_t>(offset / wire::pool_granule);
    if (length_[first] != length) return false;  // no buffer starts here, or another one does
    length_[first] = 0;
    mark(first, static_cast<std::size_t>((length + wire::pool_granule - 1) / wire::pool_granule),
         false);
    --outstanding_;
    return true;
}

}  // namespace airlock::ring
