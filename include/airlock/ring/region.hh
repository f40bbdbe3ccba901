// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/ring/region.hh: laying out and attaching the shared region.
//
// The host allocates untrusted memory and `region::format`s it from a
// `region_geometry` (how many rings of which capacity, how many doorbells).
// The other party (the enclave) `region::attach`es with (memory, geometry)
// taken from its own trusted configuration: it validates the header once
// against that geometry, then keeps private copies of every base, offset and
// capacity, and never reads the header again (HOSTILE-INPUTS #4). Offsets
// are computed from the trusted geometry, never taken from the region.
//
// Thread contract: format and attach are setup calls, made once, on one
// thread, before the rings are used. A `region` is then immutable and may be
// read from any thread of its side.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "airlock/base/expected.hh"
#include "airlock/ring/layout.hh"

namespace airlock::ring {

// The shape of a region, from trusted configuration.
struct region_geometry {
    // Data bytes of each ring; each a power of two in
    // [wire::min_ring_capacity, wire::max_ring_capacity].
    std::vector<std::size_t> ring_capacities;
    // Stand-alone doorbells (e.g. one per consumer that polls many rings).
    std::size_t doorbells = 0;
    // Bytes of each buffer pool (ring/buffer_pool.hh), laid out after the
    // rings; each a non-zero multiple of wire::pool_granule, at most
    // wire::max_pool_size. Empty: no pools.
    std::vector<std::size_t> pool_sizes = {};
};

// Limits that keep every layout computation far from overflow.
inline constexpr std::size_t max_rings = 4096;
inline constexpr std::size_t max_doorbells = 4096;
inline constexpr std::size_t max_pools = 4096;

// An address range of trusted memory that a region must not touch.
struct address_range {
    std::uintptr_t begin = 0;
    std::size_t size = 0;
};

struct attach_options {
    // The enclave's own memory; attach fails with region_overlaps_enclave if
    // the region intersects it. Empty: no such check (host side, tests).
    address_range trusted_memory{};
};

// `ring_view` is a party's private, validated description of one ring:
// where its control block and data are, and its capacity. Copies are cheap.
struct ring_view {
    wire::ring_control* control = nullptr;
    shared_u64* data = nullptr;
    std::uint64_t capacity = 0;  // bytes, a power of two
};

// `pool_view` is a party's private, validated description of one buffer
// pool: where its bytes are and how many. Copies are cheap.
struct pool_view {
    shared_u64* data = nullptr;
    std::uint64_t size = 0;  // bytes, a multiple of wire::pool_granule; 0: no pool
};

// `region` is an attached (or formatted) region: a private copy of its layout.
class region {
  public:
    region() = default;

    // Bytes a region of this geometry needs (a multiple of 4096), or
    // invalid_argument for a geometry outside the limits.
    [[nodiscard]] static expected<std::size_t> required_size(const region_geometry& geometry);

    // Host side: lays out `memory` (zeroing it) and writes the header.
    // `memory` must be region_alignment-aligned and at least required_size.
    [[nodiscard]] static expected<region> format(std::span<std::byte> memory,
                                                 const region_geometry& geometry);

    // Peer side: validates a region laid out by someone else against the
    // trusted `geometry`. Reads the header once; keeps nothing from it.
    [[nodiscard]] static expected<region> attach(std::span<std::byte> memory,
                                                 const region_geometry& geometry,
                                                 const attach_options& options = {});

    [[nodiscard]] std::size_t ring_count() const noexcept { return rings_.size(); }
    [[nodiscard]] std::size_t doorbell_count() const noexcept { return doorbell_count_; }
    [[nodiscard]] std::size_t pool_count() const noexcept { return pools_.size(); }
    // Precondition: i < ring_count().
    [[nodiscard]] ring_view ring(std::size_t i) const noexcept;
    // Precondition: i < doorbell_count().
    [[nodiscard]] wire::doorbell& doorbell(std::size_t i) const noexcept;
    // Precondition: i < pool_count().
    [[nodiscard]] pool_view pool(std::size_t i) const noexcept;
    [[nodiscard]] std::byte* base() const noexcept { return base_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

  private:
    std::byte* base_ = nullptr;
    std::size_t size_ = 0;
    std::vector<ring_view> rings_;
    std::vector<pool_view> pools_;
    wire::doorbell* doorbells_ = nullptr;
    std::size_t doorbell_count_ = 0;
};

}  // namespace airlock::ring
