// SPDX-License-Identifier: Apache-2.0
// The slow paths of the frame pool: growing a size class, reclaiming frames
// freed on other threads, oversize and global frames, and retirement.
#include "airlock/async/frame_pool.hh"

#include <algorithm>

#include "airlock/base/check.hh"

namespace airlock::async {

namespace {

// Statistics only: relaxed, nothing is ordered by them.
std::atomic<std::uint64_t> global_fallback_count{0};
std::atomic<std::uint64_t> orphaned_pool_count{0};
std::atomic<std::uint64_t> orphaned_pools_alive_count{0};

// The remote list of a retired pool: frees no longer queue there, they
// count down the blocks still out, and the last one frees the pool.
detail::frame_header* const closed_list =
    reinterpret_cast<detail::frame_header*>(std::uintptr_t{alignof(detail::frame_header)});

// Chunks are 16 KiB of blocks (at least 4 blocks) behind a 64-byte prefix
// that links the chunks of a pool together and keeps blocks 64-byte aligned.
constexpr std::size_t chunk_prefix = 64;
constexpr std::size_t chunk_payload = 16 * 1024;

struct chunk {
    chunk* next;
};
static_assert(sizeof(chunk) <= chunk_prefix);

void* allocate_unpooled(std::size_t size) {
    auto* block =
        static_cast<detail::frame_header*>(::operator new(size + sizeof(detail::frame_header)));
    block->link = nullptr;  // freed with global delete
    block->size_class = detail::frame_global_class;
    global_fallback_count.fetch_add(1, std::memory_order_relaxed);
    return block + 1;
}

}  // namespace

frame_pool* frame_pool::create() {
    return new frame_pool();
}

frame_pool::~frame_pool() {
    for (auto* c = static_cast<chunk*>(chunks_); c != nullptr;) {
        chunk* next = c->next;
        ::operator delete(c);
        c = next;
    }
}

void frame_pool::retire(frame_pool* pool) noexcept {
    if (pool == nullptr) return;
    pool->reclaim_remote();
    if (pool->stats_.live_frames == 0) {
        // No frame is alive, so no other thread can be freeing one now.
        delete pool;
        return;
    }
    // Blocks outlive their executor: frames the program kept (a bug, see
    // docs/coroutine-traps.md), or the shared state of a cancellation
    // source still held. Keep the pool until the last of them is freed, on
    // whatever thread. Close the remote list (frees from now on count down
    // orphan_live_ instead), take what was queued before, then add the
    // blocks still out: frees that came in between made the count negative,
    // so whoever brings it to zero, here or in a free, deletes the pool.
    orphaned_pool_count.fetch_add(1, std::memory_order_relaxed);
    orphaned_pools_alive_count.fetch_add(1, std::memory_order_relaxed);
    // acquire: the queued frees' writes happen before their blocks are reused.
    auto* block = pool->remote_.exchange(closed_list, std::memory_order_acq_rel);
    while (block != nullptr) {
        auto* next = static_cast<detail::frame_header*>(block->link);
        --pool->stats_.live_frames;
        block = next;
    }
    const auto out = static_cast<std::int64_t>(pool->stats_.live_frames);
    if (out == 0 || pool->orphan_live_.fetch_add(out, std::memory_order_acq_rel) + out == 0)
        free_orphan(pool);
}

void* frame_pool::allocate_global(std::size_t size) {
    return allocate_unpooled(size);
}

void* frame_pool::allocate_oversize(std::size_t size) {
    ++stats_.oversize_allocations;
    return allocate_unpooled(size);
}

void frame_pool::push_remote(detail::frame_header* block) noexcept {
    auto* head = remote_.load(std::memory_order_acquire);
    do {
        if (head == closed_list) {  // retired: count down, the last block frees the pool
            // acq_rel: every free happens before the pool's deletion.
            if (orphan_live_.fetch_sub(1, std::memory_order_acq_rel) == 1) free_orphan(this);
            return;
        }
        block->link = head;
        // release: the frame's destruction on this thread happens-before
        // the owner reuses the block (it takes the list with acquire).
    } while (!remote_.compare_exchange_weak(head, block, std::memory_order_release,
                                            std::memory_order_relaxed));
}

void frame_pool::reclaim_remote() noexcept {
    // Cheap test first: the list is almost always empty.
    if (remote_.load(std::memory_order_relaxed) == nullptr) return;
    // acquire: pairs with the release CAS of every push in the list. Taking
    // the whole list at once means no ABA: pushers never pop.
    auto* block = remote_.exchange(nullptr, std::memory_order_acquire);
    while (block != nullptr) {
        auto* next = static_cast<detail::frame_header*>(block->link);
        AIRLOCK_CHECK(block->size_class < detail::frame_class_count, "remote frame of no class");
        block->link = free_[block->size_class];
        free_[block->size_class] = block;
        --stats_.live_frames;
        ++stats_.remote_frees;
        block = next;
    }
}

detail::frame_header* frame_pool::refill(std::uint32_t size_class) {
    reclaim_remote();
    if (free_[size_class] != nullptr) return free_[size_class];

    const std::size_t block_size = detail::frame_min_block << size_class;
    const std::size_t count = std::max<std::size_t>(4, chunk_payload / block_size);
    auto* c = static_cast<chunk*>(::operator new(chunk_prefix + count * block_size));
    c->next = static_cast<chunk*>(chunks_);
    chunks_ = c;
    ++stats_.chunk_allocations;

    auto* base = reinterpret_cast<std::byte*>(c) + chunk_prefix;
    detail::frame_header* head = nullptr;
    for (std::size_t i = count; i-- > 0;) {
        auto* block = reinterpret_cast<detail::frame_header*>(base + i * block_size);
        block->link = head;
        block->size_class = size_class;
        block->reserved = 0;
        detail::poison_block(block);
        head = block;
    }
    free_[size_class] = head;
    return head;
}

std::uint64_t frame_pool::global_fallbacks() noexcept {
    return global_fallback_count.load(std::memory_order_relaxed);
}

std::uint64_t frame_pool::orphaned_pools() noexcept {
    return orphaned_pool_count.load(std::memory_order_relaxed);
}

std::uint64_t frame_pool::orphaned_pools_alive() noexcept {
    return orphaned_pools_alive_count.load(std::memory_order_relaxed);
}

void frame_pool::free_orphan(frame_pool* pool) noexcept {
    orphaned_pools_alive_count.fetch_sub(1, std::memory_order_relaxed);
    delete pool;
}

}  // namespace airlock::async
