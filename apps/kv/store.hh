// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/kv/store.hh: the item store of airlock-kv.
//
// `store` keeps items (key, client flags, expiry, CAS, value) in a hash table
// split into shards, each with its own spin lock, hash chains and LRU list.
// Memory is bounded: each shard owns an equal part of the `-m` budget and
// evicts from its LRU tail to make room; an item larger than the `-I` limit
// is refused. Expiry follows memcached: 0 never expires, up to 30 days is
// relative to `now`, larger is an absolute Unix time, negative is already
// expired. Time is always passed in (`now`, Unix seconds), and locks spin
// instead of sleeping, so the store makes no system call and runs inside an
// enclave.
//
// Thread contract: every member may be called from any thread at once; a
// shard's lock is held only inside one call, never across calls.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace airlock::suvm {
class space;
}

namespace airlock::kv {

inline constexpr std::int64_t max_relative_expiry = 60 * 60 * 24 * 30;  // memcached's 30 days

// With a value space, values are kept in chunks of this many bytes: every
// chunk has one size, so a freed chunk serves any later value, and the space
// never fragments (its allocator reuses a range only for its own size).
inline constexpr std::size_t value_chunk = 256;

// `item` is one stored key and value. `data` holds the key, then the value
// followed by "\r\n" (as memcached stores it, so a reply copies it whole).
// With a value space (store_config::values) a linked item's `data` holds the
// key, then the space addresses (8 bytes each, unaligned) of the chunks
// that hold its value with "\r\n" (data_length bytes, in order); a pending
// item (being received) keeps the value in `data` until store::put moves it.
struct item {
    item* hash_next;
    item* lru_prev;
    item* lru_next;
    std::uint64_t cas;
    std::int64_t expires;   // absolute Unix seconds; 0 = never
    std::int64_t stored;    // when it was stored (delayed flush_all compares it)
    std::int64_t accessed;  // last access (mg `l`, `h`)
    std::uint64_t hash;
    std::uint32_t flags;
    std::uint32_t key_length;
    std::uint32_t data_length;  // value length + 2
    bool fetched;
    bool in_space;  // the value is in the value space's chunks

    [[nodiscard]] std::string_view key() const noexcept { return {data(), key_length}; }
    // The value with its trailing "\r\n" (only while !in_space).
    [[nodiscard]] std::string_view value_crlf() const noexcept {
        return {data() + key_length, data_length};
    }
    [[nodiscard]] std::string_view value() const noexcept {
        return {data() + key_length, data_length - 2};
    }
    [[nodiscard]] char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
    [[nodiscard]] const char* data() const noexcept {
        return reinterpret_cast<const char*>(this + 1);
    }
    [[nodiscard]] char* value_data() noexcept { return data() + key_length; }
    // Chunks of the value space the value takes (or will take).
    [[nodiscard]] std::size_t chunks() const noexcept {
        return (data_length + value_chunk - 1) / value_chunk;
    }
    // Chunk i's address (in_space only).
    [[nodiscard]] std::uint64_t chunk_at(std::size_t i) const noexcept {
        std::uint64_t a;
        std::memcpy(&a, data() + key_length + i * 8, 8);
        return a;
    }
    // What the item counts against -m: with a value space, the value's bytes there.
    [[nodiscard]] std::size_t footprint() const noexcept {
        if (in_space) return chunks() * value_chunk;
        return sizeof(item) + key_length + data_length;
    }
};

struct item_deleter {
    void operator()(item* it) const noexcept;
};
// An item not (or no longer) in the store, owned by its holder.
using item_ptr = std::unique_ptr<item, item_deleter>;

enum class store_mode { set, add, replace, append, prepend, cas };
// `fault`: the value space failed (suvm_fault_integrity: the host changed
// its backing store); the request fails, never with host-chosen data.
enum class store_result { stored, not_stored, exists, not_found, too_large, no_memory, fault };
enum class delta_result { ok, not_found, non_numeric, exists, no_memory, fault };

struct store_config {
    std::size_t memory_limit = 64u << 20;  // -m
    std::size_t item_size_max = 1u << 20;  // -I
    std::size_t shards = 0;                // 0: chosen from the limits (see choose_shards)
    // Where linked items keep their values: null, in enclave memory with the
    // item; else in this suvm space (not owned; it outlives the store, and
    // -m then bounds the value bytes in it, see value_space_size).
    suvm::space* values = nullptr;
};

// Counters the store keeps itself (the rest live with the connections).
struct store_counters {
    std::uint64_t curr_items = 0;
    std::uint64_t total_items = 0;
    std::uint64_t bytes = 0;
    std::uint64_t evictions = 0;
    std::uint64_t reclaimed = 0;  // expired items freed to make room or on access
    std::uint64_t expired_unfetched = 0;
    std::uint64_t evicted_unfetched = 0;
};

// What a lookup found: `hit`, or why not.
enum class lookup { hit, miss, expired, flushed };

class store {
  public:
    explicit store(const store_config& cfg);
    ~store();
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    [[nodiscard]] const store_config& config() const noexcept { return cfg_; }
    [[nodiscard]] std::size_t shard_count() const noexcept { return nshards_; }

