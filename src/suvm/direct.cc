// SPDX-License-Identifier: Apache-2.0
// Direct mode of suvm::space: every access goes to the sealed sub-pages it
// touches in the backing store, one sub-page at a time, with no page cache.
//
// Why a lock bit in each sub-page's version word: a sub-page access is a
// read-modify-write of its slot and version (copy out, open, change, seal,
// copy in) that must not interleave with another on the same sub-page, and
// a bit in the word that already holds the version costs no memory and
// never makes two different sub-pages wait for each other. The holder
// waits for nothing while it holds the bit (a copy and one AEAD of at most
// 1 KiB), so a waiter spins briefly, then yields.
#include <algorithm>
#include <thread>

#include "airlock/base/check.hh"
#include "airlock/suvm/space.hh"

namespace airlock::suvm {

namespace {
constexpr int spins_before_yield = 64;

void cpu_relax() noexcept {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}
}  // namespace

std::uint64_t space::lock_sub_page(std::uint64_t index) noexcept {
    std::atomic<std::uint64_t>& w = sub_words_[index];
    for (int spins = 0;; ++spins) {
        std::uint64_t word = w.load(std::memory_order_relaxed);
        // acquire: the last holder's version and slot write happen before ours.
        if ((word & 1) == 0 && w.compare_exchange_weak(word, word | 1, std::memory_order_acquire,
                                                       std::memory_order_relaxed))
            return word >> 1;
        if (spins < spins_before_yield)
            cpu_relax();
        else
            std::this_thread::yield();
    }
}

void space::unlock_sub_page(std::uint64_t index, std::uint64_t version) noexcept {
    // release: the slot we wrote and its version are final for the next holder.
    sub_words_[index].store(version << 1, std::memory_order_release);
}

template <class F>
expected<void> space::for_each_sub_page(std::uint64_t address, std::uint64_t length, sub_use use,
                                        F&& f) {
    if (address > size_ || length > size_ - address) return unexpected(errc::suvm_out_of_range);
    // Private copies: the host's bytes are copied once, then authenticated.
    alignas(16) std::byte plain[max_sub_page_size];
    alignas(16) std::byte sealed[max_sub_page_size + sealer::tag_bytes];
    const std::span<std::byte> sub{plain, sub_page_bytes_};
    const unsigned subs_shift = page_shift_ - sub_shift_;
    std::uint64_t done = 0;
    while (done < length) {
        if (const errc e = fault(); e != errc::ok) return unexpected(e);
        const std::uint64_t at = address + done;
        const std::uint64_t index = at >> sub_shift_;  // the sub-page's slot
        const std::uint64_t page = index >> subs_shift;
        const auto k = static_cast<std::uint32_t>(index & (subs_per_page_ - 1));
        const std::uint64_t off = at & (sub_page_bytes_ - 1);
        const std::uint64_t n = std::min<std::uint64_t>(sub_page_bytes_ - off, length - done);
        const std::uint64_t version = lock_sub_page(index);
        if (use == sub_use::write && n == sub_page_bytes_) {
            // f replaces every byte: the old contents do not matter.
        } else if (version == 0) {
            std::memset(plain, 0, sub_page_bytes_);  // never sealed: zeros, no store read
        } else {
            store_.read_slot(index, sealed);
            if (!sealer_.open_sub_page(page, k, version, sealed, sub)) {
                unlock_sub_page(index, version);
                set_fault(page);
                return unexpected(errc::suvm_fault_integrity);
            }
            sub_page_opens_.fetch_add(1, std::memory_order_relaxed);
        }
        const bool go_on = f(plain, off, n, done);
        if (use == sub_use::write) {
            AIRLOCK_CHECK(version < sealer::max_sub_page_version, "a sub-page sealed 2^56 times");
            sealer_.seal_sub_page(page, k, version + 1, sub, sealed);
            store_.write_slot(index, sealed);
            sub_page_seals_.fetch_add(1, std::memory_order_relaxed);
            unlock_sub_page(index, version + 1);
        } else {
            unlock_sub_page(index, version);
        }
        if (!go_on) return {};
        done += n;
    }
    return {};
}

expected<void> space::direct_read(std::uint64_t address, std::span<std::byte> out) {
    return for_each_sub_page(
        address, out.size(), sub_use::read,
        [&](const std::byte* sub, std::uint64_t off, std::uint64_t n, std::uint64_t at) {
            std::memcpy(out.data() + at, sub + off, n);
            return true;
        });
}

expected<void> space::direct_write(std::uint64_t address, std::span<const std::byte> in) {
    return for_each_sub_page(
        address, in.size(), sub_use::write,
        [&](std::byte* sub, std::uint64_t off, std::uint64_t n, std::uint64_t at) {
            std::memcpy(sub + off, in.data() + at, n);
            return true;
        });
}

expected<void> space::direct_fill(std::uint64_t address, std::byte value, std::uint64_t length) {
    return for_each_sub_page(
        address, length, sub_use::write,
        [&](std::byte* sub, std::uint64_t off, std::uint64_t n, std::uint64_t) {
            std::memset(sub + off, static_cast<int>(value), n);
            return true;
        });
}

expected<int> space::direct_compare(std::uint64_t address, std::span<const std::byte> with) {
    int result = 0;
    auto r = for_each_sub_page(
        address, with.size(), sub_use::read,
        [&](const std::byte* sub, std::uint64_t off, std::uint64_t n, std::uint64_t at) {
            result = std::memcmp(sub + off, with.data() + at, n);
            return result == 0;
        });
    if (!r) return unexpected(r.error());
    return result;
}

}  // namespace airlock::suvm
