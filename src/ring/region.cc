// SPDX-License-Identifier: Apache-2.0
#include "airlock/ring/region.hh"

#include <bit>

namespace airlock::ring {
namespace {

constexpr std::uint64_t round_up(std::uint64_t n, std::uint64_t a) {
    return (n + a - 1) / a * a;
}

// Where everything goes, computed only from trusted geometry. With the
// limits on counts and capacities, no sum here can overflow 64 bits.
struct computed_layout {
    std::uint64_t ring_table_offset = 0;
    std::uint64_t doorbell_offset = 0;
    std::vector<std::uint64_t> control_offsets;
    std::uint64_t pool_table_offset = 0;
    std::vector<std::uint64_t> pool_offsets;
    std::uint64_t total = 0;
};

expected<computed_layout> compute(const region_geometry& g) {
    if (g.ring_capacities.size() > max_rings || g.doorbells > max_doorbells ||
        g.pool_sizes.size() > max_pools)
        return unexpected(errc::invalid_argument);
    for (std::size_t p : g.pool_sizes) {
        if (p == 0 || p % wire::pool_granule != 0 || p > wire::max_pool_size)
            return unexpected(errc::invalid_argument);
    }
    for (std::size_t c : g.ring_capacities) {
        if (!std::has_single_bit(c) || c < wire::min_ring_capacity || c > wire::max_ring_capacity)
            return unexpected(errc::invalid_argument);
    }
    computed_layout l;
    l.ring_table_offset = sizeof(wire::region_header);
    l.doorbell_offset =
        round_up(l.ring_table_offset + g.ring_capacities.size() * sizeof(wire::ring_descriptor),
                 wire::region_alignment);
    std::uint64_t at = l.doorbell_offset + g.doorbells * sizeof(wire::doorbell);
    for (std::size_t c : g.ring_capacities) {
        at = round_up(at, wire::region_alignment);
        l.control_offsets.push_back(at);
        at += sizeof(wire::ring_control) + c;
    }
    // The pools go last, so a region without them is laid out as before.
    l.pool_table_offset = round_up(at, wire::region_alignment);
    at = l.pool_table_offset + g.pool_sizes.size() * sizeof(wire::pool_descriptor);
    for (std::size_t p : g.pool_sizes) {
        at = round_up(at, wire::pool_granule);
        l.pool_offsets.push_back(at);
        at += p;
    }
    l.total = round_up(at, 4096);
    return l;
}

bool aligned(const std::byte* p) {
    return reinterpret_cast<std::uintptr_t>(p) % wire::region_alignment == 0;
}

template <class T>
T* at_offset(std::byte* base, std::uint64_t offset) {
    return reinterpret_cast<T*>(base + offset);
}

}  // namespace

expected<std::size_t> region::required_size(const region_geometry& geometry) {
    auto l = compute(geometry);
    if (!l) return unexpected(l.error());
    return static_cast<std::size_t>(l->total);
}

expected<region> region::format(std::span<std::byte> memory, const region_geometry& geometry) {
    auto l = compute(geometry);
    if (!l) return unexpected(l.error());
    if (!aligned(memory.data())) return unexpected(errc::region_misaligned);
    if (memory.size() < l->total) return unexpected(errc::region_too_small);

    // Zero through the accessor: the memory may already be visible to the peer.
    auto* words = reinterpret_cast<shared_u64*>(memory.data());
    for (std::size_t i = 0; i < memory.size() / 8; ++i)
        shared::store_relaxed(words[i], 0);

    std::byte* base = memory.data();
    auto& h = *at_offset<wire::region_header>(base, 0);
    shared::store_relaxed(h.version, wire::region_version);
    shared::store_relaxed(h.region_size, memory.size());
    shared::store_relaxed(h.ring_count, geometry.ring_capacities.size());
    shared::store_relaxed(h.doorbell_count, geometry.doorbells);
    shared::store_relaxed(h.ring_table_offset, l->ring_table_offset);
    shared::store_relaxed(h.doorbell_offset, l->doorbell_offset);
    shared::store_relaxed(h.pool_count, geometry.pool_sizes.size());
    auto* table = at_offset<wire::ring_descriptor>(base, l->ring_table_offset);
    for (std::size_t i = 0; i < geometry.ring_capacities.size(); ++i) {
        shared::store_relaxed(table[i].control_offset, l->control_offsets[i]);
        shared::store_relaxed(table[i].capacity, geometry.ring_capacities[i]);
        shared::store_relaxed(table[i].data_offset,
                              l->control_offsets[i] + sizeof(wire::ring_control));
    }
    auto* pools = at_offset<wire::pool_descriptor>(base, l->pool_table_offset);
    for (std::size_t i = 0; i < geometry.pool_sizes.size(); ++i) {
        shared::store_relaxed(pools[i].offset, l->pool_offsets[i]);
        shared::store_relaxed(pools[i].size, geometry.pool_sizes[i]);
    }
    // The magic goes last, with release: a peer that sees it sees the rest.
    shared::store_release(h.magic, wire::region_magic);
    return attach(memory, geometry);
}

expected<region> region::attach(std::span<std::byte> memory, const region_geometry& geometry,
                                const attach_options& options) {
    auto l = compute(geometry);
    if (!l) return unexpected(l.error());
    const auto begin = reinterpret_cast<std::uintptr_t>(memory.data());
    if (begin % wire::region_alignment != 0) return unexpected(errc::region_misaligned);
    if (memory.size() > UINTPTR_MAX - begin) return unexpected(errc::region_address_wraps);
    if (options.trusted_memory.size != 0) {
        const auto& t = options.trusted_memory;
        if (t.size > UINTPTR_MAX - t.begin) return unexpected(errc::invalid_argument);
        // "Outside" is checked, not "not inside": both ends matter.
        const bool outside = begin + memory.size() <= t.begin || begin >= t.begin + t.size;
        if (!outside) return unexpected(errc::region_overlaps_enclave);
    }
    if (memory.size() < l->total) return unexpected(errc::region_too_small);

    std::byte* base = memory.data();
    const auto& h = *at_offset<const wire::region_header>(base, 0);
    if (shared::load_acquire(h.magic) != wire::region_magic)
        return unexpected(errc::region_bad_magic);
    if (shared::load_relaxed(h.version) != wire::region_version)
        return unexpected(errc::region_bad_version);
    // Each field is read once and compared with the trusted computation.
    const std::uint64_t announced_size = shared::load_relaxed(h.region_size);
    if (announced_size < l->total || announced_size > memory.size() ||
        shared::load_relaxed(h.ring_count) != geometry.ring_capacities.size() ||
        shared::load_relaxed(h.doorbell_count) != geometry.doorbells ||
        shared::load_relaxed(h.ring_table_offset) != l->ring_table_offset ||
        shared::load_relaxed(h.doorbell_offset) != l->doorbell_offset ||
        shared::load_relaxed(h.pool_count) != geometry.pool_sizes.size())
        return unexpected(errc::region_geometry_mismatch);
    const auto* table = at_offset<const wire::ring_descriptor>(base, l->ring_table_offset);
    for (std::size_t i = 0; i < geometry.ring_capacities.size(); ++i) {
        if (shared::load_relaxed(table[i].control_offset) != l->control_offsets[i] ||
            shared::load_relaxed(table[i].capacity) != geometry.ring_capacities[i] ||
            shared::load_relaxed(table[i].data_offset) !=
                l->control_offsets[i] + sizeof(wire::ring_control))
            return unexpected(errc::region_geometry_mismatch);
    }
    const auto* pools = at_offset<const wire::pool_descriptor>(base, l->pool_table_offset);
    for (std::size_t i = 0; i < geometry.pool_sizes.size(); ++i) {
        if (shared::load_relaxed(pools[i].offset) != l->pool_offsets[i] ||
            shared::load_relaxed(pools[i].size) != geometry.pool_sizes[i])
            return unexpected(errc::region_geometry_mismatch);
    }

    region r;
    r.base_ = base;
    r.size_ = memory.size();
    r.doorbells_ = at_offset<wire::doorbell>(base, l->doorbell_offset);
    r.doorbell_count_ = geometry.doorbells;
    r.rings_.reserve(geometry.ring_capacities.size());
    for (std::size_t i = 0; i < geometry.ring_capacities.size(); ++i) {
        const std::uint64_t c = l->control_offsets[i];
        r.rings_.push_back({
            .control = at_offset<wire::ring_control>(base, c),
            .data = at_offset<shared_u64>(base, c + sizeof(wire::ring_control)),
            .capacity = geometry.ring_capacities[i],
        });
    }
    r.pools_.reserve(geometry.pool_sizes.size());
    for (std::size_t i = 0; i < geometry.pool_sizes.size(); ++i)
        r.pools_.push_back({.data = at_offset<shared_u64>(base, l->pool_offsets[i]),
                            .size = geometry.pool_sizes[i]});
    return r;
}

ring_view region::ring(std::size_t i) const noexcept {
    AIRLOCK_CHECK(i < rings_.size(), "ring index out of range");
    return rings_[i];
}

wire::doorbell& region::doorbell(std::size_t i) const noexcept {
    AIRLOCK_CHECK(i < doorbell_count_, "doorbell index out of range");
    return doorbells_[i];
}

pool_view region::pool(std::size_t i) const noexcept {
    AIRLOCK_CHECK(i < pools_.size(), "pool index out of range");
    return pools_[i];
}

}  // namespace airlock::ring
