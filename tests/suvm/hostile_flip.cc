// SPDX-License-Identifier: Apache-2.0
// Description: one bit flipped anywhere in a sealed page (ciphertext or tag)
// is caught as suvm_fault_integrity when the page is next read.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

TEST(hostile_flip, every_position_kind_is_caught) {
    // Positions: first byte, middle of the ciphertext, last ciphertext byte,
    // first and last tag byte.
    const std::size_t ps = 4096;
    for (std::size_t at : {std::size_t{0}, ps / 2 + 3, ps - 1, ps, ps + sealer::tag_bytes - 1}) {
        for (cipher c : {cipher::automatic, cipher::xchacha20poly1305}) {
            auto o = tamper_options();
            o.cipher_choice = c;
            paged p(o);
            written_and_evicted(p);
            p.slot(7)[at] ^= std::byte{0x10};
            SCOPED_TRACE(at);
            expect_integrity_fault(p, 7);
        }
    }
}

TEST(hostile_flip, pages_not_touched_since_still_read_before_the_flip_is_found) {
    paged p(tamper_options());
    written_and_evicted(p);
    p.slot(9)[100] ^= std::byte{1};
    std::vector<std::byte> buf(p.s->page_size());
    ASSERT_TRUE(p.s->read(8 * buf.size(), buf).has_value());
    EXPECT_EQ(buf[1], pattern(8 * buf.size() + 1));
    expect_integrity_fault(p, 9);
}

}  // namespace
}  // namespace airlock::suvm::test
