// SPDX-License-Identifier: Apache-2.0
// Description: the host putting back an older sealed copy of a page (a
// replay) is caught: the version kept in enclave memory has moved on.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

TEST(hostile_replay, an_older_copy_of_the_same_page) {
    paged p(tamper_options());
    written_and_evicted(p, 1);
    const std::vector<std::byte> old(p.slot(6), p.slot(6) + p.slot_size());
    // The enclave writes page 6 again; it is sealed under the next version.
    fill_pattern(*p.s, 32, 2);
    evict_all(*p.s);
    ASSERT_NE(std::memcmp(old.data(), p.slot(6), old.size()), 0);
    std::memcpy(p.slot(6), old.data(), old.size());
    expect_integrity_fault(p, 6);
}

TEST(hostile_replay, a_whole_older_store) {
    paged p(tamper_options());
    written_and_evicted(p, 1);
    const auto old = p.memory->snapshot();
    fill_pattern(*p.s, 32, 2);
    evict_all(*p.s);
    std::memcpy(p.memory->data(), old.data(), old.size());
    // Whichever page is read first is caught.
    expect_integrity_fault(p, 0);
}

}  // namespace
}  // namespace airlock::suvm::test
