// SPDX-License-Identifier: Apache-2.0
// The item store of airlock-kv (store.hh): sharded chained hash tables with
// an LRU list per shard. Slow paths (growing a table, evicting) run under
// the shard's lock; they allocate but never make a system call of their own.

#include "store.hh"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <new>

#include "airlock/suvm/space.hh"
#include "text.hh"

namespace airlock::kv {

void item_deleter::operator()(item* it) const noexcept {
    std::free(it);
}

namespace {
constexpr std::size_t initial_buckets = 1024;

void free_item(item* it) noexcept {
    std::free(it);
}
}  // namespace

void store::free_locked(item* it) noexcept {
    // A chunk not given back (no room to record it) is only lost for reuse.
    if (it->in_space)
        for (std::size_t i = 0; i < it->chunks(); ++i)
            (void)cfg_.values->deallocate(it->chunk_at(i), value_chunk);
    free_item(it);
}

std::uint64_t store::value_space_size(const store_config& cfg) noexcept {
    const std::uint64_t chunks_per_item = (cfg.item_size_max + 2) / value_chunk + 1;
    return std::uint64_t{cfg.memory_limit} + 2 * chunks_per_item * value_chunk;
}

// Calls `f(address, offset, length)` for each run of the item's chunks at
// consecutive addresses in the space (one read or write each); false as
// soon as `f` fails.
template <class F>
bool store::for_each_run(const item& it, F&& f) const {
    for (std::size_t i = 0, n = it.chunks(); i < n;) {
        std::size_t j = i + 1;
        while (j < n && it.chunk_at(j) == it.chunk_at(i) + (j - i) * value_chunk)
            ++j;
        const std::size_t from = i * value_chunk;
        const std::size_t len = std::min<std::size_t>(j * value_chunk, it.data_length) - from;
        if (!f(it.chunk_at(i), from, len)) return false;
        i = j;
    }
    return true;
}

bool store::read_chunks(const item& it, char* buf) const {
    return for_each_run(it, [&](std::uint64_t at, std::size_t from, std::size_t len) {
        return cfg_.values->read(at, std::as_writable_bytes(std::span(buf + from, len)))
            .has_value();
    });
}

bool store::write_chunks(const item& it, const char* buf) const {
    return for_each_run(it, [&](std::uint64_t at, std::size_t from, std::size_t len) {
        return cfg_.values->write(at, std::as_bytes(std::span(buf + from, len))).has_value();
    });
}

bool store::copy_value(const item& it, std::string& out) const {
    if (!it.in_space) {
        out.assign(it.value_crlf());
        return true;
    }
    out.resize(it.data_length);
    return read_chunks(it, out.data());
}

bool store::append_value(const item& it, std::string& out) const {
    if (!it.in_space) {
        out.append(it.value_crlf());
        return true;
    }
    const std::size_t at = out.size();
    out.resize(at + it.data_length);
    if (!read_chunks(it, out.data() + at)) {
        out.resize(at);
        return false;
    }
    return true;
}

store_result store::to_space_locked(shard& s, item_ptr& it) {
    if (cfg_.values == nullptr || it->in_space) return store_result::stored;
    const std::size_t n = it->chunks();
    std::unique_ptr<std::uint64_t[]> at(new (std::nothrow) std::uint64_t[n]);
    if (!at) return store_result::no_memory;
    auto give_back = [&](std::size_t taken) {
        for (std::size_t i = 0; i < taken; ++i)
            (void)cfg_.values->deallocate(at[i], value_chunk);
    };
    for (std::size_t i = 0; i < n; ++i) {
        expected<std::uint64_t> a = cfg_.values->allocate(value_chunk, value_chunk);
        // Every chunk is alike, so this only happens when live chunks fill
        // the space; evict from this shard and retry.
        while (!a && a.error() == errc::suvm_out_of_memory && s.lru_tail != nullptr) {
            item* victim = s.lru_tail;
            unlink_locked(s, victim);
            s.evictions++;
            if (!victim->fetched) s.evicted_unfetched++;
            free_locked(victim);
            a = cfg_.values->allocate(value_chunk, value_chunk);
        }
        if (!a) {
            give_back(i);
            return a.error() == errc::suvm_out_of_memory ? store_result::no_memory
                                                         : store_result::fault;
        }
        at[i] = *a;
    }
    // The value is copied out, its place in the item takes the chunks'
    // addresses, and the copy goes into the chunks.
    const std::size_t addresses = n * 8;
    if (addresses > it->data_length) {
        void* bigger = std::realloc(it.get(), sizeof(item) + it->key_length + addresses);
        if (bigger == nullptr) {
            give_back(n);
            return store_result::no_memory;
        }
        (void)it.release();
        it.reset(static_cast<item*>(bigger));
    }
    const std::string value(it->value_crlf());
    std::memcpy(it->value_data(), at.get(), addresses);
    it->in_space = true;
    if (!write_chunks(*it, value.data())) {
        // The caller keeps its pending item as it was.
        give_back(n);
        std::memcpy(it->value_data(), value.data(), value.size());
        it->in_space = false;
        return store_result::fault;
    }
    // Keep the key and addresses only; a failed shrink keeps the block.
    if (addresses < it->data_length)
        if (void* smaller = std::realloc(it.get(), sizeof(item) + it->key_length + addresses)) {
            (void)it.release();
            it.reset(static_cast<item*>(smaller));
        }
    return store_result::stored;
}

std::uint64_t store::hash_key(std::string_view key) noexcept {
    // 8 bytes at a time with a multiply-xorshift mix: short keys dominate.
    std::uint64_t h = 0x9e3779b97f4a7c15ull ^ (key.size() * 0xff51afd7ed558ccdull);
    std::size_t i = 0;
    for (; i + 8 <= key.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, key.data() + i, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    std::uint64_t w = 0;
    std::memcpy(&w, key.data() + i, key.size() - i);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h;
}

std::size_t store::choose_shards(const store_config& cfg) noexcept {
    // Each shard must hold several of the largest items, or eviction inside
    // one shard could not make room while others have plenty.
    const std::size_t per = cfg.item_size_max * 4 == 0 ? 1 : cfg.item_size_max * 4;
    std::size_t n = cfg.memory_limit / per;
    if (n < 1) n = 1;
    if (n > 64) n = 64;
    return std::bit_floor(n);
}

store::store(const store_config& cfg) : cfg_(cfg) {
    nshards_ = cfg.shards != 0 ? std::bit_floor(cfg.shards) : choose_shards(cfg);
    if (nshards_ > 256) nshards_ = 256;
    shards_ = std::make_unique<std::unique_ptr<shard>[]>(nshards_);
    for (std::size_t i = 0; i < nshards_; ++i) {
        shards_[i] = std::make_unique<shard>();
        shard& s = *shards_[i];
        s.buckets = static_cast<item**>(std::calloc(initial_buckets, sizeof(item*)));
        if (s.buckets == nullptr) throw std::bad_alloc();
        s.mask = initial_buckets - 1;
        s.budget = cfg_.memory_limit / nshards_;
    }
}

store::~store() {
    for (std::size_t i = 0; i < nshards_; ++i) {
        shard& s = *shards_[i];
        for (item* it = s.lru_head; it != nullptr;) {
            item* next = it->lru_next;
            free_item(it);
            it = next;
        }
        std::free(s.buckets);
    }
}

std::int64_t store::absolute_expiry(std::int64_t exptime, std::int64_t now) noexcept {
    if (exptime == 0) return 0;
    if (exptime < 0) return 1;  // memcached: already expired
    if (exptime > max_relative_expiry) return exptime <= 1 ? 1 : exptime;
    return now + exptime;
}

bool store::item_size_ok(std::size_t key_length, std::uint32_t flags,
                         std::size_t value_length) const noexcept {
    // memcached: header (48) + CAS (8) + key + NUL + flags (4 when non-zero)
    // + value + "\r\n" must fit in -I.
    const std::size_t total = 48 + 8 + key_length + 1 + (flags != 0 ? 4 : 0) + value_length + 2;
    return value_length <= cfg_.item_size_max && total <= cfg_.item_size_max;
}

item_ptr store::allocate(std::string_view key, std::uint32_t flags, std::int64_t expires,
                         std::size_t value_length) const {
    if (!item_size_ok(key.size(), flags, value_length)) return nullptr;
    void* mem = std::malloc(sizeof(item) + key.size() + value_length + 2);
    if (mem == nullptr) return nullptr;
    item* it = new (mem) item{};
    it->flags = flags;
    it->expires = expires;
    it->in_space = false;
    it->key_length = static_cast<std::uint32_t>(key.size());
    it->data_length = static_cast<std::uint32_t>(value_length + 2);
    std::memcpy(it->data(), key.data(), key.size());
    it->value_data()[value_length] = '\r';
    it->value_data()[value_length + 1] = '\n';
    it->hash = hash_key(key);
    return item_ptr(it);
}

void store::unlink_locked(shard& s, item* it) noexcept {
    item** p = &s.buckets[it->hash & s.mask];
    while (*p != it)
        p = &(*p)->hash_next;
    *p = it->hash_next;
    if (it->lru_prev)
        it->lru_prev->lru_next = it->lru_next;
    else
        s.lru_head = it->lru_next;
    if (it->lru_next)
        it->lru_next->lru_prev = it->lru_prev;
    else
        s.lru_tail = it->lru_prev;
    s.count--;
    s.bytes -= it->footprint();
}

void store::link_locked(shard& s, item* it) noexcept {
    if (s.count >= (s.mask + 1) * 3 / 2) {
        // Grow the table (slow path): double and rehash every chain.
        const std::size_t n = (s.mask + 1) * 2;
        auto* nb = static_cast<item**>(std::calloc(n, sizeof(item*)));
        if (nb != nullptr) {
            for (std::size_t b = 0; b <= s.mask; ++b) {
                for (item* x = s.buckets[b]; x != nullptr;) {
                    item* next = x->hash_next;
                    x->hash_next = nb[x->hash & (n - 1)];
                    nb[x->hash & (n - 1)] = x;
                    x = next;
                }
            }
            std::free(s.buckets);
            s.buckets = nb;
            s.mask = n - 1;
        }  // else: longer chains, still correct
    }
    item** b = &s.buckets[it->hash & s.mask];
    it->hash_next = *b;
    *b = it;
    it->lru_prev = nullptr;
    it->lru_next = s.lru_head;
    if (s.lru_head) s.lru_head->lru_prev = it;
    s.lru_head = it;
    if (s.lru_tail == nullptr) s.lru_tail = it;
    s.count++;
    s.total_items++;
    s.bytes += it->footprint();
}

void store::bump_locked(shard& s, item* it) noexcept {
    if (s.lru_head == it) return;
    it->lru_prev->lru_next = it->lru_next;
    if (it->lru_next)
        it->lru_next->lru_prev = it->lru_prev;
    else
        s.lru_tail = it->lru_prev;
    it->lru_prev = nullptr;
    it->lru_next = s.lru_head;
    s.lru_head->lru_prev = it;
    s.lru_head = it;
}

bool store::make_room_locked(shard& s, std::size_t need) noexcept {
    while (s.bytes + need > s.budget && s.lru_tail != nullptr) {
        item* victim = s.lru_tail;
        unlink_locked(s, victim);
        s.evictions++;
        if (!victim->fetched) s.evicted_unfetched++;
        free_locked(victim);
    }
    return s.bytes + need <= s.budget;
}

item* store::find_locked(shard& s, std::string_view key, std::uint64_t hash, std::int64_t now,
                         lookup* why) {
    *why = lookup::miss;
    for (item* it = s.buckets[hash & s.mask]; it != nullptr; it = it->hash_next) {
        if (it->hash != hash || it->key() != key) continue;
        if (it->expires != 0 && it->expires <= now) {
            *why = lookup::expired;
        } else {
            const std::int64_t fb = flush_before_.load(std::memory_order_relaxed);
            if (fb != 0 && fb <= now && it->stored <= fb)
                *why = lookup::flushed;
            else
                return it;
        }
        unlink_locked(s, it);
        s.reclaimed++;
        if (*why == lookup::expired && !it->fetched) s.expired_unfetched++;
        free_locked(it);
        return nullptr;
    }
    return nullptr;
}

store_result store::put(store_mode mode, item_ptr& it, std::uint64_t compare, std::int64_t now,
                        std::uint64_t* cas_out) {
    shard& s = shard_for(it->hash);
    detail::shard_guard g(s.locked);
    lookup why;
    item* old = find_locked(s, it->key(), it->hash, now, &why);
    switch (mode) {
        case store_mode::set:
            break;
        case store_mode::add:
            if (old != nullptr) {
                bump_locked(s, old);
                return store_result::not_stored;
            }
            break;
        case store_mode::replace:
        case store_mode::append:
        case store_mode::prepend:
            if (old == nullptr) return store_result::not_stored;
            if (compare != 0 && old->cas != compare) return store_result::exists;
            break;
        case store_mode::cas:
            if (old == nullptr) return store_result::not_found;
            if (old->cas != compare) return store_result::exists;
            break;
    }
    if (mode == store_mode::append || mode == store_mode::prepend) {
        std::string old_value;  // a copy: the old value may be in the value space
        if (!copy_value(*old, old_value)) return store_result::fault;
        const std::string_view ov(old_value.data(), old_value.size() - 2);
        const std::string_view nv = it->value();
        item_ptr joined = allocate(old->key(), old->flags, old->expires, ov.size() + nv.size());
        if (!joined) return store_result::not_stored;
        char* d = joined->value_data();
        const std::string_view first = mode == store_mode::append ? ov : nv;
        const std::string_view second = mode == store_mode::append ? nv : ov;
        std::memcpy(d, first.data(), first.size());
        std::memcpy(d + first.size(), second.data(), second.size());
        it = std::move(joined);
    }
    if (old != nullptr) {
        unlink_locked(s, old);
        free_locked(old);
    }
    // Room under -m first (what the value will count), then into the space.
    const std::size_t need = cfg_.values != nullptr ? it->chunks() * value_chunk : it->footprint();
    if (!make_room_locked(s, need)) return store_result::no_memory;
    if (const store_result moved = to_space_locked(s, it); moved != store_result::stored)
        return moved;
    item* raw = it.release();
    raw->cas = next_cas();
    raw->stored = now;
    raw->accessed = now;
    raw->fetched = false;
    link_locked(s, raw);
    if (cas_out) *cas_out = raw->cas;
    return store_result::stored;
}

store_result store::remove(std::string_view key, std::int64_t now, std::uint64_t compare) {
    const std::uint64_t h = hash_key(key);
    shard& s = shard_for(h);
    detail::shard_guard g(s.locked);
    lookup why;
    item* it = find_locked(s, key, h, now, &why);
    if (it == nullptr) return store_result::not_found;
    if (compare != 0 && it->cas != compare) return store_result::exists;
    unlink_locked(s, it);
    free_locked(it);
    return store_result::stored;
}

delta_result store::delta(std::string_view key, bool incr, std::uint64_t by, std::int64_t now,
                          char* out, std::size_t* out_len, std::uint64_t* cas_out,
                          std::uint64_t compare, bool create, std::uint64_t initial,
                          std::int64_t create_expires, std::uint32_t* flags_out,
                          std::span<const std::uint64_t> held) {
    const std::uint64_t h = hash_key(key);
    shard& s = shard_for(h);
    detail::shard_guard g(s.locked);
    lookup why;
    item* it = find_locked(s, key, h, now, &why);
    if (it == nullptr) {
        if (!create) return delta_result::not_found;
        const std::size_t n = format_u64(initial, out);
        *out_len = n;
        item_ptr fresh = allocate(key, 0, create_expires, n);
        if (!fresh) return delta_result::no_memory;
        std::memcpy(fresh->value_data(), out, n);
        if (!make_room_locked(
                s, cfg_.values != nullptr ? fresh->chunks() * value_chunk : fresh->footprint()))
            return delta_result::no_memory;
        if (const store_result moved = to_space_locked(s, fresh); moved != store_result::stored)
            return moved == store_result::fault ? delta_result::fault : delta_result::no_memory;
        item* raw = fresh.release();
        raw->cas = next_cas();
        raw->stored = raw->accessed = now;
        link_locked(s, raw);
        if (cas_out) *cas_out = raw->cas;
        if (flags_out) *flags_out = 0;
        return delta_result::ok;
    }
    if (it->data_length <= 2) return delta_result::non_numeric;
    if (compare != 0 && it->cas != compare) return delta_result::exists;
    std::string current;  // a copy: the value may be in the value space
    if (!copy_value(*it, current)) return delta_result::fault;
    std::uint64_t value = 0;
    if (!parse_u64(current, value)) return delta_result::non_numeric;
    if (incr)
        value += by;
    else
        value = by > value ? 0 : value - by;
    const std::size_t n = format_u64(value, out);
    *out_len = n;
    if (flags_out) *flags_out = it->flags;
    const bool referenced = std::find(held.begin(), held.end(), it->cas) != held.end();
    if (n + 2 <= it->data_length && !referenced) {
        // In place, as memcached: the old length is kept, padded with spaces.
        if (!it->in_space) {
            char* d = it->value_data();
            std::memcpy(d, out, n);
            std::memset(d + n, ' ', it->data_length - 2 - n);
        } else {
            std::memcpy(current.data(), out, n);
            std::memset(current.data() + n, ' ', it->data_length - 2 - n);
            if (!write_chunks(*it, current.data())) return delta_result::fault;
        }
        it->cas = next_cas();
        bump_locked(s, it);
    } else {
        item_ptr bigger = allocate(key, it->flags, it->expires, n);
        if (!bigger) return delta_result::no_memory;
        std::memcpy(bigger->value_data(), out, n);
        unlink_locked(s, it);
        free_locked(it);
        make_room_locked(
            s, cfg_.values != nullptr ? bigger->chunks() * value_chunk : bigger->footprint());
        if (const store_result moved = to_space_locked(s, bigger); moved != store_result::stored)
            return moved == store_result::fault ? delta_result::fault : delta_result::no_memory;
        item* raw = bigger.release();
        raw->cas = next_cas();
        raw->stored = raw->accessed = now;
        raw->fetched = false;  // a new item, as in memcached
        s.total_items--;       // a replacement, not a new item
        link_locked(s, raw);
        it = raw;
    }
    if (cas_out) *cas_out = it->cas;
    return delta_result::ok;
}

void store::flush(std::int64_t now, std::int64_t delay) {
    if (delay > 0) {
        // Items stored up to this second become invalid once it arrives.
        flush_before_.store(absolute_expiry(delay, now) - 1, std::memory_order_relaxed);
        return;
    }
    flush_before_.store(0, std::memory_order_relaxed);
    (void)next_cas();  // memcached takes a CAS id as the flush horizon: keep numbering alike
    for (std::size_t i = 0; i < nshards_; ++i) {
        shard& s = *shards_[i];
        detail::shard_guard g(s.locked);
        for (item* it = s.lru_head; it != nullptr;) {
            item* next = it->lru_next;
            free_locked(it);
            it = next;
        }
        std::memset(s.buckets, 0, (s.mask + 1) * sizeof(item*));
        s.lru_head = s.lru_tail = nullptr;
        s.count = 0;
        s.bytes = 0;
    }
}

store_counters store::counters() const {
    store_counters c;
    for (std::size_t i = 0; i < nshards_; ++i) {
        shard& s = *shards_[i];
        detail::shard_guard g(s.locked);
        c.curr_items += s.count;
        c.total_items += s.total_items;
        c.bytes += s.bytes;
        c.evictions += s.evictions;
        c.reclaimed += s.reclaimed;
        c.expired_unfetched += s.expired_unfetched;
        c.evicted_unfetched += s.evicted_unfetched;
    }
    return c;
}

}  // namespace airlock::kv
