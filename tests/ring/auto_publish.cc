// SPDX-License-Identifier: Apache-2.0
// Description: with auto_publish(bytes), commit publishes by itself each time
// the committed records reach the next multiple of `bytes`, and only then.
#include <cstdint>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::pattern;
using airlock::test::shared_tail;

namespace {

// Commits one message and returns the producer index now visible.
std::uint64_t commit(test::test_region& r, ring_producer& p, std::size_t bytes, std::uint16_t tag) {
    auto res = p.try_reserve(bytes, tag);
    EXPECT_TRUE(res) << to_string(res.error());
    if (!res) return 0;
    res->write(pattern(bytes, tag));
    p.commit(*res);
    return shared_tail(r.ring());
}

}  // namespace

TEST(auto_publish, off_by_default) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(commit(r, p, 8, 1), 0u) << i;
}

TEST(auto_publish, publishes_when_a_boundary_is_reached_and_only_then) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    p.auto_publish(64);
    // One run of 8-byte messages: its header and first message end at 16,
    // each later message 8 bytes on.
    std::uint64_t end = 0;
    for (int i = 0; i < 40; ++i) {
        end += i == 0 || end % 64 == 0 ? wire::record_bytes(8) : 8;
        const std::uint64_t visible = commit(r, p, 8, 1);
        EXPECT_EQ(visible, end / 64 * 64) << "message " << i << " ends at " << end;
    }
}

TEST(auto_publish, a_record_across_a_boundary_publishes_when_it_ends) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    p.auto_publish(128);
    // 48-byte records (tags differ, so no runs): they end at 48, 96, 144...
    std::uint64_t end = 0;
    std::uint64_t expected = 0;
    std::uint64_t next_boundary = 128;
    for (std::uint16_t i = 0; i < 30; ++i) {
        end += wire::record_bytes(40);
        if (end >= next_boundary) {
            expected = end;
            next_boundary = (end / 128 + 1) * 128;
        }
        EXPECT_EQ(commit(r, p, 40, i), expected) << "record " << i;
    }
}

TEST(auto_publish, an_explicit_publish_still_works_and_zero_turns_it_off) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    p.auto_publish(256);
    EXPECT_EQ(commit(r, p, 8, 1), 0u);
    p.publish();
    EXPECT_EQ(shared_tail(r.ring()), wire::record_bytes(8));
    p.auto_publish(0);
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(commit(r, p, 8, 1), wire::record_bytes(8)) << i;
}
