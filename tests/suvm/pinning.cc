// SPDX-License-Identifier: Apache-2.0
// Description: a pinned page stays in its frame, unchanged, while every
// other page cycles through the cache; with every frame pinned a miss is
// suvm_cache_exhausted, and unpinning one lets it proceed.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

TEST(pinning, a_pinned_page_is_never_evicted) {
    paged p(small_options(32, 4));
    fill_pattern(*p.s, 32);
    auto held = p.s->pin(5);
    ASSERT_TRUE(held.has_value());
    std::byte* data = held->data();
    for (int round = 0; round < 4; ++round) {
        for (std::uint64_t pg = 0; pg < 32; ++pg) {
            if (pg != 5) {
                ASSERT_TRUE(p.s->pin(pg).has_value());
            }
        }
    }
    EXPECT_EQ(held->data(), data);
    for (std::size_t b = 0; b < p.s->page_size(); ++b)
        ASSERT_EQ(data[b], pattern(5 * p.s->page_size() + b));
}

TEST(pinning, every_frame_pinned_is_cache_exhausted) {
    paged p(small_options(32, 4));
    std::vector<page_ref> pins;
    for (std::uint64_t pg = 0; pg < 4; ++pg) {
        auto r = p.s->pin(pg, access::write);
        ASSERT_TRUE(r.has_value());
        pins.push_back(std::move(*r));
    }
    auto more = p.s->pin(10);
    ASSERT_FALSE(more.has_value());
    EXPECT_EQ(more.error(), errc::suvm_cache_exhausted);
    // An ordinary outcome, not a fault: the space goes on.
    EXPECT_EQ(p.s->fault(), errc::ok);
    pins.pop_back();
    EXPECT_TRUE(p.s->pin(10).has_value());
}

TEST(pinning, an_s_ptr_holds_one_pin_and_moves_it) {
    paged p(small_options(32, 4));
    s_ptr<std::uint32_t> a(*p.s, 0);
    ASSERT_TRUE(a.store(1).has_value());
    std::vector<s_ptr<std::uint32_t>> others;
    for (std::uint64_t pg = 1; pg < 4; ++pg) {
        others.emplace_back(*p.s, pg * p.s->page_size());
        ASSERT_TRUE(others.back().store(static_cast<std::uint32_t>(pg)).has_value());
    }
    // Four pins held: page 4 cannot come in until `a` moves off page 0...
    s_ptr<std::uint32_t> b(*p.s, 4 * p.s->page_size());
    EXPECT_EQ(b.get().error(), errc::suvm_cache_exhausted);
    a += static_cast<std::ptrdiff_t>(4 * p.s->page_size() / sizeof(std::uint32_t));
    ASSERT_TRUE(a == b);
    ASSERT_TRUE(a.store(4).has_value());  // a's pin moved to page 4
    b = s_ptr<std::uint32_t>();
    others.clear();
    for (std::uint64_t pg = 0; pg < 5; ++pg) {
        s_ptr<const std::uint32_t> r(*p.s, pg * p.s->page_size());
        EXPECT_EQ(r.load().value_or(99), pg == 0 ? 1u : pg);
    }
}

}  // namespace
}  // namespace airlock::suvm::test
