// SPDX-License-Identifier: Apache-2.0
// Description: s_ptr arithmetic, comparison and dereference over many pages;
// s_array allocation and checked access; straddling and out-of-range
// objects are errors, and load/store cross page boundaries.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

struct point {
    std::uint64_t x, y;
};
struct odd {
    std::uint8_t bytes[24];
};

TEST(s_ptr_arrays, arithmetic_and_dereference) {
    paged p(small_options(64, 4));
    auto arr = s_array<point>::allocate(*p.s, 10000);
    ASSERT_TRUE(arr.has_value());
    s_ptr<point> it = arr->begin();
    for (std::uint64_t i = 0; i < 10000; ++i, ++it) {
        it->x = i;
        (*it).y = i * i;
    }
    EXPECT_EQ(it - arr->begin(), 10000);
    EXPECT_TRUE(arr->begin() < it);
    // Backwards, through a const pointer.
    s_ptr<const point> back = arr->at(9999);
    for (std::uint64_t i = 10000; i-- > 0; --back) {
        ASSERT_EQ(back->x, i);
        ASSERT_EQ(back->y, i * i);
    }
    EXPECT_EQ((arr->begin() + 500)->x, 500u);
    EXPECT_EQ(arr->load(1234).value_or(point{}).y, 1234u * 1234u);
    EXPECT_EQ(arr->load(10000).error(), errc::suvm_out_of_range);
    ASSERT_TRUE(arr->store(7, point{70, 700}).has_value());
    EXPECT_EQ(arr->at(7)->y, 700u);
}

TEST(s_ptr_arrays, straddling_objects_use_load_and_store) {
    paged p(small_options(8, 4));
    // 24-byte objects: some cross a page boundary.
    auto arr = s_array<odd>::allocate(*p.s, 1000);
    ASSERT_TRUE(arr.has_value());
    std::uint64_t straddling = 0;
    for (std::uint64_t i = 0; i < 1000; ++i) {
        odd v;
        std::memset(v.bytes, static_cast<int>(i), sizeof v.bytes);
        ASSERT_TRUE(arr->at(i).store(v).has_value());
        if (!arr->at(i).get()) {
            EXPECT_EQ(arr->at(i).get().error(), errc::suvm_straddles_page);
            ++straddling;
        }
    }
    EXPECT_GT(straddling, 0u);
    for (std::uint64_t i = 0; i < 1000; ++i) {
        auto v = arr->at(i).load();
        ASSERT_TRUE(v.has_value());
        ASSERT_EQ(v->bytes[23], static_cast<std::uint8_t>(i));
    }
}

TEST(s_ptr_arrays, out_of_range_and_allocator_limits) {
    paged p(small_options(4, 4));
    s_ptr<std::uint64_t> end(*p.s, p.s->size());
    EXPECT_EQ(end.get().error(), errc::suvm_out_of_range);
    EXPECT_EQ(end.load().error(), errc::suvm_out_of_range);
    EXPECT_EQ(*end, 0u);  // the stand-in, never memory past the space
    EXPECT_EQ(p.s->fault(), errc::ok);
    EXPECT_EQ(p.s->pin(4).error(), errc::suvm_out_of_range);
    std::vector<std::byte> eight(8);
    EXPECT_EQ(p.s->read(p.s->size() - 4, eight).error(), errc::suvm_out_of_range);

    auto a = p.s->allocate(p.s->size() - 100, 8);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(*a, 0u);
    EXPECT_EQ(p.s->allocate(200, 8).error(), errc::suvm_out_of_memory);
    EXPECT_EQ(p.s->allocate(10, 3).error(), errc::invalid_argument);
    auto b = p.s->allocate(64, 64);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(*b % 64, 0u);
}

TEST(s_ptr_arrays, fill_and_compare) {
    paged p(small_options(16, 4));
    ASSERT_TRUE(p.s->fill(1000, std::byte{0x7E}, 5 * p.s->page_size()).has_value());
    std::vector<std::byte> want(5 * p.s->page_size(), std::byte{0x7E});
    EXPECT_EQ(p.s->compare(1000, want).value_or(99), 0);
    want.back() = std::byte{0x7F};
    EXPECT_LT(p.s->compare(1000, want).value_or(99), 0);
    EXPECT_EQ(p.s->compare(999, std::vector<std::byte>(1, std::byte{0})).value_or(99), 0);
}

}  // namespace
}  // namespace airlock::suvm::test
