// SPDX-License-Identifier: Apache-2.0
// Description: every page size from 1 KiB to 64 KiB pages data larger than
// the cache correctly; other sizes are refused.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

class page_sizes : public ::testing::TestWithParam<std::size_t> {};

TEST_P(page_sizes, round_trip) {
    const std::size_t ps = GetParam();
    paged p(small_options(24, 4, ps));
    ASSERT_TRUE(p.s);
    EXPECT_EQ(p.s->page_size(), ps);
    EXPECT_EQ(p.s->frame_count(), 4u);
    fill_pattern(*p.s, 24, 7);
    std::vector<std::byte> got(ps);
    for (std::uint64_t pg = 24; pg-- > 0;) {
        ASSERT_TRUE(p.s->read(pg * ps, got).has_value());
        for (std::size_t b = 0; b < ps; ++b)
            ASSERT_EQ(got[b], pattern(pg * ps + b, 7));
    }
    // A read spanning a page boundary.
    std::vector<std::byte> across(ps);
    ASSERT_TRUE(p.s->read(ps / 2, across).has_value());
    for (std::size_t b = 0; b < ps; ++b)
        ASSERT_EQ(across[b], pattern(ps / 2 + b, 7));
}

INSTANTIATE_TEST_SUITE_P(sizes, page_sizes,
                         ::testing::Values(1024, 2048, 4096, 8192, 16384, 32768, 65536));

TEST(page_sizes, others_are_refused) {
    for (std::size_t ps : {0ul, 512ul, 3000ul, 4095ul, 131072ul}) {
        space_options o;
        o.size = 1 << 20;
        o.page_size = ps;
        o.cache_bytes = 1 << 20;
        EXPECT_EQ(space::store_size(o).error(), errc::invalid_argument) << ps;
        untrusted_memory m(1 << 22);
        auto s = space::create(o, m.span());
        ASSERT_FALSE(s.has_value()) << ps;
        EXPECT_EQ(s.error(), errc::invalid_argument) << ps;
    }
}

}  // namespace
}  // namespace airlock::suvm::test