    // memcached's size rule: a key of `key_length`, flags and a value of
    // `value_length` bytes fit under -I. Pure.
    [[nodiscard]] bool item_size_ok(std::size_t key_length, std::uint32_t flags,
                                    std::size_t value_length) const noexcept;

    // A fresh unlinked item with room for the value (+"\r\n"); null if too
    // large (`item_size_ok`) or out of memory. `expires` is absolute.
    [[nodiscard]] item_ptr allocate(std::string_view key, std::uint32_t flags, std::int64_t expires,
                                    std::size_t value_length) const;

    // Links `it` (its value filled in) under `mode`. For cas, `compare` is
    // the client's CAS. On success `it` is consumed and `*cas_out` is the new CAS.
    store_result put(store_mode mode, item_ptr& it, std::uint64_t compare, std::int64_t now,
                     std::uint64_t* cas_out = nullptr);

    // Calls `f(const item&)` with the live item under its shard's lock
    // (f must not call back into the store). `touch_expires`, when set,
    // replaces the expiry first (gat, touch). `bump` false leaves the LRU
    // position, fetched flag and access time alone (me). Returns what it found.
    template <class F>
    lookup get(std::string_view key, std::int64_t now, F&& f,
               const std::int64_t* touch_expires = nullptr, bool bump = true);

    // Appends `it`'s value with its "\r\n" to `out` (the callback of `get`
    // may call it: it touches only the item and the value space). False,
    // `out` unchanged, when the value space failed.
    [[nodiscard]] bool append_value(const item& it, std::string& out) const;

    // The suvm space size for a value space under `cfg`: -m, plus two
    // largest items (an append or incr holds the old value while it makes
    // the new one), in whole chunks.
    [[nodiscard]] static std::uint64_t value_space_size(const store_config& cfg) noexcept;

    // delete; `compare` != 0 requires that CAS (md C).
    store_result remove(std::string_view key, std::int64_t now, std::uint64_t compare = 0);

    // incr/decr as memcached: a decimal value changed in place (padded with
    // spaces when it gets shorter) or replaced; `out` gets the new text.
    // memcached replaces instead of changing in place when the item is still
    // referenced by a reply not yet sent: `held` lists the CAS values of the
    // items the caller's unsent replies hold.
    // `compare` != 0 requires that CAS. On a miss, when `create` is set, the
    // item is made with `initial` and `create_expires` (ma N/J).
    delta_result delta(std::string_view key, bool incr, std::uint64_t by, std::int64_t now,
                       char* out, std::size_t* out_len, std::uint64_t* cas_out = nullptr,
                       std::uint64_t compare = 0, bool create = false, std::uint64_t initial = 0,
                       std::int64_t create_expires = 0, std::uint32_t* flags_out = nullptr,
                       std::span<const std::uint64_t> held = {});

    // Removes every item now (delay <= 0) or makes every item stored before
    // `now + delay` invalid from then on.
    void flush(std::int64_t now, std::int64_t delay);

    [[nodiscard]] store_counters counters() const;

    // memcached's reading of an exptime field at time `now`.
    [[nodiscard]] static std::int64_t absolute_expiry(std::int64_t exptime,
                                                      std::int64_t now) noexcept;

    // The shard count used when the config leaves it at 0.
    [[nodiscard]] static std::size_t choose_shards(const store_config& cfg) noexcept;

    struct shard;

  private:
    // High bits pick the shard; low bits pick the bucket inside it.
    shard& shard_for(std::uint64_t hash) noexcept {
        return *shards_[(hash >> 40) & (nshards_ - 1)];
    }
    item* find_locked(shard& s, std::string_view key, std::uint64_t hash, std::int64_t now,
                      lookup* why);
    void unlink_locked(shard& s, item* it) noexcept;
    void link_locked(shard& s, item* it) noexcept;
    bool make_room_locked(shard& s, std::size_t need) noexcept;
    void bump_locked(shard& s, item* it) noexcept;
    void free_locked(item* it) noexcept;
    // Moves a pending item's value into the value space (a no-op without
    // one), evicting from `s` while the space has no room.
    store_result to_space_locked(shard& s, item_ptr& it);
    // Copies the value (with "\r\n") of `it` into `out` (resized); false
    // when the value space failed.
    bool copy_value(const item& it, std::string& out) const;
    // Reads (or writes) the value of an in-space item from (into) `buf`,
    // data_length bytes, a run of consecutive chunks per call.
    template <class F>
    bool for_each_run(const item& it, F&& f) const;
    bool read_chunks(const item& it, char* buf) const;
    bool write_chunks(const item& it, const char* buf) const;

    store_config cfg_;
    std::size_t nshards_;
    std::unique_ptr<std::unique_ptr<shard>[]> shards_;
    std::atomic<std::uint64_t> next_cas_{0};
    std::atomic<std::int64_t> flush_before_{0};  // items stored before this instant are gone

  public:
    [[nodiscard]] std::uint64_t next_cas() noexcept {
        return next_cas_.fetch_add(1, std::memory_order_relaxed) + 1;  // unique, no ordering needed
    }
    [[nodiscard]] static std::uint64_t hash_key(std::string_view key) noexcept;
};

}  // namespace airlock::kv

#include "store_inline.hh"
