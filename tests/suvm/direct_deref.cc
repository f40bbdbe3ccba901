// SPDX-License-Identifier: Apache-2.0
// Description: `*p` and `p->` on an s_ptr into a direct-mode space stop the
// program with a message naming load()/store(): a direct space has no page
// to refer to, and a zeroed stand-in would read as zeros and drop writes
// without a sign. get() reports suvm_direct_space; load() and store() work.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

struct pair_of_words {
    std::uint64_t a;
    std::uint64_t b;
};

constexpr const char* use_load_store = "direct-mode space.*load\\(\\)/store\\(\\)";

TEST(direct_deref, star_read_stops_with_a_message) {
    paged p(direct_options(256));
    ASSERT_TRUE(p.s);
    s_ptr<std::uint64_t> w(*p.s, 64);
    ASSERT_TRUE(w.store(0x1234'5678'9abc'def0).has_value());
    s_ptr<const std::uint64_t> r(*p.s, 64);
    EXPECT_EQ(r.get().error(), errc::suvm_direct_space);
    EXPECT_EQ(r.load().value(), 0x1234'5678'9abc'def0u);
    EXPECT_DEATH((void)std::uint64_t{*r}, use_load_store);
}

TEST(direct_deref, star_write_stops_with_a_message) {
    paged p(direct_options(512));
    ASSERT_TRUE(p.s);
    s_ptr<std::uint64_t> w(*p.s, 4096 + 8);
    EXPECT_EQ(w.get().error(), errc::suvm_direct_space);
    EXPECT_DEATH(*w = 7, use_load_store);
    // Nothing was written, and store() still does.
    EXPECT_EQ(w.load().value(), 0u);
    ASSERT_TRUE(w.store(7).has_value());
    EXPECT_EQ(w.load().value(), 7u);
}

TEST(direct_deref, arrow_stops_with_a_message) {
    paged p(direct_options(1024));
    ASSERT_TRUE(p.s);
    auto arr = s_array<pair_of_words>::allocate(*p.s, 4);
    ASSERT_TRUE(arr.has_value());
    s_ptr<pair_of_words> e = arr->at(2);
    ASSERT_TRUE(e.store({11, 22}).has_value());
    EXPECT_DEATH((void)std::uint64_t{e->b}, use_load_store);
    EXPECT_DEATH(e->a = 5, use_load_store);
    EXPECT_EQ(e.load().value().a, 11u);
    EXPECT_EQ(e.load().value().b, 22u);
}

// The check is about the space's kind, not its state: after an integrity
// fault a direct space still stops `*p`, while a cached one yields zeros.
TEST(direct_deref, stops_even_after_a_fault) {
    paged p(direct_options(256));
    ASSERT_TRUE(p.s);
    s_ptr<std::uint64_t> w(*p.s, 0);
    ASSERT_TRUE(w.store(1).has_value());
    p.sub_slot(0)[3] ^= std::byte{1};
    EXPECT_EQ(w.load().error(), errc::suvm_fault_integrity);
    EXPECT_EQ(w.get().error(), errc::suvm_fault_integrity);
    EXPECT_DEATH((void)std::uint64_t{*w}, use_load_store);
}

TEST(direct_deref, a_cached_space_dereferences_in_place) {
    paged p(small_options(8, 4));
    ASSERT_TRUE(p.s);
    s_ptr<pair_of_words> e(*p.s, 4096 + 16);
    *e = {3, 4};
    e->b += 1;
    EXPECT_EQ(e.load().value().a, 3u);
    EXPECT_EQ(e.load().value().b, 5u);
}

}  // namespace
}  // namespace airlock::suvm::test
