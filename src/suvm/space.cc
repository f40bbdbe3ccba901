// SPDX-License-Identifier: Apache-2.0
// suvm::space: creation, bulk access, the allocator and statistics. The
// miss path (eviction, sealing, loading, flush) is in misses.cc.
#include "airlock/suvm/space.hh"

#include <algorithm>
#include <bit>
#include <new>
#include <optional>

#include "free_lists.hh"

namespace airlock::suvm {

namespace {
template <class T>
std::unique_ptr<T[]> make_array(std::size_t n) {
    return std::unique_ptr<T[]>(new (std::nothrow) T[n]());
}
}  // namespace

expected<std::size_t> space::store_size(const space_options& options) {
    if (options.size == 0 || !std::has_single_bit(options.page_size))
        return unexpected(errc::invalid_argument);
    const std::uint64_t pages = (options.size + options.page_size - 1) / options.page_size;
    return backing_store::required_size(options.page_size, pages, options.sub_page_bytes);
}

expected<std::unique_ptr<space>> space::create(const space_options& options,
                                               std::span<std::byte> untrusted_store) {
    if (options.size == 0 || options.size > UINT64_MAX - max_page_size ||
        !std::has_single_bit(options.page_size))
        return unexpected(errc::invalid_argument);
    const std::uint64_t pages = (options.size + options.page_size - 1) / options.page_size;
    auto store = backing_store::attach(untrusted_store, options.page_size, pages, options.store,
                                       options.sub_page_bytes);
    if (!store) return unexpected(store.error());
    const bool direct = options.sub_page_bytes != 0;
    if (!direct && options.cache_bytes / options.page_size < min_frames)
        return unexpected(errc::invalid_argument);
    if (!direct && (options.parallel_misses == 0 || options.parallel_misses > 64))
        return unexpected(errc::invalid_argument);
    auto s = sealer::create(options.cipher_choice);
    if (!s) return unexpected(s.error());
    std::unique_ptr<space> sp(new (std::nothrow) space(options, *store, std::move(*s)));
    if (!sp || !sp->free_) return unexpected(errc::enclave_memory_exhausted);
    if (direct
            ? !sp->sub_words_
            : (!sp->table_ || !sp->frames_ || !sp->frames_raw_ || !sp->versions_ || !sp->scratch_))
        return unexpected(errc::enclave_memory_exhausted);
    return sp;
}

space::space(const space_options& options, backing_store store, sealer s)
    : store_(store),
      sealer_(std::move(s)),
      size_(options.size),
      pages_(store.pages()),
      page_size_(options.page_size),
      page_shift_(static_cast<unsigned>(std::countr_zero(options.page_size))),
      frame_count_(std::min<std::uint64_t>(options.cache_bytes / options.page_size, store.pages())),
      prefetch_(options.prefetch),
      write_back_batch_(options.write_back_batch),
      sub_page_bytes_(options.sub_page_bytes),
      scratch_count_(options.parallel_misses) {
    free_ = std::unique_ptr<detail::free_lists>(new (std::nothrow) detail::free_lists());
    if (sub_page_bytes_ != 0) {
        // Direct: no page table, frames or slot buffers; a word a sub-page.
        sub_shift_ = static_cast<unsigned>(std::countr_zero(sub_page_bytes_));
        subs_per_page_ = static_cast<std::uint32_t>(page_size_ / sub_page_bytes_);
        frame_count_ = 0;
        scratch_count_ = 0;
        prefetch_ = false;
        sub_words_ = make_array<std::atomic<std::uint64_t>>(pages_ * subs_per_page_);
        return;
    }
    frame_count_ = std::max(frame_count_, min_frames);
    table_ = make_array<std::atomic<std::uint32_t>>(pages_);
    if (table_)
        for (std::uint64_t p = 0; p < pages_; ++p)
            table_[p].store(no_frame, std::memory_order_relaxed);
    frames_ = make_array<frame>(frame_count_);
    frames_raw_ =
        std::unique_ptr<std::byte[]>(new (std::nothrow) std::byte[frame_count_ * page_size_ + 64]);
    if (frames_raw_) {
        const auto raw = reinterpret_cast<std::uintptr_t>(frames_raw_.get());
        frames_data_ = frames_raw_.get() + ((64 - raw % 64) % 64);
    }
    versions_ = make_array<std::uint64_t>(pages_);
    scratch_ = make_array<std::byte>(scratch_count_ * slot_bytes(page_size_));
    free_scratch_.store(
        scratch_count_ == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << scratch_count_) - 1,
        std::memory_order_relaxed);
}

space::~space() {
    // The plaintext of every cached page leaves enclave memory with it.
    if (frames_raw_) std::memset(frames_raw_.get(), 0, frame_count_ * page_size_ + 64);
}

std::size_t space::metadata_bytes() const noexcept {
    if (direct()) return pages_ * subs_per_page_ * sizeof(std::uint64_t);
    return pages_ * (sizeof(std::uint32_t) + sizeof(std::uint64_t)) + frame_count_ * sizeof(frame) +
           scratch_count_ * slot_bytes(page_size_);
}

void space::set_fault(std::uint64_t page) noexcept {
    integrity_failures_.fetch_add(1, std::memory_order_relaxed);
    errc expected_ok = errc::ok;
    if (fault_.compare_exchange_strong(expected_ok, errc::suvm_fault_integrity,
                                       std::memory_order_acq_rel))
        fault_page_.store(page, std::memory_order_relaxed);
}

