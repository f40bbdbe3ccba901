// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/frame_pool.hh: where coroutine frames come from.
//
// Defines `frame_pool` (size-classed free lists of frame blocks, one pool per
// executor), `frame_pool_stats`, and `detail::pooled_frame`, the base whose
// `operator new`/`delete` every Airlock promise type inherits. A frame is
// allocated from the pool of the executor current on the calling thread; with
// no executor, or for a frame above the largest size class, it comes from the
// global `operator new` and is counted (`frame_pool::global_fallbacks()`).
// At steady state a coroutine call allocates nothing.
//
// Thread contract: `allocate` runs only on the pool's owner thread (the
// thread of its executor). A frame may be freed on *any* thread: a free on a
// foreign thread goes to the owner's lock-free remote-free list, which the
// owner reclaims when a size class runs dry. An executor destroyed while
// blocks of its pool are still out keeps the pool until the last of them is
// freed, on any thread (`frame_pool::orphaned_pools()` counts those pools).
// Memory ordering: remote frees are pushed with a release CAS and taken by
// the owner with one acquire exchange, which orders a frame's destruction on
// the freeing thread before its reuse on the owner.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <new>

// Under AddressSanitizer a free block is poisoned (all but its header), so
// a use of a destroyed frame is reported as it would be for global delete.
#include "airlock/base/sanitizers.hh"
#if AIRLOCK_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace airlock::async {

class frame_pool;

namespace detail {

// Every block starts with this 16-byte header; the frame follows it, so the
// frame keeps the 16-byte alignment of `operator new`. `link` names the
// owning pool while the frame lives (null: from global `operator new`) and
// the next free block while it sits on a free list.
struct frame_header {
    void* link;
    std::uint32_t size_class;
    std::uint32_t reserved;
};
static_assert(sizeof(frame_header) == 16);

inline constexpr std::size_t frame_class_count = 7;  // blocks of 64 B .. 4 KiB
inline constexpr std::size_t frame_min_block = 64;
inline constexpr std::size_t frame_max_block = frame_min_block << (frame_class_count - 1);
inline constexpr std::uint32_t frame_global_class = 0xffffffffu;  // not from a pool

// Size class of a block of `bytes` (header included), bytes <= frame_max_block.
[[nodiscard]] constexpr std::uint32_t frame_size_class(std::size_t bytes) noexcept {
    return bytes <= frame_min_block
               ? 0u
               : static_cast<std::uint32_t>(std::bit_width(bytes - 1) - 6);  // 2^6 == 64
}
static_assert(frame_size_class(64) == 0 && frame_size_class(65) == 1 &&
              frame_size_class(4096) == frame_class_count - 1);

// The usable bytes of a pooled block (after its header).
[[nodiscard]] constexpr std::size_t frame_block_payload(std::uint32_t size_class) noexcept {
    return (frame_min_block << size_class) - sizeof(frame_header);
}

// A free block's payload is off limits to everyone (no-ops without ASan).
inline void poison_block([[maybe_unused]] frame_header* block) noexcept {
#if AIRLOCK_ASAN
    ASAN_POISON_MEMORY_REGION(block + 1, frame_block_payload(block->size_class));
#endif
}
inline void unpoison_block([[maybe_unused]] frame_header* block) noexcept {
#if AIRLOCK_ASAN
    ASAN_UNPOISON_MEMORY_REGION(block + 1, frame_block_payload(block->size_class));
#endif
}

// The pool of the executor current on this thread, or null. Set by the
// executor's constructor, restored by its destructor (executors nest).
inline thread_local constinit frame_pool* tls_frame_pool = nullptr;

}  // namespace detail

// What a pool has done; read on the owner thread.
struct frame_pool_stats {
    std::uint64_t allocations = 0;           // frames served from the free lists
    std::uint64_t chunk_allocations = 0;     // global `operator new` calls to grow the pool
    std::uint64_t oversize_allocations = 0;  // frames above 4 KiB, served by global new
    std::uint64_t remote_frees = 0;          // frames freed on another thread, reclaimed
    std::uint64_t live_frames = 0;           // allocated and not yet reclaimed
};

