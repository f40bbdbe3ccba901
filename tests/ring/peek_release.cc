// SPDX-License-Identifier: Apache-2.0
// Description: try_peek shows the next record until release; fragments and tags show as written.
#include <cstdint>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;

TEST(peek_release, peek_is_repeatable_until_release) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    ASSERT_TRUE(p.try_send(11, pattern(20, 11)));
    ASSERT_TRUE(p.try_send(12, pattern(0, 12)));
    ASSERT_TRUE(p.try_send(13, pattern(64, 13)));
    for (int again = 0; again < 3; ++again) {
        auto rec = c.try_peek();
        ASSERT_TRUE(rec);
        EXPECT_EQ(rec->tag(), 11) << "peek " << again;
        EXPECT_EQ(rec->size(), 20u);
    }
    const std::uint16_t tags[] = {11, 12, 13};
    const std::size_t sizes[] = {20, 0, 64};
    for (int i = 0; i < 3; ++i) {
        auto rec = c.try_peek();
        ASSERT_TRUE(rec) << to_string(rec.error());
        EXPECT_EQ(rec->tag(), tags[i]);
        EXPECT_EQ(rec->kind(), wire::record_kind::message);
        ASSERT_EQ(rec->size(), sizes[i]);
        std::vector<std::byte> got(sizes[i]);
        rec->copy_to(got);
        EXPECT_TRUE(is_pattern(got, sizes[i], tags[i]));
        c.release(*rec);
    }
    EXPECT_EQ(c.try_peek().error(), errc::ring_empty);
    EXPECT_FALSE(c.has_data());
}

TEST(peek_release, has_data_sees_published_records_only) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    EXPECT_FALSE(c.has_data());
    auto res = p.try_reserve(8, 1);
    ASSERT_TRUE(res);
    p.commit(*res);
    EXPECT_FALSE(c.has_data());
    p.publish();
    EXPECT_TRUE(c.has_data());
    EXPECT_TRUE(c.has_data()) << "has_data consumed something";
    auto rec = c.try_peek();
    ASSERT_TRUE(rec);
    c.release(*rec);
    EXPECT_FALSE(c.has_data());
}

TEST(peek_release, every_tag_value_round_trips) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint32_t tag : {0u, 1u, 0x7fffu, 0x8000u, 0xfffeu, 0xffffu}) {
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(tag), pattern(3, tag)));
        auto m = c.try_receive();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->tag, tag);
        EXPECT_TRUE(is_pattern(m->bytes, 3, tag));
    }
}

TEST(peek_release, a_fragmented_message_peeks_as_its_fragments) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const std::size_t max = p.max_record_payload();  // 2040
    const std::size_t total = max + 9;               // first: 8 + (max - 8), last: 17
    const auto bytes = pattern(total, 77);
    outgoing_message m(77, bytes);
    ASSERT_TRUE(p.try_send(m));
    EXPECT_TRUE(m.done());

    auto first = c.try_peek();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->kind(), wire::record_kind::fragment_first);
    EXPECT_EQ(first->tag(), 77);
    ASSERT_EQ(first->size(), max);
    EXPECT_EQ(first->read_word(0), total) << "the first fragment announces the total";
    std::vector<std::byte> part(max - 8);
    first->copy_to(part, 8);
    EXPECT_TRUE(is_pattern(part, max - 8, 77));
    c.release(*first);

    auto last = c.try_peek();
    ASSERT_TRUE(last);
    EXPECT_EQ(last->kind(), wire::record_kind::fragment_last);
    EXPECT_EQ(last->tag(), 77);
    ASSERT_EQ(last->size(), 17u);
    std::vector<std::byte> rest(17);
    last->copy_to(rest);
    for (std::size_t i = 0; i < rest.size(); ++i)
        ASSERT_EQ(rest[i], test::pattern_byte(77, max - 8 + i)) << "byte " << i;
    c.release(*last);
    EXPECT_EQ(c.try_peek().error(), errc::ring_empty);
}

TEST(peek_release, endpoints_move_with_their_private_state) {
    test::test_region r({256});
    ring_producer p0(r.ring());
    ring_consumer c0(r.ring());
    // Move both mid-stream, after several laps, and keep going.
    for (std::uint64_t i = 0; i < 50; ++i) {
        ASSERT_TRUE(p0.try_send(1, pattern(40, i)));
        auto m = c0.try_receive();
        ASSERT_TRUE(m);
    }
    ring_producer p = std::move(p0);
    ring_consumer c;
    c = std::move(c0);
    for (std::uint64_t i = 50; i < 100; ++i) {
        ASSERT_TRUE(p.try_send(1, pattern(40, i))) << i;
        auto m = c.try_receive();
        ASSERT_TRUE(m) << i;
        EXPECT_TRUE(is_pattern(m->bytes, 40, i));
    }
}
