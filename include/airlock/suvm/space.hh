// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/suvm/space.hh: a paged address space larger than enclave memory.
//
// `space` is SUVM's secure paging done by the enclave itself, with no exit:
// a page cache in enclave memory (a byte budget of frames) in front of a
// backing store in untrusted memory (suvm/backing_store.hh) where evicted
// pages are sealed (suvm/seal.hh). Addresses are byte offsets in
// [0, size()). A page never written reads as zeros and costs no store read;
// a clean page is dropped on eviction, never written back; a dirty page is
// sealed under a new version, kept in enclave memory, so the host can
// neither read, change, swap nor replay pages. A page that fails to
// authenticate puts the space into a sticky fault (suvm_fault_integrity)
// that every later call reports: never host-chosen data, never a crash.
//
// Replacement is the clock algorithm (one reference bit per frame). A page
// is used through a `page_ref`, a pin: a pinned frame is never evicted. The
// fast path (the page is cached) takes no lock: it looks the frame up in
// the page table and pins it with one atomic add. A miss takes the space's
// cache lock only to reserve the page and claim a victim frame (the clock,
// the page table); it seals the victim, copies and opens the page outside
// any lock, so misses on different pages run in parallel. A miss on a page
// that another thread is bringing in (or sealing) waits for that thread.
// With prefetch on, a miss on the page after the previous miss loads the
// next page too.
//
// Direct mode (space_options::sub_page_bytes 256, 512 or 1024), chosen per
// space: the space has no page cache at all. Every access (read, write,
// fill, compare, s_ptr load/store) goes straight to the sealed sub-pages
// it touches in the backing store: one sub-page is copied into private
// memory, authenticated and opened, used, and, for a write, sealed under
// its next version and copied back. Each sub-page has its own tag and its
// own version in enclave memory; page, sub-page index and version are bound
// into nonce and associated data. Nothing is pinned, so pin and s_ptr::get
// are refused (suvm_direct_space) and s_ptr's `*`/`->` stop the program
// (AIRLOCK_CHECK: a programming error, see s_ptr.hh). A space is either
// cached or direct, never both: no page can then exist in a frame and in
// sub-page slots at once, so there is nothing to keep coherent.
//
// Thread contract: create on one enclave thread; then every member may be
// called from any number of enclave threads at once. A page_ref (and an
// s_ptr, which holds one) belongs to one thread at a time; all of them must
// be gone before the space is destroyed.
// Memory ordering: a frame's pin count is the handover. The thread that
// claims a frame (moves its pin count from 0 to `claimed`, acq_rel) owns the
// frame's bytes, its page and the store slot and version of that page until
// it drops the claim (release); a pinner acquires the pin count, then checks
// that the frame still holds its page. A page's table entry is set to a
// frame only under the cache lock and cleared (release) by the frame's
// claimer once the page's slot and version are final; a miss reads it
// (acquire) before it reads the version. Direct mode: a sub-page's word in
// enclave memory holds its version and a lock bit; setting the bit
// (acquire) gives one thread the sub-page's slot and version, clearing it
// with the new version (release) hands them on.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>

#include "airlock/base/expected.hh"
#include "airlock/ring/region.hh"
#include "airlock/suvm/backing_store.hh"
#include "airlock/suvm/seal.hh"

