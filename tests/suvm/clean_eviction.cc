// SPDX-License-Identifier: Apache-2.0
// Description: evicting a page that was only read writes nothing to the
// store; a page read through s_ptr<const T> stays clean.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

TEST(clean_eviction, reads_never_write_back) {
    paged p(small_options(32, 4));
    fill_pattern(*p.s, 32);
    ASSERT_TRUE(p.s->flush().has_value());
    evict_all(*p.s);
    const auto store_before = p.memory->snapshot();
    const auto written_before = p.s->stats().write_backs;

    std::vector<std::byte> page(p.s->page_size());
    for (int round = 0; round < 3; ++round)
        for (std::uint64_t pg = 0; pg < 32; ++pg) {
            ASSERT_TRUE(p.s->read(pg * page.size(), page).has_value());
            s_ptr<const std::uint64_t> q(*p.s, pg * page.size() + 64);
            ASSERT_TRUE(q.load().has_value());
            ASSERT_TRUE(q.get().has_value());
        }
    EXPECT_EQ(p.s->stats().write_backs, written_before);
    EXPECT_GE(p.s->stats().evictions, 90u);
    EXPECT_TRUE(p.memory->snapshot() == store_before) << "a clean page was written back";
}

TEST(clean_eviction, a_page_never_written_is_never_sealed) {
    paged p(small_options(32, 4));
    evict_all(*p.s);
    EXPECT_EQ(p.s->stats().write_backs, 0u);
    for (auto b : p.memory->snapshot())
        ASSERT_EQ(b, std::byte{0});
}

}  // namespace
}  // namespace airlock::suvm::test
