// SPDX-License-Identifier: Apache-2.0
// Description: a written page is sealed when evicted (only then), its slot
// changes and holds no plaintext, and it reads back after the round trip.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

TEST(dirty_write_back, sealed_on_eviction_and_read_back) {
    auto o = small_options(16, 4);
    o.write_back_batch = 0;
    paged p(o);
    s_ptr<std::uint64_t> q(*p.s, 3 * p.s->page_size() + 8);
    ASSERT_TRUE(q.store(0x1122334455667788u).has_value());
    q = s_ptr<std::uint64_t>();  // unpin
    EXPECT_EQ(p.s->stats().write_backs, 0u);
    const auto slot_before = std::vector<std::byte>(p.slot(3), p.slot(3) + p.slot_size());

    // Touch the other pages until page 3 is evicted.
    for (int round = 0; round < 2; ++round)
        for (std::uint64_t pg = 4; pg < 16; ++pg)
            ASSERT_TRUE(p.s->pin(pg).has_value());
    EXPECT_EQ(p.s->stats().write_backs, 1u);
    const std::vector<std::byte> slot_after(p.slot(3), p.slot(3) + p.slot_size());
    EXPECT_NE(slot_after, slot_before);
    // No plaintext in the store: the written word does not appear.
    const std::uint64_t word = 0x1122334455667788u;
    for (std::size_t i = 0; i + 8 <= slot_after.size(); ++i)
        ASSERT_NE(std::memcmp(slot_after.data() + i, &word, 8), 0) << "plaintext at " << i;

    s_ptr<const std::uint64_t> r(*p.s, 3 * p.s->page_size() + 8);
    auto v = r.load();
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*v, word);
    EXPECT_EQ(*r, word);
}

TEST(dirty_write_back, batches_seal_cold_dirty_frames_together) {
    auto o = small_options(64, 8);
    o.write_back_batch = 8;
    o.prefetch = false;
    paged p(o);
    fill_pattern(*p.s, 64);
    // Every eviction here is of a dirty page; the batch seals those behind it
    // at once, so total write-backs still equal the pages written, no more.
    ASSERT_TRUE(p.s->flush().has_value());
    const auto st = p.s->stats();
    EXPECT_EQ(st.write_backs, 64u);
    std::vector<std::byte> page(p.s->page_size());
    for (std::uint64_t pg = 0; pg < 64; ++pg) {
        ASSERT_TRUE(p.s->read(pg * page.size(), page).has_value());
        ASSERT_EQ(page[5], pattern(pg * page.size() + 5));
    }
    EXPECT_EQ(p.s->stats().write_backs, 64u);  // reading wrote nothing back
}

}  // namespace
}  // namespace airlock::suvm::test
