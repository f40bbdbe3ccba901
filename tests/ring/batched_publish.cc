// SPDX-License-Identifier: Apache-2.0
// Description: commits stay invisible until one publish shows them all; releases batch too.
#include <cstdint>
#include <cstring>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;
using airlock::test::shared_head;
using airlock::test::shared_tail;

TEST(batched_publish, commits_are_invisible_until_one_publish_shows_them_all) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    std::uint64_t bytes = 0;
    for (std::uint64_t i = 0; i < 20; ++i) {
        const std::size_t n = i * 7;
        auto res = p.try_reserve(n, static_cast<std::uint16_t>(100 + i));
        ASSERT_TRUE(res) << to_string(res.error());
        EXPECT_EQ(res->size(), n);
        res->write(pattern(n, i));
        p.commit(*res);
        bytes += wire::record_bytes(n);
        EXPECT_EQ(shared_tail(r.ring()), 0u) << "record " << i << " visible before publish";
        EXPECT_FALSE(c.has_data()) << "record " << i;
        EXPECT_EQ(c.try_peek().error(), errc::ring_empty) << "record " << i;
    }
    p.publish();
    EXPECT_EQ(shared_tail(r.ring()), bytes);
    for (std::uint64_t i = 0; i < 20; ++i) {
        auto m = c.try_receive();
        ASSERT_TRUE(m) << "record " << i << ": " << to_string(m.error());
        EXPECT_EQ(m->tag, 100 + i);
        EXPECT_TRUE(is_pattern(m->bytes, i * 7, i));
    }
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
}

TEST(batched_publish, publish_with_nothing_new_stores_nothing_and_rings_nobody) {
    test::test_region r({1024});
    test::fake_wait_hooks hooks;
    ring_producer p(r.ring(), {.hooks = &hooks});
    // As if the consumer had announced that it may park.
    shared::store_relaxed(r.ring().control->consumer_bell.word, 1);
    p.publish();
    EXPECT_EQ(shared_tail(r.ring()), 0u);
    EXPECT_EQ(hooks.unparks, 0u) << "an empty publish woke the consumer";
    ASSERT_TRUE(p.try_send(1, pattern(3, 1)));
    EXPECT_EQ(hooks.unparks, 1u) << "a publish must wake a consumer that may be parked";
    p.publish();
    EXPECT_EQ(hooks.unparks, 1u);
}

TEST(batched_publish, try_send_publishes_at_once) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    ASSERT_TRUE(p.try_send(5, pattern(13, 5)));
    EXPECT_EQ(shared_tail(r.ring()), wire::record_bytes(13));
    auto m = c.try_receive();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->tag, 5);
    EXPECT_TRUE(is_pattern(m->bytes, 13, 5));
}

TEST(batched_publish, an_uncommitted_reservation_is_replaced_and_never_published) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    auto first = p.try_reserve(40, 1);
    ASSERT_TRUE(first);
    first->write(pattern(40, 1));
    p.publish();
    EXPECT_EQ(shared_tail(r.ring()), 0u) << "an uncommitted record was published";
    auto second = p.try_reserve(16, 2);
    ASSERT_TRUE(second);
    second->write(pattern(16, 2));
    p.commit(*second);
    p.publish();
    EXPECT_EQ(shared_tail(r.ring()), wire::record_bytes(16));
    auto m = c.try_receive();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->tag, 2);
    EXPECT_TRUE(is_pattern(m->bytes, 16, 2));
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
}

TEST(batched_publish, reservation_writes_at_offsets_and_by_word) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    auto res = p.try_reserve(37, 3);
    ASSERT_TRUE(res);
    const auto tail = pattern(37 - 16, 9);
    res->write_word(0, 0x0123456789abcdefull);
    res->write_word(1, 42);
    res->write(tail, 16);
    p.commit(*res);
    p.publish();
    auto rec = c.try_peek();
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->size(), 37u);
    EXPECT_EQ(rec->read_word(0), 0x0123456789abcdefull);
    EXPECT_EQ(rec->read_word(1), 42u);
    std::vector<std::byte> got(37 - 16);
    rec->copy_to(got, 16);
    EXPECT_TRUE(is_pattern(got, 37 - 16, 9));
    c.release(*rec);
}

TEST(batched_publish, a_partial_last_word_is_completed_with_zeros) {
    test::test_region r({1024});
    // Old bytes in the ring must not leak through the unused end of a word.
    for (std::size_t i = 0; i < r.ring().capacity / 8; ++i)
        shared::store_relaxed(r.ring().data[i], ~0ull);
    ring_producer p(r.ring());
    ASSERT_TRUE(p.try_send(1, pattern(13, 4)));
    const std::uint64_t last = test::header_word_at(r.ring(), 16);  // payload bytes 8..15
    std::uint64_t expected = 0;
    const auto bytes = pattern(13, 4);
    std::memcpy(&expected, bytes.data() + 8, 5);
    EXPECT_EQ(last, expected) << std::hex << "bytes 13..15 of the payload are not zero";
}

TEST(batched_publish, released_space_waits_for_the_consumer_publish) {
    test::test_region r({4096});  // auto-publish at 1024 released bytes
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 5; ++i)
        ASSERT_TRUE(p.try_send(1, pattern(24, i)));
    std::uint64_t released = 0;
    for (std::uint64_t i = 0; i < 5; ++i) {
        auto rec = c.try_peek();
        ASSERT_TRUE(rec);
        c.release(*rec);
        released += wire::record_bytes(24);
        EXPECT_EQ(shared_head(r.ring()), 0u) << "released space published after record " << i;
    }
    c.publish();
    EXPECT_EQ(shared_head(r.ring()), released);
    c.publish();  // nothing new: same value
    EXPECT_EQ(shared_head(r.ring()), released);
}

TEST(batched_publish, consumer_publish_wakes_a_producer_that_may_be_parked) {
    test::test_region r({4096});
    test::fake_wait_hooks hooks;
    ring_producer p(r.ring());
    ring_consumer c(r.ring(), {{.hooks = &hooks}});
    ASSERT_TRUE(p.try_send(1, pattern(8, 1)));
    auto rec = c.try_peek();
    ASSERT_TRUE(rec);
    c.release(*rec);
    c.publish();
    EXPECT_EQ(hooks.unparks, 0u) << "nobody announced a park";
    ASSERT_TRUE(p.try_send(1, pattern(8, 2)));
    rec = c.try_peek();
    ASSERT_TRUE(rec);
    c.release(*rec);
    shared::store_relaxed(r.ring().control->producer_bell.word, 1);
    c.publish();
    EXPECT_EQ(hooks.unparks, 1u);
    EXPECT_EQ(hooks.last_unparked, &r.ring().control->producer_bell.word);
    EXPECT_EQ(shared::load_relaxed(r.ring().control->producer_bell.word), 0u);
}
