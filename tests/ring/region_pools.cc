// SPDX-License-Identifier: Apache-2.0
// Description: buffer pools are laid out after the rings, described in the header, checked at
// attach.
#include <cstdint>
#include <vector>

#include "airlock/ring/buffer_pool.hh"
#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::aligned_memory;

namespace {

shared_u64& word(aligned_memory& m, std::size_t byte_offset) {
    return reinterpret_cast<shared_u64*>(m.data())[byte_offset / 8];
}

}  // namespace

TEST(region_pools, a_region_without_pools_keeps_its_layout) {
    // The pools go after the rings, so this is the worked example of
    // region_format_attach: 2688 bytes of rings, one page.
    EXPECT_EQ(region::required_size({{256, 1024}, 2}).value(), 4096u);
    EXPECT_EQ(region::required_size({{256, 4096}, 2}).value(), 8192u);
}

TEST(region_pools, pools_follow_the_rings_on_granule_boundaries) {
    // Rings end at 2688; the pool table (2 × 32 bytes) at 2688 ends at 2752;
    // pool 0 at 4096 (8192 bytes), pool 1 at 12288 (4096 bytes), end 16384.
    const region_geometry g{{256, 1024}, 2, {8192, 4096}};
    ASSERT_EQ(region::required_size(g).value(), 16384u);
    aligned_memory mem(16384);
    auto r = region::format(mem.span(), g);
    ASSERT_TRUE(r) << to_string(r.error());
    ASSERT_EQ(r->pool_count(), 2u);
    EXPECT_EQ(reinterpret_cast<std::byte*>(r->pool(0).data) - mem.data(), 4096);
    EXPECT_EQ(r->pool(0).size, 8192u);
    EXPECT_EQ(reinterpret_cast<std::byte*>(r->pool(1).data) - mem.data(), 12288);
    EXPECT_EQ(r->pool(1).size, 4096u);
    EXPECT_EQ(shared::load_relaxed(word(mem, 56)), 2u) << "pool_count";
    EXPECT_EQ(shared::load_relaxed(word(mem, 2688)), 4096u) << "pool 0 offset";
    EXPECT_EQ(shared::load_relaxed(word(mem, 2696)), 8192u) << "pool 0 size";
    EXPECT_EQ(shared::load_relaxed(word(mem, 2720)), 12288u) << "pool 1 offset";
    EXPECT_EQ(shared::load_relaxed(word(mem, 2728)), 4096u) << "pool 1 size";
    EXPECT_EQ(shared::load_relaxed(word(mem, 8)), wire::region_version);
    EXPECT_EQ(wire::region_version, 3u);
    auto peer = region::attach(mem.span(), g);
    ASSERT_TRUE(peer);
    EXPECT_EQ(peer->pool(1).data, r->pool(1).data);
}

TEST(region_pools, pool_sizes_outside_the_limits_are_refused) {
    for (std::size_t bad :
         {std::size_t{0}, std::size_t{100}, std::size_t{4096 + 8}, wire::max_pool_size + 4096}) {
        EXPECT_EQ(region::required_size({{256}, 0, {bad}}).error(), errc::invalid_argument) << bad;
    }
    EXPECT_EQ(
        region::required_size({{256}, 0, std::vector<std::size_t>(max_pools + 1, 4096)}).error(),
        errc::invalid_argument);
}

TEST(region_pools, attach_compares_every_pool_word_with_the_trusted_geometry) {
    const region_geometry g{{256, 1024}, 2, {8192, 4096}};
    aligned_memory mem(region::required_size(g).value());
    ASSERT_TRUE(region::format(mem.span(), g));
    // pool_count, then each descriptor's offset and size.
    for (std::size_t at : {std::size_t{56}, std::size_t{2688}, std::size_t{2696}, std::size_t{2720},
                           std::size_t{2728}}) {
        const std::uint64_t good = shared::load_relaxed(word(mem, at));
        for (std::uint64_t bad : {good + 8, good - 4096, std::uint64_t{0}, ~std::uint64_t{0}}) {
            shared::store_relaxed(word(mem, at), bad);
            EXPECT_EQ(region::attach(mem.span(), g).error(), errc::region_geometry_mismatch)
                << "word at " << at << " = " << bad;
        }
        shared::store_relaxed(word(mem, at), good);
    }
    EXPECT_TRUE(region::attach(mem.span(), g));
    // A peer that expects other pools does not attach either.
    EXPECT_EQ(region::attach(mem.span(), {{256, 1024}, 2, {8192}}).error(),
              errc::region_geometry_mismatch);
    EXPECT_EQ(region::attach(mem.span(), {{256, 1024}, 2}).error(), errc::region_geometry_mismatch);
}
