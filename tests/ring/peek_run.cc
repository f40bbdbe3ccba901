// SPDX-License-Identifier: Apache-2.0
// Description: try_peek_run hands out the messages of a run in one view, up to
// the number asked for and never past the run; a lone message or a fragment
// comes as a run of one; copy_to lays messages out back to back and
// release(run) frees them all.
#include <cstdint>
#include <vector>

#include "run_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::commit_pattern;
using airlock::test::is_pattern;
using airlock::test::pattern;

namespace {

// Peeks a run of at most `max`, checks it holds messages first.. of `bytes`
// with `tag`, releases it and returns its count.
std::size_t take_run(ring_consumer& c, std::size_t max, std::size_t bytes, std::uint16_t tag,
                     std::uint64_t first) {
    auto run = c.try_peek_run(max);
    EXPECT_TRUE(run) << to_string(run.error());
    if (!run) return 0;
    EXPECT_EQ(run->tag(), tag);
    EXPECT_EQ(run->size(), bytes);
    EXPECT_EQ(run->kind(), wire::record_kind::message);
    std::vector<std::byte> all(run->count() * bytes);
    run->copy_to(all);
    for (std::size_t i = 0; i < run->count(); ++i) {
        EXPECT_TRUE(is_pattern(std::span(all).subspan(i * bytes, bytes), bytes, first + i));
        std::vector<std::byte> one(bytes);
        run->message(i).copy_to(one);
        EXPECT_TRUE(is_pattern(one, bytes, first + i));
    }
    const std::size_t n = run->count();
    c.release(*run);
    return n;
}

}  // namespace

TEST(peek_run, a_run_in_views_of_at_most_the_number_asked_for) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 20; ++i)
        commit_pattern(p, 8, 3, i);
    p.publish();
    EXPECT_EQ(take_run(c, 8, 8, 3, 0), 8u);
    EXPECT_EQ(take_run(c, 8, 8, 3, 8), 8u);
    EXPECT_EQ(take_run(c, 8, 8, 3, 16), 4u);  // the rest of the run
    EXPECT_EQ(c.try_peek_run(8).error(), errc::ring_empty);
}

TEST(peek_run, never_past_the_end_of_a_run) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 5; ++i)
        commit_pattern(p, 8, 1, i);
    for (std::uint64_t i = 5; i < 8; ++i)
        commit_pattern(p, 8, 2, i);  // another tag: another run
    p.publish();
    EXPECT_EQ(take_run(c, 100, 8, 1, 0), 5u);
    EXPECT_EQ(take_run(c, 100, 8, 2, 5), 3u);
}

TEST(peek_run, mixes_with_try_peek_and_try_receive_inside_a_run) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 10; ++i)
        commit_pattern(p, 16, 7, i);
    p.publish();
    auto one = c.try_receive();
    ASSERT_TRUE(one);
    EXPECT_TRUE(is_pattern(one->bytes, 16, 0));
    EXPECT_EQ(take_run(c, 3, 16, 7, 1), 3u);
    auto peeked = c.try_peek();
    ASSERT_TRUE(peeked);
    std::vector<std::byte> b(16);
    peeked->copy_to(b);
    EXPECT_TRUE(is_pattern(b, 16, 4));
    c.release(*peeked);
    EXPECT_EQ(take_run(c, 100, 16, 7, 5), 5u);
}

TEST(peek_run, a_lone_message_is_a_run_of_one) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    commit_pattern(p, 300, 1, 0);  // above max_run_payload: never joined
    commit_pattern(p, 300, 1, 1);
    p.publish();
    EXPECT_EQ(take_run(c, 10, 300, 1, 0), 1u);
    EXPECT_EQ(take_run(c, 10, 300, 1, 1), 1u);
}

TEST(peek_run, copies_sizes_not_a_multiple_of_8_back_to_back) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < 6; ++i)
        commit_pattern(p, 13, 2, i);
    p.publish();
    auto run = c.try_peek_run(6);
    ASSERT_TRUE(run);
    EXPECT_EQ(run->count(), 6u);
    EXPECT_EQ(run->stride(), 16u);
    std::vector<std::byte> all(6 * 13);
    run->copy_to(all);
    for (std::size_t i = 0; i < 6; ++i)
        EXPECT_TRUE(is_pattern(std::span(all).subspan(i * 13, 13), 13, i)) << i;
    c.release(*run);
    EXPECT_EQ(c.try_peek_run(6).error(), errc::ring_empty);
}

TEST(peek_run, a_fragment_is_a_run_of_one) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    const auto big = pattern(p.max_record_payload() + 100, 0);
    outgoing_message m(4, big);
    ASSERT_TRUE(p.try_send(m));
    auto run = c.try_peek_run(10);
    ASSERT_TRUE(run) << to_string(run.error());
    EXPECT_EQ(run->kind(), wire::record_kind::fragment_first);
    EXPECT_EQ(run->count(), 1u);
}

TEST(peek_run, release_of_a_run_returns_all_of_its_space) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    std::vector<std::byte> b(31 * 8);
    ASSERT_EQ(p.try_send_run(1, b, 8).value_or(0), 31u);  // the ring is full
    EXPECT_FALSE(p.has_space(8));
    auto run = c.try_peek_run(31);
    ASSERT_TRUE(run);
    EXPECT_EQ(run->count(), 31u);
    c.release(*run);
    c.publish();
    EXPECT_EQ(test::shared_head(r.ring()), 256u);
    EXPECT_EQ(p.try_send_run(1, b, 8).value_or(0), 31u);
}
