// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/ring/buffer_pool.hh: bulk buffers in the shared region for large
// messages.
//
// A region may hold buffer pools after its rings (ring/layout.hh,
// region_geometry::pool_sizes). One pool serves one direction of a channel:
// its sender alone allocates from it, writes a message there once (no
// fragments), and sends only (offset, length) through its ring; the
// receiver copies the bytes out once (the enclave) or reads them in place
// (the host, which trusts the enclave's memory no less than its own), then
// returns the buffer by a message on its own ring. The rpc layer carries
// both messages (rpc/protocol.hh, pooled_tag and pool_return_tag).
//
// Ownership: which buffers are taken is the sender's private record
// (`pool_allocator`); nothing about it lives in shared memory, so a hostile
// receiver cannot forge it. A return is accepted only if it names exactly a
// buffer that is outstanding: a double, forged, partial or overlapping
// return is refused (the caller faults the channel, errc::fault_pool_return).
// A receiver that never returns buffers starves only the sends that would
// use them: `try_allocate` finds no room and the sender streams through the
// ring instead. The receiver checks each (offset, length) it is given with
// `pool_range_ok` against its own trusted pool size before reading a byte.
//
// Thread contract: a pool_allocator belongs to the sending endpoint's
// thread. Memory ordering: none here; the bytes of a buffer are written
// before the release store of the ring tail that publishes its (offset,
// length), and read after the acquire load that sees it; a return travels
// the other ring the same way.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "airlock/ring/layout.hh"
#include "airlock/ring/region.hh"

namespace airlock::ring {

// True if [offset, offset + length) lies within a pool of `pool_size` bytes
// and starts on a word: checked in unsigned 64-bit arithmetic that cannot
// overflow (HOSTILE-INPUTS #5, #8).
[[nodiscard]] constexpr bool pool_range_ok(std::uint64_t pool_size, std::uint64_t offset,
                                           std::uint64_t length) noexcept {
    return offset % 8 == 0 && offset <= pool_size && length <= pool_size - offset;
}

// `pool_allocator` hands out buffers of one pool to its sender, first fit
// from where the last one ended, in whole granules, and takes them back when
// the receiver returns them. Never blocks, never allocates after setup.
// Why next fit rather than the lowest free buffer: a buffer the receiver has
// just read sits in the receiver's cache, and writing it again at once makes
// every line come back across the cores; walking the pool writes lines that
// have long left the peer's cache. One call of 64 KiB in flight made 1.8x
// the calls per second this way (airlock-bench calls, docs/benchmarks.md).
class pool_allocator {
  public:
    struct buffer {
        std::uint64_t offset = 0;  // bytes from the pool's start, a multiple of pool_granule
        std::uint64_t length = 0;  // bytes asked for
    };

    pool_allocator() = default;
    // Setup: allocates the private bookkeeping (a bit and a word per granule).
    explicit pool_allocator(pool_view pool);

    // A buffer of `length` bytes (1 or more), or nullopt when no run of free
    // granules is long enough now (the receiver still holds them) or the
    // pool is smaller than `length`.
    [[nodiscard]] std::optional<buffer> try_allocate(std::uint64_t length) noexcept;
    // Takes back the buffer the receiver names. True if (offset, length) is
    // exactly an outstanding buffer; false, changing nothing, for anything
    // else: out of range, not where a buffer starts, another length, or
    // already returned.
    [[nodiscard]] bool release(std::uint64_t offset, std::uint64_t length) noexcept;

    // The pool's words, for writing a buffer through the shared accessor.
    [[nodiscard]] shared_u64* words_at(std::uint64_t offset) const noexcept {
        return pool_.data + offset / 8;
    }
    [[nodiscard]] bool enabled() const noexcept { return pool_.size != 0; }
    [[nodiscard]] std::uint64_t size() const noexcept { return pool_.size; }
    // Buffers handed out and not yet returned.
    [[nodiscard]] std::size_t outstanding() const noexcept { return outstanding_; }

  private:
    [[nodiscard]] bool taken(std::size_t g) const noexcept {
        return (taken_[g / 64] >> (g % 64) & 1) != 0;
    }
    void mark(std::size_t first, std::size_t count, bool value) noexcept;

    pool_view pool_{};
    std::size_t granules_ = 0;
    std::vector<std::uint64_t> taken_;  // a bit per granule: part of an outstanding buffer
    std::vector<std::uint64_t>
        length_;             // per granule: the length of the buffer starting there, or 0
    std::size_t rover_ = 0;  // where the next search starts
    std::size_t outstanding_ = 0;
};

}  // namespace airlock::ring
