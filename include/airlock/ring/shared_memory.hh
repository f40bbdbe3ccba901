// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/ring/shared_memory.hh: the one accessor for untrusted shared memory.
//
// Every byte of the shared region is hostile and may change at any moment
// (DESIGN.md, trust rules). Airlock therefore never dereferences shared
// memory directly: it reads and writes it only through the functions here,
// in aligned 8-byte words (the guidance after CVE-2022-21166), as
// `std::atomic_ref<uint64_t>` operations so the compiler can neither re-read
// a value (no introduced double fetch, HOSTILE-INPUTS #24) nor tear it. A
// reviewer audits shared-memory access by reading this file.
//
// Thread contract: any thread, either side; each function is one atomic
// operation per word.
// Memory ordering: named in each function (`_relaxed`, `_acquire`,
// `_release`, `_seq_cst`); payload copies are relaxed and must be ordered by
// an acquire/release pair on a ring index.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace airlock::ring {

// `shared_u64` is one 8-byte, 8-byte-aligned word of shared memory. Its bits
// are private: the only way in or out is the `shared::` functions below.
class shared_u64 {
  public:
    shared_u64() = default;
    shared_u64(const shared_u64&) = delete;
    shared_u64& operator=(const shared_u64&) = delete;

  private:
    friend struct shared;
    std::uint64_t bits_;
};
static_assert(sizeof(shared_u64) == 8 && alignof(shared_u64) == 8);
static_assert(std::is_standard_layout_v<shared_u64>);
static_assert(std::atomic_ref<std::uint64_t>::required_alignment == 8);
static_assert(std::atomic_ref<std::uint64_t>::is_always_lock_free);

// The accessor. All functions are header-inline: they are the fast path.
struct shared {
    [[nodiscard]] static std::uint64_t load_relaxed(const shared_u64& w) noexcept {
        return ref(w).load(std::memory_order_relaxed);
    }
    [[nodiscard]] static std::uint64_t load_acquire(const shared_u64& w) noexcept {
        return ref(w).load(std::memory_order_acquire);
    }
    static void store_relaxed(shared_u64& w, std::uint64_t v) noexcept {
        ref(w).store(v, std::memory_order_relaxed);
    }
    static void store_release(shared_u64& w, std::uint64_t v) noexcept {
        ref(w).store(v, std::memory_order_release);
    }
    [[nodiscard]] static std::uint64_t exchange_acq_rel(shared_u64& w, std::uint64_t v) noexcept {
        return ref(w).exchange(v, std::memory_order_acq_rel);
    }

    // Copies `n` bytes out of shared memory, starting at word `src`, into
    // private memory: each word is loaded exactly once (relaxed).
    static void copy_out(std::byte* dst, const shared_u64* src, std::size_t n) noexcept {
        const std::size_t whole = n / 8;
        for (std::size_t i = 0; i < whole; ++i) {
            const std::uint64_t v = load_relaxed(src[i]);
            std::memcpy(dst + i * 8, &v, 8);
        }
        if (const std::size_t rest = n % 8; rest != 0) {
            const std::uint64_t v = load_relaxed(src[whole]);
            std::memcpy(dst + whole * 8, &v, rest);
        }
    }

    // Copies `n` private bytes into shared memory at word `dst`. The last
    // word is completed with zeros, so no stale private byte ever leaves
    // (HOSTILE-INPUTS #26).
    //
    // The lines written were last read by the peer's core, so each store
    // waits for that line to come back (a read-for-ownership); the store
    // buffer holds only a few lines' worth of 8-byte stores, so a long copy
    // would wait for them one by one. Prefetching for write a few lines
    // ahead keeps many of those transfers in flight. A prefetch is a hint,
    // not an access: it reads and writes nothing.
    static void copy_in(shared_u64* dst, const std::byte* src, std::size_t n) noexcept {
        const std::size_t whole = n / 8;
        constexpr std::size_t words_per_line = 8;
        constexpr std::size_t ahead = 16 * words_per_line;  // 16 lines, 1 KiB
        std::size_t i = 0;
        if (whole > ahead) {
            for (std::size_t p = 0; p < ahead; p += words_per_line)
                __builtin_prefetch(&dst[p], 1);
            // Line by line, each with one prefetch `ahead` words in front.
            for (; i + ahead + words_per_line <= whole; i += words_per_line) {
                __builtin_prefetch(&dst[i + ahead], 1);
                for (std::size_t k = i; k < i + words_per_line; ++k) {
                    std::uint64_t v;
                    std::memcpy(&v, src + k * 8, 8);
                    store_relaxed(dst[k], v);
                }
            }
        }
        for (; i < whole; ++i) {
            std::uint64_t v;
            std::memcpy(&v, src + i * 8, 8);
            store_relaxed(dst[i], v);
        }
        if (const std::size_t rest = n % 8; rest != 0) {
            std::uint64_t v = 0;
            std::memcpy(&v, src + whole * 8, rest);
            store_relaxed(dst[whole], v);
        }
    }

  private:
    // atomic_ref needs a non-const object even for loads; shared memory is
    // never const in reality (the peer writes it), so the cast is honest.
    static std::atomic_ref<std::uint64_t> ref(const shared_u64& w) noexcept {
        return std::atomic_ref<std::uint64_t>(const_cast<std::uint64_t&>(w.bits_));
    }
};

// A seq_cst fence: the middle of the "announce, fence, re-check" handshake
// that parks and wakes without a lost wake-up (ring/wait.hh).
inline void full_fence() noexcept {
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

}  // namespace airlock::ring
