// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/suvm/suvm_support.hh: untrusted memory for a space's backing store,
// a space built on it, and the host's tampering (it may rewrite the store at
// will; the tests do so while no enclave call runs).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "airlock/suvm/s_ptr.hh"
#include "airlock/suvm/space.hh"

namespace airlock::suvm::test {

// 64-byte-aligned heap memory standing in for the host's untrusted block.
class untrusted_memory {
  public:
    explicit untrusted_memory(std::size_t bytes)
        : bytes_(bytes),
          p_(static_cast<std::byte*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64))) {
        std::memset(p_, 0, bytes_);
    }
    ~untrusted_memory() { std::free(p_); }
    untrusted_memory(const untrusted_memory&) = delete;
    untrusted_memory& operator=(const untrusted_memory&) = delete;
    [[nodiscard]] std::span<std::byte> span() const { return {p_, bytes_}; }
    [[nodiscard]] std::byte* data() const { return p_; }
    [[nodiscard]] std::vector<std::byte> snapshot() const { return {p_, p_ + bytes_}; }

  private:
    std::size_t bytes_;
    std::byte* p_;
};

// A space and its store.
struct paged {
    std::unique_ptr<untrusted_memory> memory;
    std::unique_ptr<space> s;

    explicit paged(const space_options& o) {
        auto need = space::store_size(o);
        EXPECT_TRUE(need.has_value());
        memory = std::make_unique<untrusted_memory>(need.value_or(4096));
        auto made = space::create(o, memory->span());
        EXPECT_TRUE(made.has_value()) << to_string(made.error());
        if (made) s = std::move(*made);
    }
    // Page `page`'s slot in the store.
    [[nodiscard]] std::byte* slot(std::uint64_t page) const {
        return memory->data() + page * slot_bytes(s->page_size());
    }
    [[nodiscard]] std::size_t slot_size() const { return slot_bytes(s->page_size()); }
    // A direct space: the slot of sub-page `index` (address / sub-page size).
    [[nodiscard]] std::byte* sub_slot(std::uint64_t index) const {
        return memory->data() + index * slot_bytes(s->sub_page_bytes());
    }
    [[nodiscard]] std::size_t sub_slot_size() const { return slot_bytes(s->sub_page_bytes()); }
};

inline space_options small_options(std::uint64_t pages = 32, std::size_t frames = 4,
                                   std::size_t page_size = 4096) {
    space_options o;
    o.size = pages * page_size;
    o.page_size = page_size;
    o.cache_bytes = frames * page_size;
    return o;
}

// A direct space of `pages` pages of `page_size`, in sub-pages of `sub`.
inline space_options direct_options(std::size_t sub, std::uint64_t pages = 16,
                                    std::size_t page_size = 4096) {
    space_options o;
    o.size = pages * page_size;
    o.page_size = page_size;
    o.sub_page_bytes = sub;
    return o;
}

// Writes a pattern unique to (page, byte) over `pages` pages.
inline std::byte pattern(std::uint64_t address, std::uint32_t salt = 0) {
    return static_cast<std::byte>((address * 2654435761u + salt) >> 13);
}
inline void fill_pattern(space& s, std::uint64_t pages, std::uint32_t salt = 0) {
    std::vector<std::byte> page(s.page_size());
    for (std::uint64_t p = 0; p < pages; ++p) {
        for (std::size_t i = 0; i < page.size(); ++i)
            page[i] = pattern(p * page.size() + i, salt);
        ASSERT_TRUE(s.write(p * page.size(), page).has_value());
    }
}
// Touches every other page until `page` cannot be cached any more.
inline void evict_all(space& s) {
    ASSERT_TRUE(s.flush().has_value());
    // Reading more distinct pages than there are frames, twice, cycles the clock.
    for (int round = 0; round < 2; ++round)
        for (std::uint64_t p = 0; p < s.page_count(); ++p) {
            auto r = s.pin(p);
            if (!r) return;
        }
}

}  // namespace airlock::suvm::test

namespace airlock::suvm::test {

// After the host tampered with page `page`'s slot: reading it is
// suvm_fault_integrity, through every API; the fault is sticky and names the
// page; operator* yields zeros, never host bytes (a cached space: in a
// direct one it stops the program, tests/suvm/direct_deref.cc); nothing
// crashes.
inline void expect_integrity_fault(paged& p, std::uint64_t page) {
    std::vector<std::byte> buf(p.s->page_size(), std::byte{0x5A});
    auto r = p.s->read(page * p.s->page_size(), buf);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::suvm_fault_integrity);
    EXPECT_EQ(p.s->fault(), errc::suvm_fault_integrity);
    EXPECT_EQ(p.s->fault_page(), page);
    EXPECT_EQ(p.s->stats().integrity_failures, 1u);
    // Sticky: every later call on any page reports it.
    for (std::uint64_t other : {std::uint64_t{0}, page, p.s->page_count() - 1}) {
        s_ptr<const std::uint64_t> q(*p.s, other * p.s->page_size());
        EXPECT_EQ(q.get().error(), errc::suvm_fault_integrity);
        EXPECT_EQ(q.load().error(), errc::suvm_fault_integrity);
        if (!p.s->direct()) {
            EXPECT_EQ(*q, 0u);
        }
        EXPECT_EQ(p.s->pin(other).error(), errc::suvm_fault_integrity);
    }
    EXPECT_EQ(p.s->flush().error(), errc::suvm_fault_integrity);
    EXPECT_EQ(p.s->write(0, buf).error(), errc::suvm_fault_integrity);
}

// A direct space: reading one word of sub-page `index`, the smallest access,
// is suvm_fault_integrity (never a value); then every check above.
inline void expect_sub_page_fault(paged& p, std::uint64_t index) {
    const std::uint64_t at = index * p.s->sub_page_bytes() + 8;
    s_ptr<const std::uint64_t> word(*p.s, at);
    auto v = word.load();
    ASSERT_FALSE(v.has_value()) << "read " << *v << " from a tampered sub-page";
    EXPECT_EQ(v.error(), errc::suvm_fault_integrity);
    expect_integrity_fault(p, at / p.s->page_size());
}

// A space with `pages` pages written, flushed and all evicted.
inline space_options tamper_options() {
    auto o = small_options(32, 4);
    o.prefetch = false;
    return o;
}
inline void written_and_evicted(paged& p, std::uint32_t salt = 0) {
    fill_pattern(*p.s, p.s->page_count(), salt);
    evict_all(*p.s);
}

}  // namespace airlock::suvm::test
