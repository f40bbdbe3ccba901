// SPDX-License-Identifier: Apache-2.0
// Description: the host swapping two sealed pages (each a valid ciphertext
// of the same version) is caught: the page number is bound into each seal.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

TEST(hostile_swap, two_pages_swapped) {
    paged p(tamper_options());
    written_and_evicted(p);  // every page sealed once: same version everywhere
    std::vector<std::byte> tmp(p.slot_size());
    std::memcpy(tmp.data(), p.slot(4), tmp.size());
    std::memcpy(p.slot(4), p.slot(11), tmp.size());
    std::memcpy(p.slot(11), tmp.data(), tmp.size());
    expect_integrity_fault(p, 4);
}

TEST(hostile_swap, one_page_copied_over_another) {
    paged p(tamper_options());
    written_and_evicted(p);
    std::memcpy(p.slot(20), p.slot(2), p.slot_size());
    expect_integrity_fault(p, 20);
}

}  // namespace
}  // namespace airlock::suvm::test
