// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/kv/store_inline.hh: the shard layout and the inline lookup of
// store.hh (included from there; not a header of its own).
//
// Thread contract: as store.hh. Memory ordering: a shard's spin lock is
// taken with acquire and released with release, which orders every access
// to the shard's items between the two.

#include <atomic>
#include <cstddef>
#include <utility>

namespace airlock::kv {

struct store::shard {
    // The lock sits on its own cache line so that shards do not share one.
    alignas(64) std::atomic<bool> locked{false};
    alignas(64) item** buckets = nullptr;
    std::size_t mask = 0;  // bucket count - 1 (a power of two)
    std::size_t count = 0;
    item* lru_head = nullptr;  // most recently used
    item* lru_tail = nullptr;  // evicted first
    std::size_t bytes = 0;
    std::size_t budget = 0;
    std::uint64_t total_items = 0;
    std::uint64_t evictions = 0;
    std::uint64_t reclaimed = 0;
    std::uint64_t expired_unfetched = 0;
    std::uint64_t evicted_unfetched = 0;
};

namespace detail {
// Holds a shard's lock for one scope.
class shard_guard {
  public:
    explicit shard_guard(std::atomic<bool>& l) noexcept : l_(l) {
        // acquire: the holder sees everything the previous holder wrote.
        while (l_.exchange(true, std::memory_order_acquire)) {
            while (l_.load(std::memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
                __builtin_ia32_pause();
#endif
            }
        }
    }
    ~shard_guard() {
        l_.store(false, std::memory_order_release);
    }  // release: publish our writes
    shard_guard(const shard_guard&) = delete;
    shard_guard& operator=(const shard_guard&) = delete;

  private:
    std::atomic<bool>& l_;
};
}  // namespace detail

template <class F>
lookup store::get(std::string_view key, std::int64_t now, F&& f, const std::int64_t* touch_expires,
                  bool bump) {
    const std::uint64_t h = hash_key(key);
    shard& s = shard_for(h);
    detail::shard_guard g(s.locked);
    lookup why = lookup::miss;
    item* it = find_locked(s, key, h, now, &why);
    if (it == nullptr) return why;
    if (touch_expires != nullptr) it->expires = *touch_expires;
    if (bump) bump_locked(s, it);
    std::forward<F>(f)(static_cast<const item&>(*it));
    if (bump) {
        it->fetched = true;
        it->accessed = now;
    }
    return lookup::hit;
}

}  // namespace airlock::kv
