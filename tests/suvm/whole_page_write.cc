// SPDX-License-Identifier: Apache-2.0
// Description: writing a whole page does not bring the old page in: a
// sealed page the host damaged is simply replaced, while a partial write
// of a damaged page is caught.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

TEST(whole_page_write, replaces_without_loading) {
    paged p(tamper_options());
    written_and_evicted(p);
    p.slot(5)[10] ^= std::byte{1};  // would fail authentication if opened
    std::vector<std::byte> page(p.s->page_size(), std::byte{0x33});
    ASSERT_TRUE(p.s->write(5 * page.size(), page).has_value());
    EXPECT_EQ(p.s->fault(), errc::ok);
    evict_all(*p.s);
    std::vector<std::byte> got(page.size());
    ASSERT_TRUE(p.s->read(5 * page.size(), got).has_value());
    EXPECT_EQ(got, page);
    // fill over whole pages too.
    p.slot(6)[10] ^= std::byte{1};
    ASSERT_TRUE(p.s->fill(6 * page.size(), std::byte{0x44}, page.size()).has_value());
    EXPECT_EQ(p.s->compare(6 * page.size(), std::vector<std::byte>(page.size(), std::byte{0x44}))
                  .value_or(1),
              0);
}

TEST(whole_page_write, a_partial_write_still_authenticates) {
    paged p(tamper_options());
    written_and_evicted(p);
    p.slot(5)[10] ^= std::byte{1};
    std::vector<std::byte> part(p.s->page_size() - 1, std::byte{0x33});
    EXPECT_EQ(p.s->write(5 * p.s->page_size(), part).error(), errc::suvm_fault_integrity);
}

}  // namespace
}  // namespace airlock::suvm::test