namespace airlock::suvm {

struct space_options {
    // Bytes of the paged space, rounded up to whole pages.
    std::uint64_t size = 0;
    // A power of two in [min_page_size, max_page_size].
    std::size_t page_size = 4096;
    // The page cache's budget: it holds cache_bytes / page_size frames (at
    // least min_frames). Page data only; the page table (12 bytes a page)
    // and the frame records (64 bytes a frame) are metadata_bytes().
    std::size_t cache_bytes = std::size_t{16} << 20;
    // Load the next page as well when a miss follows a miss on the page before.
    bool prefetch = true;
    // When a dirty page is evicted, also seal up to this many more dirty,
    // unpinned, unreferenced frames ahead of the clock hand, so that the
    // evictions after it find clean frames.
    std::size_t write_back_batch = 8;
    // Misses that may seal and open pages at the same moment (1 to 64):
    // each holds a private buffer of one sealed slot (in metadata_bytes()).
    // A further miss waits for a buffer.
    std::size_t parallel_misses = 4;
    cipher cipher_choice = cipher::automatic;
    // 0: a cached space (the page cache above). 256, 512 or 1024 (at most
    // page_size): a direct space of sub-pages this size, sealed one by one
    // in the store, with no page cache (cache_bytes, prefetch,
    // write_back_batch and parallel_misses are then unused). For small
    // random accesses to data much larger than any cache.
    std::size_t sub_page_bytes = 0;
    // Checks applied to the backing store (its trusted_memory).
    ring::attach_options store{};
};

inline constexpr std::size_t min_frames = 4;

// Counters since creation, read one by one (relaxed). Exact once the threads
// using the space are quiet, except `hits`, which may miss a few when
// threads hit the same frame at the same moment.
struct space_stats {
    std::uint64_t hits = 0;         // pins that found their page cached
    std::uint64_t faults = 0;       // pages brought in on demand (from the store or zeroed)
    std::uint64_t prefetches = 0;   // pages brought in ahead of use
    std::uint64_t evictions = 0;    // frames reused for another page
    std::uint64_t write_backs = 0;  // pages sealed into the store
    std::uint64_t integrity_failures = 0;
    std::uint64_t reused_allocations = 0;  // allocations served from given-back ranges
    std::uint64_t free_bytes = 0;          // bytes given back and not yet reused
    std::uint64_t sub_page_opens = 0;      // direct mode: sub-pages authenticated and opened
    std::uint64_t sub_page_seals = 0;      // direct mode: sub-pages sealed into the store
};

class space;
namespace detail {
class free_lists;
}

// `page_ref` pins one cached page: its frame stays in place and holds that
// page until the page_ref is reset or destroyed. Move-only; one thread.
class page_ref {
  public:
    page_ref() = default;
    page_ref(page_ref&& o) noexcept { take(o); }
    page_ref& operator=(page_ref&& o) noexcept {
        if (this != &o) {
            reset();
            take(o);
        }
        return *this;
    }
    page_ref(const page_ref&) = delete;
    page_ref& operator=(const page_ref&) = delete;
    ~page_ref() { reset(); }

    [[nodiscard]] explicit operator bool() const noexcept { return data_ != nullptr; }
    // The page's bytes (page_size of them), in enclave memory.
    [[nodiscard]] std::byte* data() const noexcept { return data_; }
    [[nodiscard]] std::uint64_t page() const noexcept { return page_; }
    [[nodiscard]] bool dirty_marked() const noexcept { return dirty_; }
    // Records that the page is (about to be) written: it will be sealed
    // back when evicted. Precondition: *this pins a page.
    inline void mark_dirty() noexcept;
    // Unpins.
    inline void reset() noexcept;

  private:
    friend class space;
    void take(page_ref& o) noexcept {
        space_ = o.space_;
        data_ = o.data_;
        page_ = o.page_;
        frame_ = o.frame_;
        dirty_ = o.dirty_;
        o.data_ = nullptr;
    }
    space* space_ = nullptr;
    std::byte* data_ = nullptr;
    std::uint64_t page_ = 0;
    std::uint32_t frame_ = 0;
    bool dirty_ = false;
};

// How a pin will use its page. `overwrite`: the caller writes every byte of
// the page before anyone reads it, so a miss neither loads nor authenticates
// the old contents (the frame holds stale enclave bytes until then).
enum class access : std::uint8_t { read, write, overwrite };

class space {
  public:
    // Bytes of backing store a space with these options needs, or
    // invalid_argument (size 0, page size out of range, too many pages).
    [[nodiscard]] static expected<std::size_t> store_size(const space_options& options);

    // Enclave side: attaches `untrusted_store` (handed over by the host, at
    // least store_size(options) bytes) and allocates the cache in enclave
    // memory (a direct space: only the sub-pages' versions). Errors: those
    // of backing_store::attach and sealer::create, invalid_argument (a
    // cached space's cache smaller than min_frames pages or parallel_misses
    // not in 1..64, a sub-page size not 0 or 256..1024), enclave_memory_exhausted.
    // The store's previous contents are ignored.
    [[nodiscard]] static expected<std::unique_ptr<space>> create(
        const space_options& options, std::span<std::byte> untrusted_store);

    space(const space&) = delete;
    space& operator=(const space&) = delete;
    ~space();