// `frame_pool` hands out coroutine frames from per-size-class free lists;
// blocks come from 16 KiB chunks that are kept until the pool dies. The fast
// path (a class with a free block) is a pop from a singly linked list: no
// lock, no atomic, no system call. Owner thread only, except `deallocate`.
class frame_pool {
  public:
    frame_pool() noexcept = default;
    frame_pool(const frame_pool&) = delete;
    frame_pool& operator=(const frame_pool&) = delete;

    // A new pool, owned by the caller until `retire`.
    [[nodiscard]] static frame_pool* create();
    // Ends the owner's use of `pool`: reclaims remote frees, then frees the
    // pool and its chunks when no frame is live, or else (counted) when the
    // last live one is freed, so that those later frees stay safe.
    static void retire(frame_pool* pool) noexcept;

    // A frame of `size` bytes, 16-byte aligned. Owner thread only. Throws
    // std::bad_alloc only when a chunk cannot be allocated (slow path).
    [[nodiscard]] void* allocate(std::size_t size) {
        const std::size_t bytes = size + sizeof(detail::frame_header);
        if (bytes > detail::frame_max_block) [[unlikely]]
            return allocate_oversize(size);
        const std::uint32_t c = detail::frame_size_class(bytes);
        detail::frame_header* block = free_[c];
        if (block == nullptr) [[unlikely]]
            block = refill(c);
        free_[c] = static_cast<detail::frame_header*>(block->link);
        block->link = this;
        detail::unpoison_block(block);
        ++stats_.allocations;
        ++stats_.live_frames;
        return block + 1;
    }

    // Frees a frame from any pool, or from global new, on any thread.
    static void deallocate(void* frame) noexcept {
        auto* block = static_cast<detail::frame_header*>(frame) - 1;
        auto* owner = static_cast<frame_pool*>(block->link);
        if (owner == nullptr) [[unlikely]] {
            ::operator delete(block);
            return;
        }
        detail::poison_block(block);
        if (owner == detail::tls_frame_pool) [[likely]] {
            block->link = owner->free_[block->size_class];
            owner->free_[block->size_class] = block;
            --owner->stats_.live_frames;
            return;
        }
        owner->push_remote(block);
    }

    // A frame from global `operator new` (no executor on this thread). Counted.
    [[nodiscard]] static void* allocate_global(std::size_t size);

    // Owner thread: moves the frames other threads freed back to the free
    // lists (done anyway when a size class runs dry).
    void reclaim_remote() noexcept;

    [[nodiscard]] const frame_pool_stats& stats() const noexcept { return stats_; }
    // Frames of any thread served by global new: no pool current, or oversize.
    [[nodiscard]] static std::uint64_t global_fallbacks() noexcept;
    // Pools retired while some of their blocks were still out.
    [[nodiscard]] static std::uint64_t orphaned_pools() noexcept;
    // Of those, the ones still waiting for a block to come back.
    [[nodiscard]] static std::uint64_t orphaned_pools_alive() noexcept;

  private:
    ~frame_pool();
    [[gnu::cold]] void* allocate_oversize(std::size_t size);
    [[gnu::cold]] detail::frame_header* refill(std::uint32_t size_class);
    void push_remote(detail::frame_header* block) noexcept;
    // Frees a retired pool whose last block came back.
    static void free_orphan(frame_pool* pool) noexcept;

    detail::frame_header* free_[detail::frame_class_count] = {};
    frame_pool_stats stats_{};
    void* chunks_ = nullptr;  // singly linked list of chunks, freed by the destructor
    // Retired with blocks still out: how many remain (frame_pool::retire).
    std::atomic<std::int64_t> orphan_live_{0};
    // Written by foreign threads: on its own cache line, away from the owner's lists.
    alignas(64) std::atomic<detail::frame_header*> remote_{nullptr};
};

namespace detail {

// Every frame is allocated here: from the current thread's pool, else global new.
[[nodiscard]] inline void* allocate_frame(std::size_t size) {
    if (frame_pool* pool = tls_frame_pool; pool != nullptr) [[likely]]
        return pool->allocate(size);
    return frame_pool::allocate_global(size);
}

// `pooled_frame` is the base of every Airlock promise type: its coroutine
// frames come from `allocate_frame` and return through `deallocate`.
struct pooled_frame {
    [[nodiscard]] static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* frame) noexcept { frame_pool::deallocate(frame); }
};

}  // namespace detail
}  // namespace airlock::async
