// SPDX-License-Identifier: Apache-2.0
// Description: in a direct-mode space, the host zeroing sealed sub-pages
// (the store's tail, one tag) is caught, and a store shrunk below the size
// the sub-page layout needs is refused at create.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

class direct_hostile_truncate : public ::testing::TestWithParam<std::size_t> {};

TEST_P(direct_hostile_truncate, the_tail_of_the_store_zeroed) {
    const std::size_t sub = GetParam();
    paged p(direct_options(sub));
    fill_pattern(*p.s, p.s->page_count());
    const std::uint64_t first_lost = 12 * (4096 / sub) + 1;
    const std::size_t from = first_lost * p.sub_slot_size();
    std::memset(p.memory->data() + from, 0, p.memory->span().size() - from);
    std::vector<std::byte> buf(sub);
    ASSERT_TRUE(p.s->read((first_lost - 1) * sub, buf).has_value());
    EXPECT_EQ(buf[3], pattern((first_lost - 1) * sub + 3));
    expect_sub_page_fault(p, first_lost);
}

TEST_P(direct_hostile_truncate, one_tag_zeroed) {
    const std::size_t sub = GetParam();
    paged p(direct_options(sub));
    fill_pattern(*p.s, p.s->page_count());
    std::memset(p.sub_slot(5) + sub, 0, sealer::tag_bytes);
    expect_sub_page_fault(p, 5);
}

TEST_P(direct_hostile_truncate, a_shrunk_store_is_refused) {
    const auto o = direct_options(GetParam());
    const std::size_t need = space::store_size(o).value();
    untrusted_memory m(need);
    // What a page-slot layout would need is less: the check is the sub-page one.
    auto cached = o;
    cached.sub_page_bytes = 0;
    ASSERT_LT(space::store_size(cached).value(), need);
    for (std::size_t shrunk : {need - 64, space::store_size(cached).value()}) {
        auto s = space::create(o, m.span().first(shrunk));
        ASSERT_FALSE(s.has_value());
        EXPECT_EQ(s.error(), errc::suvm_store_too_small) << shrunk;
    }
    EXPECT_TRUE(space::create(o, m.span()).has_value());
}

INSTANTIATE_TEST_SUITE_P(sub_pages, direct_hostile_truncate, ::testing::Values(256, 512, 1024));

}  // namespace
}  // namespace airlock::suvm::test