    [[nodiscard]] std::uint64_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t page_size() const noexcept { return page_size_; }
    [[nodiscard]] unsigned page_shift() const noexcept { return page_shift_; }
    [[nodiscard]] std::uint64_t page_count() const noexcept { return pages_; }
    [[nodiscard]] std::size_t frame_count() const noexcept { return frame_count_; }
    // Direct mode: the sub-page size (0 for a cached space).
    [[nodiscard]] std::size_t sub_page_bytes() const noexcept { return sub_page_bytes_; }
    [[nodiscard]] bool direct() const noexcept { return sub_page_bytes_ != 0; }
    // Enclave memory held for page data (frame_count * page_size <= cache_bytes).
    [[nodiscard]] std::size_t cache_bytes() const noexcept { return frame_count_ * page_size_; }
    // Enclave memory held for the page table, versions and frame records
    // (a direct space: 8 bytes a sub-page).
    [[nodiscard]] std::size_t metadata_bytes() const noexcept;
    [[nodiscard]] cipher cipher_in_use() const noexcept { return sealer_.kind(); }

    // ok, or the sticky fault (suvm_fault_integrity) and the page that caused it.
    [[nodiscard]] errc fault() const noexcept { return fault_.load(std::memory_order_acquire); }
    [[nodiscard]] std::uint64_t fault_page() const noexcept {
        return fault_page_.load(std::memory_order_relaxed);
    }

    // Pins page `page`, loading it if needed; with access::write the page
    // is marked dirty. A miss may block briefly on the cache lock and
    // yields while another thread brings the same page in (never suspends).
    // Errors: the sticky fault, suvm_out_of_range, suvm_cache_exhausted
    // (every frame stayed pinned while the miss yielded a few times),
    // suvm_direct_space (a direct space caches no page to pin).
    [[nodiscard]] expected<page_ref> pin(std::uint64_t page, access a = access::read) {
        page_ref r;
        if (!direct() && try_pin(page, r)) [[likely]] {
            if (a != access::read) r.mark_dirty();
            return r;
        }
        return pin_slow(page, a);
    }

    // A hint before pinning the page of `address` (what s_ptr does when it
    // moves to another page): if that page is cached, starts loading the
    // cache line of `address` in its frame, and the frame's record, so that
    // these misses overlap the locked instructions of the unpin and the pin
    // (which wait for earlier memory accesses; a prefetch is not ordered by
    // them). Reads only the page table entry: a stale one prefetches another
    // frame's line, nothing else. Nothing in a direct space.
    void prefetch(std::uint64_t address, bool for_write) const noexcept {
        const std::uint64_t page = address >> page_shift_;
        if (direct() || page >= pages_) return;
        const std::uint32_t f = table_[page].load(std::memory_order_relaxed);
        if (f >= frame_count_) return;
        const std::byte* at = frame_data(f) + (address & (page_size_ - 1));
        __builtin_prefetch(&frames_[f], 1);
        if (for_write)
            __builtin_prefetch(at, 1);
        else
            __builtin_prefetch(at, 0);
    }

    // Bulk access, page by page through pins, or in a direct space sub-page
    // by sub-page (a sub-page written whole is sealed without opening the
    // old one). Errors as for pin (never suvm_direct_space).
    [[nodiscard]] expected<void> read(std::uint64_t address, std::span<std::byte> out);
    [[nodiscard]] expected<void> write(std::uint64_t address, std::span<const std::byte> in);
    [[nodiscard]] expected<void> fill(std::uint64_t address, std::byte value, std::uint64_t length);
    // memcmp of the space's bytes at `address` against `with`: <0, 0, >0.
    [[nodiscard]] expected<int> compare(std::uint64_t address, std::span<const std::byte> with);

    // Seals every dirty page that is not pinned into the store (a pinned
    // one may be being written); nothing to do in a direct space, whose
    // writes are sealed before they return. Errors: the sticky fault.
    [[nodiscard]] expected<void> flush();

    // Reserves `bytes` of the space aligned to `alignment` (a power of two,
    // at most page_size) and returns its address; the bytes read as zeros
    // until written. Sizes round up to a class (a multiple of 8 bytes); a
    // range given back by deallocate is reused
    // by the next allocation of its class (zeroed first), else the space is
    // taken in address order. Errors: suvm_out_of_memory, invalid_argument,
    // the sticky fault (zeroing a reused range). Any thread.
    [[nodiscard]] expected<std::uint64_t> allocate(std::uint64_t bytes, std::size_t alignment);
    // Gives back what allocate(bytes, ...) returned at `address`, for reuse.
    // Errors: suvm_out_of_range (never allocated), invalid_argument (bytes
    // 0, or the range is free already), enclave_memory_exhausted (no room to
    // record it: it is not reused). Any thread.
    [[nodiscard]] expected<void> deallocate(std::uint64_t address, std::uint64_t bytes);

    [[nodiscard]] space_stats stats() const noexcept;

