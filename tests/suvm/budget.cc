// SPDX-License-Identifier: Apache-2.0
// Description: the page cache never holds more page data than its byte
// budget, whatever the page size, and faults allocate nothing; the slot
// buffers of parallel misses count as metadata.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

TEST(budget, frames_fit_the_budget) {
    for (std::size_t ps : {1024ul, 4096ul, 65536ul}) {
        for (std::size_t budget : {4 * ps, 4 * ps + ps - 1, 100 * ps + 17}) {
            space_options o;
            o.page_size = ps;
            o.cache_bytes = budget;
            o.size = 10 * budget;  // data ten times the budget
            paged p(o);
            ASSERT_TRUE(p.s);
            EXPECT_LE(p.s->cache_bytes(), budget) << ps << " " << budget;
            EXPECT_EQ(p.s->frame_count(), budget / ps);
            EXPECT_GT(p.s->cache_bytes() + ps, budget);
        }
    }
}

TEST(budget, cached_pages_never_exceed_the_frames) {
    auto o = small_options(200, 10);
    paged p(o);
    fill_pattern(*p.s, 200);
    std::vector<std::byte> b(p.s->page_size());
    for (std::uint64_t i = 0; i < 500; ++i)
        ASSERT_TRUE(p.s->read(((i * 7919) % 200) * b.size(), b).has_value());
    const auto st = p.s->stats();
    // Every page brought in beyond the first ten frames evicted one.
    EXPECT_EQ(st.faults + st.prefetches, st.evictions + p.s->frame_count());
}

TEST(budget, slot_buffers_for_parallel_misses_are_metadata) {
    auto o = small_options(64, 8);
    o.parallel_misses = 1;
    paged one(o);
    o.parallel_misses = 64;
    paged many(o);
    ASSERT_TRUE(one.s && many.s);
    EXPECT_EQ(many.s->metadata_bytes() - one.s->metadata_bytes(), 63 * slot_bytes(4096));
    EXPECT_EQ(many.s->cache_bytes(), one.s->cache_bytes());
    for (std::size_t bad : {std::size_t{0}, std::size_t{65}}) {
        o.parallel_misses = bad;
        untrusted_memory m(space::store_size(o).value());
        EXPECT_EQ(space::create(o, m.span()).error(), errc::invalid_argument) << bad;
    }
}

}  // namespace
}  // namespace airlock::suvm::test
