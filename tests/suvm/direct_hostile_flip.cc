// SPDX-License-Identifier: Apache-2.0
// Description: in a direct-mode space, one bit flipped anywhere in a sealed
// sub-page (ciphertext or tag) is caught by the next read of that sub-page,
// even an 8-byte one; the sub-pages around it still read correctly before.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

class direct_hostile_flip : public ::testing::TestWithParam<std::size_t> {};

TEST_P(direct_hostile_flip, every_position_kind_is_caught) {
    const std::size_t sub = GetParam();
    for (std::size_t at :
         {std::size_t{0}, sub / 2 + 3, sub - 1, sub, sub + sealer::tag_bytes - 1}) {
        for (cipher c : {cipher::automatic, cipher::xchacha20poly1305}) {
            auto o = direct_options(sub);
            o.cipher_choice = c;
            paged p(o);
            fill_pattern(*p.s, p.s->page_count());
            const std::uint64_t index = 7 * (4096 / sub) + 1;  // page 7, its second sub-page
            p.sub_slot(index)[at] ^= std::byte{0x10};
            SCOPED_TRACE(at);
            // Its neighbours in the same page are untouched and still read.
            std::vector<std::byte> next(sub);
            ASSERT_TRUE(p.s->read((index + 1) * sub, next).has_value());
            EXPECT_EQ(next[5], pattern((index + 1) * sub + 5));
            expect_sub_page_fault(p, index);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(sub_pages, direct_hostile_flip, ::testing::Values(256, 512, 1024));

}  // namespace
}  // namespace airlock::suvm::test