  private:
    friend class page_ref;
    static constexpr std::uint32_t no_frame = ~std::uint32_t{0};
    static constexpr std::uint64_t no_page = ~std::uint64_t{0};
    static constexpr std::uint32_t claimed = std::uint32_t{1} << 31;
    // Yields (sched_yield, allowed in the sandbox) a miss makes while every
    // frame is pinned, before it reports suvm_cache_exhausted.
    static constexpr int exhausted_retries = 64;

    // One cache frame's record; its page bytes are at frame_data(i).
    struct alignas(64) frame {
        std::atomic<std::uint32_t> pins{0};   // pinners, plus `claimed` while evicting/loading
        std::atomic<bool> referenced{false};  // the clock's second chance
        std::atomic<bool> dirty{false};       // written since it was loaded or sealed
        std::atomic<std::uint64_t> page{no_page};
        std::atomic<std::uint64_t> hits{0};  // per frame: no line shared by all threads
    };

    space(const space_options& options, backing_store store, sealer s);

    [[nodiscard]] std::byte* frame_data(std::uint32_t f) const noexcept {
        return frames_data_ + static_cast<std::size_t>(f) * page_size_;
    }

    // The fast path: pins `page` if it is cached. Lock-free.
    bool try_pin(std::uint64_t page, page_ref& r) noexcept {
        if (page >= pages_ || fault_.load(std::memory_order_relaxed) != errc::ok) [[unlikely]]
            return false;
        const std::uint32_t f = table_[page].load(std::memory_order_acquire);
        if (f == no_frame) return false;
        frame& fr = frames_[f];
        // acquire: pairs with the release that published the frame's contents.
        const std::uint32_t before = fr.pins.fetch_add(1, std::memory_order_acquire);
        if ((before & claimed) != 0 || fr.page.load(std::memory_order_relaxed) != page)
            [[unlikely]] {
            fr.pins.fetch_sub(1, std::memory_order_release);  // an evictor has it: slow path
            return false;
        }
        // Relaxed: the clock reads these under the cache lock as hints.
        if (!fr.referenced.load(std::memory_order_relaxed))
            fr.referenced.store(true, std::memory_order_relaxed);
        // A load and a store, not a locked add: two threads hitting the
        // same frame at once may count one hit (the statistic is exact for
        // one thread); a locked add here costs more than the rest of the hit.
        fr.hits.store(fr.hits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        r.space_ = this;
        r.data_ = frame_data(f);
        r.page_ = page;
        r.frame_ = f;
        r.dirty_ = false;
        return true;
    }
    void unpin(std::uint32_t f) noexcept {
        // release: the pinner's writes to the page happen before any eviction.
        frames_[f].pins.fetch_sub(1, std::memory_order_release);
    }
    void mark_dirty(std::uint32_t f) noexcept {
        // Only while pinned; the evictor reads it after claiming (acquire).
        if (!frames_[f].dirty.load(std::memory_order_relaxed))
            frames_[f].dirty.store(true, std::memory_order_relaxed);
    }

    // A miss in progress: frame `frame` claimed for `page`; `evicted` is
    // the page it held (no_page: none), to be sealed first if `write_back`.
    struct miss {
        std::uint32_t frame = no_frame;
        std::uint32_t scratch = no_scratch;
        bool took_scratch = false;
        std::uint64_t evicted = no_page;
        bool write_back = false;
        bool sequential = false;
    };
    enum class step : std::uint8_t { claimed, wait, exhausted };
    static constexpr std::uint32_t no_scratch = ~std::uint32_t{0};

    [[gnu::cold]] expected<page_ref> pin_slow(std::uint64_t page, access a);
    // Under the cache lock: reserves `page` and claims a victim frame.
    step begin_miss(std::uint64_t page, miss& m) noexcept;
    step claim_victim(std::uint32_t& out) noexcept;
    // The claimer, outside the lock: seals the evicted page, brings `page`
    // in. False on an authentication failure (the frame is left empty).
    bool finish_miss(const miss& m, std::uint64_t page, access a) noexcept;
    void seal_frame(std::uint32_t f, std::uint64_t page, std::byte* scratch) noexcept;
    void write_back_batch_after(std::uint32_t victim, std::byte* scratch) noexcept;
    void prefetch_after(std::uint64_t page, std::uint32_t scratch) noexcept;
    void set_fault(std::uint64_t page) noexcept;

    // Direct mode (direct.cc). `write`: f replaces the bytes it is given.
    enum class sub_use : std::uint8_t { read, write };
    // Calls f(plain sub-page, offset in it, byte count, offset in the
    // caller's buffer) for each sub-page of [address, address + length),
    // holding that sub-page's lock (f returns false to stop early); with
    // `write` seals the result under the next version, and a sub-page that
    // f replaces whole is not opened first.
    template <class F>
    expected<void> for_each_sub_page(std::uint64_t address, std::uint64_t length, sub_use use,
                                     F&& f);
    std::uint64_t lock_sub_page(std::uint64_t index) noexcept;
    void unlock_sub_page(std::uint64_t index, std::uint64_t version) noexcept;
    expected<void> direct_read(std::uint64_t address, std::span<std::byte> out);
    expected<void> direct_write(std::uint64_t address, std::span<const std::byte> in);
    expected<void> direct_fill(std::uint64_t address, std::byte value, std::uint64_t length);
    expected<int> direct_compare(std::uint64_t address, std::span<const std::byte> with);
    // The private slot buffers: lock-free, any thread.
    std::uint32_t take_scratch() noexcept;
    void give_scratch(std::uint32_t s) noexcept;
    [[nodiscard]] std::byte* scratch(std::uint32_t s) const noexcept {
        return scratch_.get() + static_cast<std::size_t>(s) * slot_bytes(page_size_);
    }

    // Immutable after create.
    backing_store store_;
    sealer sealer_;
    std::uint64_t size_ = 0;
    std::uint64_t pages_ = 0;
    std::size_t page_size_ = 0;
    unsigned page_shift_ = 0;
    std::size_t frame_count_ = 0;
    bool prefetch_ = true;
    std::size_t write_back_batch_ = 0;
    std::size_t sub_page_bytes_ = 0;  // direct mode, else 0
    unsigned sub_shift_ = 0;          // log2(sub_page_bytes_)
    std::uint32_t subs_per_page_ = 0;
    std::unique_ptr<std::atomic<std::uint32_t>[]> table_;  // page -> frame
    std::unique_ptr<frame[]> frames_;
    std::unique_ptr<std::byte[]> frames_raw_;  // the page bytes, plus room to align
    std::byte* frames_data_ = nullptr;         // 64-byte aligned, inside frames_raw_

    std::atomic<errc> fault_{errc::ok};
    std::atomic<std::uint64_t> fault_page_{0};
    // The allocator: a bump pointer, and the ranges given back (guarded by
    // alloc_mutex_; free_ranges_ lets allocate skip the lock when none are).
    std::atomic<std::uint64_t> next_free_{0};
    mutable std::mutex alloc_mutex_;
    std::unique_ptr<detail::free_lists> free_;
    std::atomic<std::uint64_t> free_ranges_{0};
    std::atomic<std::uint64_t> reused_{0};

    // A page's version (0: never sealed, reads as zeros): read and written
    // only by the thread that holds the claim on the frame its table entry
    // names (see Memory ordering above).
    std::unique_ptr<std::uint64_t[]> versions_;
    // Direct mode, one word a sub-page (address / sub_page_bytes_): its
    // version (0: never sealed, reads as zeros) shifted left by one, and bit
    // 0 set while a thread holds the sub-page (see Memory ordering above).
    std::unique_ptr<std::atomic<std::uint64_t>[]> sub_words_;
    // parallel_misses sealed slots, private; a set bit in free_scratch_ is a
    // free one (acquire on taking, release on giving back).
    std::unique_ptr<std::byte[]> scratch_;
    std::size_t scratch_count_ = 0;
    // Written by every miss: on lines of their own, away from fault_ and
    // the page table pointers that every hit reads.
    alignas(64) std::atomic<std::uint64_t> free_scratch_{0};

    // Guarded by cache_mutex_: the clock, reservations, sequential detection.
    alignas(64) std::mutex cache_mutex_;
    std::uint32_t hand_ = 0;
    std::uint64_t last_miss_ = no_page;

    std::atomic<std::uint64_t> faults_{0};
    std::atomic<std::uint64_t> prefetches_{0};
    std::atomic<std::uint64_t> evictions_{0};
    std::atomic<std::uint64_t> write_backs_{0};
    std::atomic<std::uint64_t> integrity_failures_{0};
    std::atomic<std::uint64_t> sub_page_opens_{0};
    std::atomic<std::uint64_t> sub_page_seals_{0};
};

inline void page_ref::mark_dirty() noexcept {
    if (!dirty_) {
        space_->mark_dirty(frame_);
        dirty_ = true;
    }
}
inline void page_ref::reset() noexcept {
    if (data_ != nullptr) {
        space_->unpin(frame_);
        data_ = nullptr;
    }
}

}  // namespace airlock::suvm