namespace {
// Calls f(pinned page, offset in page, byte count, offset in the caller's
// buffer) over [address, address + length), page by page.
template <class F>
expected<void> for_each_page(space& s, std::uint64_t address, std::uint64_t length, access a,
                             F&& f) {
    if (address > s.size() || length > s.size() - address)
        return unexpected(errc::suvm_out_of_range);
    std::uint64_t done = 0;
    while (done < length) {
        const std::uint64_t at = address + done;
        const std::uint64_t in_page = at & (s.page_size() - 1);
        const std::uint64_t n = std::min<std::uint64_t>(s.page_size() - in_page, length - done);
        // A write of a whole page need not bring the old page in.
        const access how = a == access::write && n == s.page_size() ? access::overwrite : a;
        auto pin = s.pin(at >> s.page_shift(), how);
        if (!pin) return unexpected(pin.error());
        if (!f(*pin, in_page, n, done)) return {};
        done += n;
    }
    return {};
}
}  // namespace

expected<void> space::read(std::uint64_t address, std::span<std::byte> out) {
    if (direct()) return direct_read(address, out);
    return for_each_page(*this, address, out.size(), access::read,
                         [&](page_ref& p, std::uint64_t off, std::uint64_t n, std::uint64_t at) {
                             std::memcpy(out.data() + at, p.data() + off, n);
                             return true;
                         });
}

expected<void> space::write(std::uint64_t address, std::span<const std::byte> in) {
    if (direct()) return direct_write(address, in);
    return for_each_page(*this, address, in.size(), access::write,
                         [&](page_ref& p, std::uint64_t off, std::uint64_t n, std::uint64_t at) {
                             std::memcpy(p.data() + off, in.data() + at, n);
                             return true;
                         });
}

expected<void> space::fill(std::uint64_t address, std::byte value, std::uint64_t length) {
    if (direct()) return direct_fill(address, value, length);
    return for_each_page(*this, address, length, access::write,
                         [&](page_ref& p, std::uint64_t off, std::uint64_t n, std::uint64_t) {
                             std::memset(p.data() + off, static_cast<int>(value), n);
                             return true;
                         });
}

expected<int> space::compare(std::uint64_t address, std::span<const std::byte> with) {
    if (direct()) return direct_compare(address, with);
    int result = 0;
    auto r = for_each_page(*this, address, with.size(), access::read,
                           [&](page_ref& p, std::uint64_t off, std::uint64_t n, std::uint64_t at) {
                               result = std::memcmp(p.data() + off, with.data() + at, n);
                               return result == 0;
                           });
    if (!r) return unexpected(r.error());
    return result;
}

expected<std::uint64_t> space::allocate(std::uint64_t bytes, std::size_t alignment) {
    if (bytes == 0 || !std::has_single_bit(alignment) || alignment > page_size_)
        return unexpected(errc::invalid_argument);
    if (bytes > size_) return unexpected(errc::suvm_out_of_memory);
    const std::uint64_t class_bytes = free_->class_of(bytes);
    if (free_ranges_.load(std::memory_order_relaxed) != 0) {
        std::optional<std::uint64_t> reused;
        {
            const std::lock_guard lock(alloc_mutex_);
            reused = free_->take(class_bytes, alignment);
        }
        if (reused) {
            free_ranges_.fetch_sub(1, std::memory_order_relaxed);
            reused_.fetch_add(1, std::memory_order_relaxed);
            // It still holds what its last owner wrote.
            auto zeroed = fill(*reused, std::byte{0}, class_bytes);
            if (!zeroed) return unexpected(zeroed.error());
            return *reused;
        }
    }
    std::uint64_t at = next_free_.load(std::memory_order_relaxed);
    for (;;) {
        const std::uint64_t begin = (at + alignment - 1) & ~std::uint64_t{alignment - 1};
        if (begin > size_ || class_bytes > size_ - begin)
            return unexpected(errc::suvm_out_of_memory);
        // relaxed: the counter hands out disjoint ranges; it publishes no data.
        if (next_free_.compare_exchange_weak(at, begin + class_bytes, std::memory_order_relaxed))
            return begin;
    }
}

expected<void> space::deallocate(std::uint64_t address, std::uint64_t bytes) {
    if (bytes == 0) return unexpected(errc::invalid_argument);
    const std::uint64_t class_bytes = free_->class_of(bytes);
    const std::uint64_t end = next_free_.load(std::memory_order_relaxed);
    if (address > end || class_bytes > end - address) return unexpected(errc::suvm_out_of_range);
    {
        const std::lock_guard lock(alloc_mutex_);
        try {
            if (!free_->put(address, class_bytes)) return unexpected(errc::invalid_argument);
        } catch (const std::bad_alloc&) {
            return unexpected(errc::enclave_memory_exhausted);
        }
    }
    free_ranges_.fetch_add(1, std::memory_order_relaxed);
    return {};
}

space_stats space::stats() const noexcept {
    space_stats s;
    for (std::size_t f = 0; f < frame_count_; ++f)
        s.hits += frames_[f].hits.load(std::memory_order_relaxed);
    s.faults = faults_.load(std::memory_order_relaxed);
    s.prefetches = prefetches_.load(std::memory_order_relaxed);
    s.evictions = evictions_.load(std::memory_order_relaxed);
    s.write_backs = write_backs_.load(std::memory_order_relaxed);
    s.integrity_failures = integrity_failures_.load(std::memory_order_relaxed);
    s.reused_allocations = reused_.load(std::memory_order_relaxed);
    s.sub_page_opens = sub_page_opens_.load(std::memory_order_relaxed);
    s.sub_page_seals = sub_page_seals_.load(std::memory_order_relaxed);
    {
        const std::lock_guard lock(alloc_mutex_);
        s.free_bytes = free_->free_bytes();
    }
    return s;
}

}  // namespace airlock::suvm
