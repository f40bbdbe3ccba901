// SPDX-License-Identifier: Apache-2.0
// Description: in a direct-mode space, the host putting back an older
// sealed copy of a sub-page, or a whole older store, is caught: each
// sub-page's version in enclave memory has moved on.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

class direct_hostile_replay : public ::testing::TestWithParam<std::size_t> {};

TEST_P(direct_hostile_replay, an_older_copy_of_one_sub_page) {
    const std::size_t sub = GetParam();
    paged p(direct_options(sub));
    fill_pattern(*p.s, p.s->page_count(), 1);
    const std::uint64_t index = 6 * (4096 / sub) + 2;
    const std::vector<std::byte> old(p.sub_slot(index), p.sub_slot(index) + p.sub_slot_size());
    // One word of the sub-page is written again: it is sealed as version 2.
    s_ptr<std::uint64_t> w(*p.s, index * sub + 24);
    ASSERT_TRUE(w.store(1234).has_value());
    ASSERT_NE(std::memcmp(old.data(), p.sub_slot(index), old.size()), 0);
    std::memcpy(p.sub_slot(index), old.data(), old.size());
    expect_sub_page_fault(p, index);
}

TEST_P(direct_hostile_replay, a_whole_older_store) {
    paged p(direct_options(GetParam()));
    fill_pattern(*p.s, p.s->page_count(), 1);
    const auto old = p.memory->snapshot();
    fill_pattern(*p.s, p.s->page_count(), 2);
    std::memcpy(p.memory->data(), old.data(), old.size());
    expect_sub_page_fault(p, 0);
}

INSTANTIATE_TEST_SUITE_P(sub_pages, direct_hostile_replay, ::testing::Values(256, 512, 1024));

}  // namespace
}  // namespace airlock::suvm::test
