// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/ring/layout.hh: the wire format of the shared region, as types.
//
// Defines every structure that lives in untrusted shared memory (region
// header, ring descriptors, doorbells, ring control blocks) and the 8-byte
// record header word, with `static_assert`s on size, alignment and offsets so
// the layout is a compile-time fact. docs/wire-format.md is the same
// specification in prose. Everything is addressed by offsets from the region
// base, never by pointers, so the region maps at any address in either party.
// All fields are 8-byte `shared_u64` words, little-endian, 8-byte aligned.
//
// Thread contract: types and constexpr functions only; any thread.

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "airlock/ring/shared_memory.hh"

namespace airlock::ring::wire {

// "AIRLOCK!" read as a little-endian 64-bit word.
inline constexpr std::uint64_t region_magic = 0x214B434F4C524941ull;
// 2: a message header may describe a run of messages (bits 56..63).
// 3: buffer pools after the rings (header word 7, `pool_count`).
inline constexpr std::uint64_t region_version = 3;

// Each hot word gets 128 bytes: its own 64-byte line plus the neighbour that
// the adjacent-line prefetcher would otherwise drag along (false sharing).
inline constexpr std::size_t hot_word_stride = 128;
// The region base must be aligned to this (and so is every structure in it).
inline constexpr std::size_t region_alignment = 128;

// Ring capacities are powers of two in [min_ring_capacity, max_ring_capacity]
// bytes. The upper bound keeps every record length within the 32-bit length
// field; the lower bound leaves room for a useful record after padding.
inline constexpr std::size_t min_ring_capacity = 256;
inline constexpr std::size_t max_ring_capacity = std::size_t{1} << 31;

// At offset 0 of the region.
struct region_header {
    shared_u64 magic;              // region_magic
    shared_u64 version;            // region_version
    shared_u64 region_size;        // bytes the host laid out
    shared_u64 ring_count;         // number of ring_descriptors
    shared_u64 doorbell_count;     // number of doorbells
    shared_u64 ring_table_offset;  // offset of ring_descriptor[ring_count]
    shared_u64 doorbell_offset;    // offset of doorbell[doorbell_count]
    shared_u64 pool_count;         // number of pool_descriptors (0: no buffer pools)
};
static_assert(sizeof(region_header) == 64 && alignof(region_header) == 8);
static_assert(std::is_standard_layout_v<region_header>);
static_assert(offsetof(region_header, magic) == 0);
static_assert(offsetof(region_header, version) == 8);
static_assert(offsetof(region_header, region_size) == 16);
static_assert(offsetof(region_header, ring_count) == 24);
static_assert(offsetof(region_header, doorbell_count) == 32);
static_assert(offsetof(region_header, ring_table_offset) == 40);
static_assert(offsetof(region_header, doorbell_offset) == 48);
static_assert(offsetof(region_header, pool_count) == 56);

// One per ring, in the ring table.
struct ring_descriptor {
    shared_u64 control_offset;  // offset of this ring's ring_control
    shared_u64 capacity;        // data bytes, a power of two
    shared_u64 data_offset;     // offset of the data area (control_offset + sizeof(ring_control))
    shared_u64 reserved;        // zero
};
static_assert(sizeof(ring_descriptor) == 32 && alignof(ring_descriptor) == 8);
static_assert(std::is_standard_layout_v<ring_descriptor>);
static_assert(offsetof(ring_descriptor, capacity) == 8);
static_assert(offsetof(ring_descriptor, data_offset) == 16);

// Buffer pools (ring/buffer_pool.hh) follow the last ring: a table of
// pool_count descriptors at round_up(end of the last ring, 128), then each
// pool's bytes at the next multiple of pool_granule. A pool is bulk memory
// for large messages: its sender writes a message there once and sends
// only (offset, length) through the ring.
struct pool_descriptor {
    shared_u64 offset;     // offset of the pool's first byte, a multiple of pool_granule
    shared_u64 size;       // bytes, a multiple of pool_granule
    shared_u64 reserved0;  // zero
    shared_u64 reserved1;  // zero
};
static_assert(sizeof(pool_descriptor) == 32 && alignof(pool_descriptor) == 8);
static_assert(std::is_standard_layout_v<pool_descriptor>);
static_assert(offsetof(pool_descriptor, size) == 8);

// Pools are carved in granules: every buffer starts on one (so buffers never
// share a page or a cache line) and a pool is a whole number of them.
inline constexpr std::size_t pool_granule = 4096;
// The largest pool: keeps every offset and length computation far from
// overflow, and a pool's bookkeeping (a bit and a word per granule) small.
inline constexpr std::size_t max_pool_size = std::size_t{1} << 32;

// A word a thread parks on. Non-zero means "someone may be parked here: wake
// me"; the waker swaps it to zero and unparks (ring/wait.hh).
struct doorbell {
    alignas(hot_word_stride) shared_u64 word;
};
static_assert(sizeof(doorbell) == hot_word_stride);

// The control block in front of each ring's data area. Producer and consumer
// each write their own index; neither ever writes the other's.
struct ring_control {
    // Producer index: bytes ever published. Written by the producer only.
    alignas(hot_word_stride) shared_u64 tail;
    // Consumer index: bytes ever released. Written by the consumer only.
    alignas(hot_word_stride) shared_u64 head;
    // The consumer parks here when the ring is empty; the producer rings it.
    alignas(hot_word_stride) doorbell consumer_bell;
    // The producer parks here when the ring is full; the consumer rings it.
    alignas(hot_word_stride) doorbell producer_bell;
};
static_assert(sizeof(ring_control) == 4 * hot_word_stride);
static_assert(std::is_standard_layout_v<ring_control>);
static_assert(offsetof(ring_control, tail) == 0);
static_assert(offsetof(ring_control, head) == 128);
static_assert(offsetof(ring_control, consumer_bell) == 256);
static_assert(offsetof(ring_control, producer_bell) == 384);

// ---------------------------------------------------------------------------
// Records. Each record starts with one 8-byte header word, read with a single
// load and decoded from that private snapshot (no torn or re-read fields):
//
//   bits  0..31  length   payload bytes of each message that follows
//   bits 32..47  tag      a type tag for the layers above (opaque here)
//   bits 48..55  kind     record_kind below; anything else is a fault
//   bits 56..63  extra    kind message: count - 1, the record is a run of
//                         `count` messages of this length and tag, one after
//                         another (a run of more than one needs length >= 1);
//                         any other kind: zero, non-zero is a fault
//
// Each payload is padded with zeros to a multiple of 8, so every record and
// every message of a run starts 8-byte aligned.
//
// Why runs: an 8-byte message behind its own 8-byte header costs two words of
// ring, so half as many messages cross between cores per cache line. A
// producer that commits several messages of one length and tag before it
// publishes writes them as one run under one header, and small messages cost
// little more than their payload (docs/ring.md, "Runs").
enum class record_kind : std::uint8_t {
    message = 1,          // a whole message, or a run of them
    padding = 2,          // skip to the end of the ring (wrap point)
    fragment_first = 3,   // payload: total length (8 bytes), then data
    fragment_middle = 4,  // payload: data
    fragment_last = 5,    // payload: data; completes the message
    fragment_abort = 6,   // the producer gave up on the message in progress
};

struct record_header {
    std::uint32_t length = 0;
    std::uint16_t tag = 0;
    record_kind kind = record_kind::message;
    std::uint16_t count = 1;  // messages in the record: 1..max_run_count, 1 unless kind message
};

inline constexpr std::size_t record_header_bytes = 8;
// The most messages one run record carries (the 8-bit count - 1 field).
inline constexpr std::size_t max_run_count = 256;

[[nodiscard]] constexpr std::uint64_t encode(record_header h) noexcept {
    return std::uint64_t{h.length} | (std::uint64_t{h.tag} << 32) |
           (std::uint64_t{static_cast<std::uint8_t>(h.kind)} << 48) |
           (std::uint64_t{static_cast<std::uint8_t>(h.count - 1)} << 56);
}

// Decodes a header word snapshot. Returns false for an unknown kind, or a
// non-zero count field on a kind other than message or on a message of
// length 0 (a run of empty messages would occupy no bytes to step through);
// converts to the enum only after checking (HOSTILE-INPUTS #10).
[[nodiscard]] constexpr bool decode(std::uint64_t word, record_header& out) noexcept {
    const auto kind = static_cast<std::uint8_t>(word >> 48);
    const auto extra = static_cast<std::uint8_t>(word >> 56);
    if (kind < 1 || kind > 6) return false;
    if (extra != 0 && (kind != 1 || static_cast<std::uint32_t>(word) == 0)) return false;
    out.length = static_cast<std::uint32_t>(word);
    out.tag = static_cast<std::uint16_t>(word >> 32);
    out.kind = static_cast<record_kind>(kind);
    out.count = static_cast<std::uint16_t>(extra + 1);
    return true;
}

[[nodiscard]] constexpr std::uint64_t round_up8(std::uint64_t n) noexcept {
    return (n + 7) & ~7ull;
}

// Bytes a record with `length` payload bytes occupies in the ring.
[[nodiscard]] constexpr std::uint64_t record_bytes(std::uint64_t length) noexcept {
    return record_header_bytes + round_up8(length);
}

// Bytes a run of `count` messages of `length` bytes occupies in the ring.
[[nodiscard]] constexpr std::uint64_t run_bytes(std::uint64_t length,
                                                std::uint64_t count) noexcept {
    return record_header_bytes + count * round_up8(length);
}

// The largest payload one record may carry in a ring of `capacity` bytes:
// a record of at most half the ring always fits into an empty ring even
// after wrap padding, so a producer can always make progress.
[[nodiscard]] constexpr std::uint64_t max_record_payload(std::uint64_t capacity) noexcept {
    return capacity / 2 - record_header_bytes;
}

static_assert(encode({.length = 5, .tag = 7, .kind = record_kind::message}) ==
              0x0001'0007'0000'0005ull);
static_assert(encode({.length = 8, .tag = 7, .kind = record_kind::message, .count = 32}) ==
              0x1F01'0007'0000'0008ull);
static_assert(
    encode({.length = 1, .tag = 0, .kind = record_kind::message, .count = max_run_count}) >> 56 ==
    0xFF);

}  // namespace airlock::ring::wire
