// SPDX-License-Identifier: Apache-2.0
// The miss path of suvm::space: reserving a page and claiming a victim frame
// under the cache lock, then sealing, copying and opening outside it; batched
// write-back, prefetch and flush.
//
// Why a short space-wide lock and per-frame claims: the clock hand, the
// reservation of a page (so that two misses on one page never both fetch it)
// and the choice of a victim take a few dozen instructions and must agree
// with each other; one mutex held for that long costs less than striping the
// clock would save at the thread counts an enclave has. The expensive part
// (AEAD of a page, the word-by-word copy from or to the store) runs under the
// frame's claim only: the claimer owns the frame, the page's slot and its
// version, and nobody waits on it for longer than that work.
#include <bit>
#include <thread>

#include "airlock/suvm/space.hh"

namespace airlock::suvm {

std::uint32_t space::take_scratch() noexcept {
    std::uint64_t free = free_scratch_.load(std::memory_order_relaxed);
    while (free != 0) {
        const auto s = static_cast<std::uint32_t>(std::countr_zero(free));
        // acquire: the last user's writes to the buffer happen before ours.
        if (free_scratch_.compare_exchange_weak(free, free & ~(std::uint64_t{1} << s),
                                                std::memory_order_acquire,
                                                std::memory_order_relaxed))
            return s;
    }
    return no_scratch;
}

void space::give_scratch(std::uint32_t s) noexcept {
    // release: our use of the buffer happens before the next taker's.
    free_scratch_.fetch_or(std::uint64_t{1} << s, std::memory_order_release);
}

// The clock: skip pinned and claimed frames, give referenced ones a second
// chance, claim the first cold one. Two sweeps find a victim unless every
// frame is pinned or claimed. `wait` when some frame was claimed by another
// thread's miss or write-back (it will be free again shortly), `exhausted`
// when every frame is pinned by users.
space::step space::claim_victim(std::uint32_t& out) noexcept {
    const std::size_t limit = 2 * frame_count_ + 1;
    bool saw_claimed = false;
    for (std::size_t i = 0; i < limit; ++i) {
        const std::uint32_t f = hand_;
        hand_ = static_cast<std::uint32_t>((hand_ + 1) % frame_count_);
        frame& fr = frames_[f];
        if (const std::uint32_t pins = fr.pins.load(std::memory_order_relaxed); pins != 0) {
            saw_claimed = saw_claimed || (pins & claimed) != 0;
            continue;
        }
        if (fr.referenced.load(std::memory_order_relaxed)) {
            fr.referenced.store(false, std::memory_order_relaxed);
            continue;
        }
        std::uint32_t zero = 0;
        // acq_rel: acquire the last pinner's and claimer's writes (page
        // bytes, dirty, version); from here no pinner can hold the frame.
        if (!fr.pins.compare_exchange_strong(zero, claimed, std::memory_order_acq_rel)) {
            saw_claimed = saw_claimed || (zero & claimed) != 0;
            continue;  // pinned meanwhile through the fast path, or claimed
        }
        out = f;
        return step::claimed;
    }
    return saw_claimed ? step::wait : step::exhausted;
}

// Under cache_mutex_. `m.scratch` may be given (prefetch reuses the miss's).
space::step space::begin_miss(std::uint64_t page, miss& m) noexcept {
    // acquire: pairs with the release that cleared the entry after the
    // page's last seal, so versions_[page] and its slot are final for us.
    if (table_[page].load(std::memory_order_acquire) != no_frame)
        return step::wait;  // cached (the caller retries the fast path) or being brought in
    if (m.scratch == no_scratch) {
        m.scratch = take_scratch();
        if (m.scratch == no_scratch) return step::wait;  // parallel_misses misses at work
        m.took_scratch = true;
    }
    std::uint32_t f = no_frame;
    if (const step s = claim_victim(f); s != step::claimed) {
        if (m.took_scratch) {
            give_scratch(m.scratch);
            m.scratch = no_scratch;
            m.took_scratch = false;
        }
        return s;
    }
    frame& fr = frames_[f];
    m.frame = f;
    m.evicted = fr.page.load(std::memory_order_relaxed);
    m.write_back = m.evicted != no_page && fr.dirty.load(std::memory_order_relaxed);
    if (m.evicted != no_page) {
        evictions_.fetch_add(1, std::memory_order_relaxed);
        // A clean page leaves now; a dirty one keeps its entry (pointing
        // at this claimed frame, so its misses wait) until it is sealed.
        if (!m.write_back) table_[m.evicted].store(no_frame, std::memory_order_release);
    }
    // The reservation: a miss on `page` finds the claimed frame and waits.
    table_[page].store(f, std::memory_order_release);
    return step::claimed;
}

// Seals page `page`, held by claimed frame f, under its next version.
void space::seal_frame(std::uint32_t f, std::uint64_t page, std::byte* out) noexcept {
    const std::uint64_t version = ++versions_[page];
    sealer_.seal(page, version, {frame_data(f), page_size_}, out);
    store_.write_slot(page, out);
    frames_[f].dirty.store(false, std::memory_order_relaxed);
    write_backs_.fetch_add(1, std::memory_order_relaxed);
}

bool space::finish_miss(const miss& m, std::uint64_t page, access a) noexcept {
    frame& fr = frames_[m.frame];
    std::byte* slot = scratch(m.scratch);
    if (m.write_back) {
        seal_frame(m.frame, m.evicted, slot);
        // release: the new version and slot are final; a miss on the
        // evicted page may now load it.
        table_[m.evicted].store(no_frame, std::memory_order_release);
    }
    fr.dirty.store(false, std::memory_order_relaxed);
    fr.page.store(page, std::memory_order_relaxed);
    const std::span<std::byte> data{frame_data(m.frame), page_size_};
    if (a == access::overwrite) {
        // The caller replaces every byte: the old contents do not matter.
    } else if (const std::uint64_t version = versions_[page]; version == 0) {
        std::memset(data.data(), 0, data.size());
    } else {
        // Copy out first, then authenticate the private copy (HOSTILE-INPUTS #7).
        store_.read_slot(page, slot);
        if (!sealer_.open(page, version, slot, data)) {
            fr.page.store(no_page, std::memory_order_relaxed);
            table_[page].store(no_frame, std::memory_order_release);
            set_fault(page);
            return false;
        }
    }
    fr.referenced.store(true, std::memory_order_relaxed);
    return true;
}

// Sealing in a batch: dirty frames the hand reaches next that are neither
// pinned nor referenced would be sealed by the next evictions anyway; doing
// it now, while the key schedule is warm, leaves clean frames to evict. A
// claim needs no lock (the clock claims by the same compare-exchange).
void space::write_back_batch_after(std::uint32_t victim, std::byte* slot) noexcept {
    std::size_t done = 0;
    for (std::size_t i = 1; i < frame_count_ && done < write_back_batch_; ++i) {
        const auto f = static_cast<std::uint32_t>((victim + i) % frame_count_);
        frame& fr = frames_[f];
        if (!fr.dirty.load(std::memory_order_relaxed) ||
            fr.referenced.load(std::memory_order_relaxed))
            continue;
        std::uint32_t zero = 0;
        if (!fr.pins.compare_exchange_strong(zero, claimed, std::memory_order_acq_rel)) continue;
        const std::uint64_t page = fr.page.load(std::memory_order_relaxed);
        if (fr.dirty.load(std::memory_order_relaxed) && page != no_page) {
            seal_frame(f, page, slot);
            ++done;
        }
        fr.pins.fetch_sub(claimed, std::memory_order_release);
    }
}

void space::prefetch_after(std::uint64_t page, std::uint32_t scratch_index) noexcept {
    const std::uint64_t next = page + 1;
    if (next >= pages_ || table_[next].load(std::memory_order_relaxed) != no_frame) return;
    miss m;
    m.scratch = scratch_index;
    {
        const std::lock_guard lock(cache_mutex_);
        if (fault() != errc::ok || begin_miss(next, m) != step::claimed) return;
    }
    const bool ok = finish_miss(m, next, access::read);
    if (ok) prefetches_.fetch_add(1, std::memory_order_relaxed);
    // release: publishes the loaded page to the next pinner.
    frames_[m.frame].pins.fetch_sub(claimed, std::memory_order_release);
    if (ok && m.write_back) write_back_batch_after(m.frame, scratch(m.scratch));
}

expected<page_ref> space::pin_slow(std::uint64_t page, access a) {
    if (direct()) {
        if (const errc e = fault(); e != errc::ok) return unexpected(e);
        return unexpected(errc::suvm_direct_space);
    }
    if (page >= pages_) return unexpected(errc::suvm_out_of_range);
    page_ref r;
    int exhausted = 0;
    for (;;) {
        if (const errc e = fault(); e != errc::ok) return unexpected(e);
        // Another thread may have brought it in meanwhile.
        if (try_pin(page, r)) break;
        // acquire: as in begin_miss. Cached (being pinned by others) or
        // being brought in: no need for the lock to know that.
        if (table_[page].load(std::memory_order_acquire) != no_frame) {
            std::this_thread::yield();
            continue;
        }
        miss m;
        step s;
        {
            const std::lock_guard lock(cache_mutex_);
            s = begin_miss(page, m);
            if (s == step::claimed) {
                m.sequential = last_miss_ != no_page && page == last_miss_ + 1;
                last_miss_ = page;
            }
        }
        if (s != step::claimed) {
            // `wait`: another thread is bringing the page in or holds a
            // frame for a moment; it waits for nothing, so this ends.
            // `exhausted`: pins held by other threads are usually short:
            // let them run, a bounded number of times.
            if (s == step::exhausted && ++exhausted > exhausted_retries)
                return unexpected(errc::suvm_cache_exhausted);
            std::this_thread::yield();
            continue;
        }
        const bool ok = finish_miss(m, page, a);
        if (!ok) {
            frames_[m.frame].pins.fetch_sub(claimed, std::memory_order_release);
            give_scratch(m.scratch);
            return unexpected(errc::suvm_fault_integrity);
        }
        faults_.fetch_add(1, std::memory_order_relaxed);
        // release: drop the claim and keep one pin, for this caller.
        frames_[m.frame].pins.fetch_sub(claimed - 1, std::memory_order_release);
        r.space_ = this;
        r.data_ = frame_data(m.frame);
        r.page_ = page;
        r.frame_ = m.frame;
        r.dirty_ = false;
        // The page is out; the rest is for the misses that follow.
        if (m.write_back) write_back_batch_after(m.frame, scratch(m.scratch));
        if (prefetch_ && m.sequential && a != access::overwrite) prefetch_after(page, m.scratch);
        give_scratch(m.scratch);
        break;
    }
    if (a != access::read) r.mark_dirty();
    return r;
}

expected<void> space::flush() {
    if (const errc e = fault(); e != errc::ok) return unexpected(e);
    if (direct()) return {};  // every write was sealed before it returned
    std::uint32_t s;
    while ((s = take_scratch()) == no_scratch)
        std::this_thread::yield();  // misses at work: each gives its buffer back shortly
    for (std::uint32_t f = 0; f < frame_count_; ++f) {
        frame& fr = frames_[f];
        if (!fr.dirty.load(std::memory_order_relaxed)) continue;
        std::uint32_t zero = 0;
        if (!fr.pins.compare_exchange_strong(zero, claimed, std::memory_order_acq_rel)) continue;
        const std::uint64_t page = fr.page.load(std::memory_order_relaxed);
        if (fr.dirty.load(std::memory_order_relaxed) && page != no_page)
            seal_frame(f, page, scratch(s));
        fr.pins.fetch_sub(claimed, std::memory_order_release);
    }
    give_scratch(s);
    return {};
}

}  // namespace airlock::suvm
