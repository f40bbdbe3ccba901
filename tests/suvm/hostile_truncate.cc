// SPDX-License-Identifier: Apache-2.0
// Description: the host zeroing sealed pages (a truncated or discarded
// store) is caught; a zeroed slot is never taken for a never-written page.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

TEST(hostile_truncate, the_tail_of_the_store_zeroed) {
    paged p(tamper_options());
    written_and_evicted(p);
    const std::size_t from = 24 * p.slot_size();
    std::memset(p.memory->data() + from, 0, p.memory->span().size() - from);
    std::vector<std::byte> buf(p.s->page_size());
    ASSERT_TRUE(p.s->read(23 * buf.size(), buf).has_value());
    expect_integrity_fault(p, 24);
}

TEST(hostile_truncate, one_tag_zeroed) {
    paged p(tamper_options());
    written_and_evicted(p);
    std::memset(p.slot(3) + p.s->page_size(), 0, sealer::tag_bytes);
    expect_integrity_fault(p, 3);
}

}  // namespace
}  // namespace airlock::suvm::test
