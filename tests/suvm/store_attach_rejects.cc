// SPDX-License-Identifier: Apache-2.0
// Description: a backing store that is misaligned, too small, wraps the
// address space or overlaps enclave memory is refused at attach.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

TEST(store_attach_rejects, each_bad_store) {
    const auto o = small_options(16, 4);
    const std::size_t need = space::store_size(o).value();
    EXPECT_EQ(need, 16 * slot_bytes(4096));
    untrusted_memory m(need + 128);
    const auto attach = [&](std::span<std::byte> mem, const space_options& opts) {
        auto s = space::create(opts, mem);
        return s ? errc::ok : s.error();
    };
    EXPECT_EQ(attach(m.span().subspan(8, need), o), errc::suvm_store_misaligned);
    EXPECT_EQ(attach(m.span().first(need - 64), o), errc::suvm_store_too_small);
    EXPECT_EQ(attach(m.span().first(need), o), errc::ok);

    // Wrapping: a base near the top of the address space (never dereferenced).
    const std::uintptr_t top = (UINTPTR_MAX - 4095) & ~std::uintptr_t{63};
    EXPECT_EQ(attach({reinterpret_cast<std::byte*>(top), need}, o), errc::suvm_store_address_wraps);

    // Overlapping the enclave's memory, at either end or inside.
    const auto base = reinterpret_cast<std::uintptr_t>(m.data());
    for (auto [begin, size] :
         {std::pair{base - 4096, std::size_t{4097}}, std::pair{base + need - 1, std::size_t{4096}},
          std::pair{base + 64, std::size_t{64}}, std::pair{base - 4096, need + 8192}}) {
        auto bad = o;
        bad.store.trusted_memory = {begin, size};
        EXPECT_EQ(attach(m.span().first(need), bad), errc::suvm_store_overlaps_enclave) << begin;
    }
    auto fine = o;
    fine.store.trusted_memory = {base + need, 4096};
    EXPECT_EQ(attach(m.span().first(need), fine), errc::ok);
}

TEST(store_attach_rejects, cache_smaller_than_min_frames) {
    auto o = small_options(16, 4);
    o.cache_bytes = 3 * 4096;
    untrusted_memory m(space::store_size(o).value());
    auto s = space::create(o, m.span());
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error(), errc::invalid_argument);
}

}  // namespace
}  // namespace airlock::suvm::test
