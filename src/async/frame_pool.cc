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
// Retired pools with live frames stay reachable from here, on purpose: they
// are a deliberate, counted leak, not a lost one (leak checkers agree).
std::atomic<frame_pool*> orphaned_pool_list{nullptr};

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
    // Frames outlive their executor (a bug in the program, see
    // docs/coroutine-traps.md). Keep the pool so their frees stay safe: they
    // will arrive on its remote list, which nobody reclaims any more.
    orphaned_pool_count.fetch_add(1, std::memory_order_relaxed);
    pool->next_orphan_ = orphaned_pool_list.load(std::memory_order_relaxed);
    while (!orphaned_pool_list.compare_exchange_weak(pool->next_orphan_, pool,
                                                     std::memory_order_relaxed)) {
    }
}

void* frame_pool::allocate_global(std::size_t size) {
    return allocate_unpooled(size);
}

void* frame_pool::allocate_oversize(std::size_t size) {
    ++stats_.oversize_allocations;
    return allocate_unpooled(size);
}

void frame_pool::push_remote(detail::frame_header* block) noexcept {
    auto* head = remote_.load(std::memory_order_relaxed);
    do {
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

}  // namespace airlock::async
