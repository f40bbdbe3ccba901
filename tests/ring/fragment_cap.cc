// SPDX-License-Identifier: Apache-2.0
// Description: a message above the consumer's max_message is a sticky fault_fragment_total.
#include <cstdint>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;

namespace {

consumer_options capped(std::size_t max_message) {
    consumer_options o;
    o.max_message = max_message;
    return o;
}

// Sends by alternating with the consumer; returns what the consumer said
// about the message (ok, or the error it reported).
errc send_and_receive(ring_producer& p, ring_consumer& c, std::span<const std::byte> bytes,
                      std::uint64_t seq) {
    outgoing_message m(1, bytes);
    for (int round = 0; round < 100'000; ++round) {
        auto s = p.try_send(m);
        if (s) {
            auto got = c.try_receive();
            if (!got) return got.error();
            EXPECT_TRUE(is_pattern(got->bytes, bytes.size(), seq));
            return errc::ok;
        }
        EXPECT_EQ(s.error(), errc::ring_full);
        auto early = c.try_receive();
        if (!early && early.error() != errc::ring_empty) return early.error();
    }
    ADD_FAILURE() << "no progress";
    return errc::ok;
}

}  // namespace

TEST(fragment_cap, exactly_the_cap_passes_one_byte_more_faults) {
    for (std::size_t cap : {std::size_t{1000}, std::size_t{4096}, std::size_t{12345}}) {
        {
            test::test_region r({256});
            ring_producer p(r.ring());
            ring_consumer c(r.ring(), capped(cap));
            EXPECT_EQ(send_and_receive(p, c, pattern(cap, 1), 1), errc::ok) << "cap " << cap;
            EXPECT_FALSE(c.faulted());
        }
        {
            test::test_region r({256});
            ring_producer p(r.ring());
            ring_consumer c(r.ring(), capped(cap));
            EXPECT_EQ(send_and_receive(p, c, pattern(cap + 1, 1), 1), errc::fault_fragment_total)
                << "cap " << cap;
            EXPECT_TRUE(c.faulted());
            EXPECT_EQ(c.fault(), errc::fault_fragment_total);
        }
    }
}

TEST(fragment_cap, the_fault_is_found_at_the_first_fragment_and_is_sticky) {
    test::test_region r({4096});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());  // default cap: 1 MiB
    const auto huge = pattern((std::size_t{1} << 20) + 1, 1);
    outgoing_message m(1, huge);
    ASSERT_EQ(p.try_send(m).error(), errc::ring_full);
    EXPECT_EQ(c.try_receive().error(), errc::fault_fragment_total);
    EXPECT_TRUE(c.faulted());
    EXPECT_EQ(c.fault(), errc::fault_fragment_total);
    // Sticky, on every entry point.
    EXPECT_EQ(c.try_receive().error(), errc::fault_fragment_total);
    EXPECT_EQ(c.try_peek().error(), errc::fault_fragment_total);
    EXPECT_FALSE(c.has_data());
    EXPECT_EQ(c.wait_for_data({}).error(), errc::fault_fragment_total);
    EXPECT_EQ(c.receive({}).error(), errc::fault_fragment_total);
    auto n = c.poll(5, [](const message&) { ADD_FAILURE() << "a faulted consumer delivered"; });
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error(), errc::fault_fragment_total);
    // The producer is not at fault; it only stops getting space back.
    EXPECT_FALSE(p.faulted());
    EXPECT_EQ(p.try_send(m).error(), errc::ring_full);
}

TEST(fragment_cap, the_default_cap_of_one_mebibyte_passes) {
    test::test_region r({65536});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    EXPECT_EQ(send_and_receive(p, c, pattern(std::size_t{1} << 20, 7), 7), errc::ok);
    EXPECT_FALSE(c.faulted());
}

TEST(fragment_cap, a_single_record_above_a_small_cap_faults_too) {
    {
        test::test_region r({256});
        ring_producer p(r.ring());
        ring_consumer c(r.ring(), capped(16));
        ASSERT_TRUE(p.try_send(1, pattern(16, 1)));
        auto m = c.try_receive();
        ASSERT_TRUE(m) << to_string(m.error());
        EXPECT_TRUE(is_pattern(m->bytes, 16, 1));
        ASSERT_TRUE(p.try_send(2, pattern(17, 2)));
        EXPECT_EQ(c.try_receive().error(), errc::fault_fragment_total);
        EXPECT_EQ(c.fault(), errc::fault_fragment_total);
    }
    {
        test::test_region r({256});
        ring_producer p(r.ring());
        ring_consumer c(r.ring(), capped(0));
        ASSERT_TRUE(p.try_send(1, {}));
        ASSERT_TRUE(c.try_receive()) << "an empty message is within a zero cap";
        ASSERT_TRUE(p.try_send(1, pattern(1, 1)));
        EXPECT_EQ(c.try_receive().error(), errc::fault_fragment_total);
    }
}

TEST(fragment_cap, messages_before_the_faulty_one_are_delivered) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring(), capped(2000));
    for (std::uint64_t i = 0; i < 3; ++i)
        ASSERT_TRUE(p.try_send(1, pattern(100, i)));
    const auto big = pattern(2001, 9);
    outgoing_message m(9, big);
    (void)p.try_send(m);
    for (std::uint64_t i = 0; i < 3; ++i) {
        auto got = c.try_receive();
        ASSERT_TRUE(got) << i << ": " << to_string(got.error());
        EXPECT_TRUE(is_pattern(got->bytes, 100, i));
    }
    EXPECT_EQ(c.try_receive().error(), errc::fault_fragment_total);
}
