// SPDX-License-Identifier: Apache-2.0
// Description: in a direct-mode space, the host swapping two sealed
// sub-pages of one page, or of two pages at the same index, or copying one
// over another (all of the same version) is caught: page and sub-page index
// are bound into each seal.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

class direct_hostile_swap : public ::testing::TestWithParam<std::size_t> {
  protected:
    void swap_slots(paged& p, std::uint64_t a, std::uint64_t b) {
        std::vector<std::byte> tmp(p.sub_slot_size());
        std::memcpy(tmp.data(), p.sub_slot(a), tmp.size());
        std::memcpy(p.sub_slot(a), p.sub_slot(b), tmp.size());
        std::memcpy(p.sub_slot(b), tmp.data(), tmp.size());
    }
    std::uint64_t per_page() const { return 4096 / GetParam(); }
};

TEST_P(direct_hostile_swap, two_sub_pages_of_one_page) {
    paged p(direct_options(GetParam()));
    fill_pattern(*p.s, p.s->page_count());  // every sub-page sealed once: version 1
    swap_slots(p, 3 * per_page() + 0, 3 * per_page() + 1);
    expect_sub_page_fault(p, 3 * per_page() + 1);
}

TEST_P(direct_hostile_swap, the_same_sub_page_of_two_pages) {
    paged p(direct_options(GetParam()));
    fill_pattern(*p.s, p.s->page_count());
    swap_slots(p, 4 * per_page() + 1, 11 * per_page() + 1);
    expect_sub_page_fault(p, 11 * per_page() + 1);
}

TEST_P(direct_hostile_swap, one_sub_page_copied_over_another) {
    paged p(direct_options(GetParam()));
    fill_pattern(*p.s, p.s->page_count());
    std::memcpy(p.sub_slot(9 * per_page()), p.sub_slot(2 * per_page() + 1), p.sub_slot_size());
    expect_sub_page_fault(p, 9 * per_page());
}

INSTANTIATE_TEST_SUITE_P(sub_pages, direct_hostile_swap, ::testing::Values(256, 512, 1024));

}  // namespace
}  // namespace airlock::suvm::test
