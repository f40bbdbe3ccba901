// SPDX-License-Identifier: Apache-2.0
// Description: messages of every small size, including 0 bytes, arrive whole,
// in order, with their tag, through the copying and zero-copy APIs.
#include "support/region_fixture.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::first_mismatch;
using airlock::test::pattern;

TEST(send_receive, copying_api_every_size_up_to_the_record_limit) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    ASSERT_EQ(p.max_record_payload(), 4096u / 2 - 8);
    for (std::size_t n = 0; n <= p.max_record_payload(); ++n) {
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(n), pattern(n, n)).has_value()) << n;
        auto m = c.try_receive();
        ASSERT_TRUE(m.has_value()) << "size " << n << ": " << to_string(m.error());
        EXPECT_EQ(m->tag, static_cast<std::uint16_t>(n));
        ASSERT_EQ(m->bytes.size(), n);
        EXPECT_EQ(first_mismatch(m->bytes, n), -1) << "size " << n;
    }
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
}

TEST(send_receive, zero_copy_reserve_commit_peek_release) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    auto res = p.try_reserve(24, 9);
    ASSERT_TRUE(res);
    res->write(pattern(24, 5));
    p.commit(*res);
    EXPECT_EQ(c.try_peek().error(), errc::ring_empty) << "not visible before publish";
    p.publish();
    auto rec = c.try_peek();
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->tag(), 9);
    EXPECT_EQ(rec->kind(), wire::record_kind::message);
    std::vector<std::byte> got(24);
    rec->copy_to(got);
    EXPECT_EQ(first_mismatch(got, 5), -1);
    c.release(*rec);
    EXPECT_EQ(c.try_peek().error(), errc::ring_empty);
}
