// SPDX-License-Identifier: Apache-2.0
// Description: a full ring says ring_full and loses nothing; an empty ring says ring_empty.
#include <cstdint>
#include <random>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;
using airlock::test::shared_tail;

TEST(back_pressure, an_empty_ring_says_ring_empty_everywhere) {
    test::test_region r({1024});
    ring_consumer c(r.ring());
    EXPECT_EQ(c.try_peek().error(), errc::ring_empty);
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
    EXPECT_FALSE(c.has_data());
    std::size_t calls = 0;
    auto n = c.poll(10, [&](const message&) { ++calls; });
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 0u);
    EXPECT_EQ(calls, 0u);
    EXPECT_FALSE(c.faulted()) << "ring_empty is not a fault";
    EXPECT_EQ(c.fault(), errc::ok);
}

TEST(back_pressure, filling_exactly_to_capacity_then_ring_full) {
    // Records whose size divides the ring use all of it.
    for (std::size_t payload :
         {std::size_t{0}, std::size_t{8}, std::size_t{24}, std::size_t{56}, std::size_t{120}}) {
        test::test_region r({256});
        ring_producer p(r.ring());
        ring_consumer c(r.ring());
        const std::size_t fit = 256 / wire::record_bytes(payload);
        for (std::uint64_t i = 0; i < fit; ++i)
            ASSERT_TRUE(p.try_send(1, pattern(payload, i))) << "payload " << payload << ", " << i;
        EXPECT_EQ(p.try_send(1, pattern(payload, fit)).error(), errc::ring_full)
            << "payload " << payload;
        EXPECT_EQ(shared_tail(r.ring()), 256u);
        EXPECT_FALSE(p.faulted()) << "ring_full is not a fault";
        for (std::uint64_t i = 0; i < fit; ++i) {
            auto m = c.try_receive();
            ASSERT_TRUE(m) << "payload " << payload << ", " << i;
            EXPECT_TRUE(is_pattern(m->bytes, payload, i));
        }
        EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
        ASSERT_TRUE(p.try_send(1, pattern(payload, fit))) << "space did not come back";
    }
}

TEST(back_pressure, fill_drain_verify_over_many_laps_loses_nothing) {
    for (std::size_t cap : {std::size_t{256}, std::size_t{1024}, std::size_t{8192}}) {
        test::test_region r({cap});
        ring_producer p(r.ring());
        ring_consumer c(r.ring());
        std::mt19937_64 rng(cap);
        std::uniform_int_distribution<std::size_t> size(0, p.max_record_payload());
        std::uint64_t sent = 0;
        std::uint64_t received = 0;
        std::vector<std::size_t> sizes;  // of messages sent and not yet received
        std::uint64_t fulls = 0;
        while (shared_tail(r.ring()) < 200 * cap) {
            // Fill until back-pressure, retrying the refused message later.
            std::size_t n = size(rng);
            for (;;) {
                auto s = p.try_send(static_cast<std::uint16_t>(sent), pattern(n, sent));
                if (!s) {
                    ASSERT_EQ(s.error(), errc::ring_full);
                    ++fulls;
                    break;
                }
                sizes.push_back(n);
                ++sent;
                n = size(rng);
            }
            // Drain and verify everything, in order.
            for (std::size_t k = 0; k < sizes.size(); ++k, ++received) {
                auto m = c.try_receive();
                ASSERT_TRUE(m) << "capacity " << cap << ", message " << received << ": "
                               << to_string(m.error());
                EXPECT_EQ(m->tag, static_cast<std::uint16_t>(received));
                ASSERT_TRUE(is_pattern(m->bytes, sizes[k], received)) << "capacity " << cap;
            }
            sizes.clear();
            ASSERT_EQ(c.try_receive().error(), errc::ring_empty);
        }
        EXPECT_EQ(received, sent);
        EXPECT_GE(fulls, 200u);
    }
}

TEST(back_pressure, ring_full_publishes_what_was_committed) {
    test::test_region r({1024});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    std::uint64_t committed = 0;
    for (;;) {
        auto res = p.try_reserve(40, 2);
        if (!res) {
            ASSERT_EQ(res.error(), errc::ring_full);
            break;
        }
        res->write(pattern(40, committed));
        p.commit(*res);
        ++committed;
    }
    // No explicit publish: back-pressure must have published, or the
    // consumer could never drain and the producer would wait for ever.
    // Equal messages committed without a publish form one run: one header,
    // then 40-byte payloads up to the end of the ring.
    EXPECT_EQ(committed, (1024 - wire::record_header_bytes) / 40);
    EXPECT_EQ(shared_tail(r.ring()), wire::run_bytes(40, committed));
    for (std::uint64_t i = 0; i < committed; ++i) {
        auto m = c.try_receive();
        ASSERT_TRUE(m) << "record " << i << " of " << committed << ": " << to_string(m.error());
        EXPECT_TRUE(is_pattern(m->bytes, 40, i));
    }
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
}

TEST(back_pressure, free_space_that_is_too_small_for_the_record_is_ring_full) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    ASSERT_TRUE(p.try_send(1, pattern(120, 1)));  // 128 bytes
    ASSERT_TRUE(p.try_send(2, pattern(104, 2)));  // 112 bytes: 16 left
    EXPECT_EQ(p.try_send(3, pattern(9, 3)).error(), errc::ring_full) << "needs 24 bytes";
    ASSERT_TRUE(p.try_send(4, pattern(8, 4))) << "16 bytes fit exactly";
    EXPECT_EQ(p.try_send(5, {}).error(), errc::ring_full) << "not even a header fits";
    for (int tag : {1, 2, 4}) {
        auto m = c.try_receive();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->tag, tag);
    }
}

TEST(back_pressure, has_space_agrees_with_try_send_and_writes_nothing) {
    test::test_region r({256});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    EXPECT_TRUE(p.has_space(0));
    EXPECT_TRUE(p.has_space(p.max_record_payload()));
    EXPECT_FALSE(p.has_space(p.max_record_payload() + 1)) << "too large never fits";
    ASSERT_TRUE(p.try_send(1, pattern(56, 1)));   // [0, 64)
    ASSERT_TRUE(p.try_send(2, pattern(120, 2)));  // [64, 192)
    ASSERT_TRUE(p.try_send(3, pattern(8, 3)));    // [192, 208): 48 bytes left
    EXPECT_TRUE(p.has_space(40));
    EXPECT_FALSE(p.has_space(41));
    const std::uint64_t tail = shared_tail(r.ring());
    const std::uint64_t word = test::header_word_at(r.ring(), 208);
    EXPECT_FALSE(p.has_space(100));
    EXPECT_EQ(shared_tail(r.ring()), tail) << "has_space published something";
    EXPECT_EQ(test::header_word_at(r.ring(), 208), word) << "has_space wrote padding";
    // Every size: has_space predicts exactly what try_reserve does.
    for (std::size_t n = 0; n <= p.max_record_payload(); ++n)
        EXPECT_EQ(p.has_space(n), p.try_reserve(n, 0).has_value()) << "size " << n;
    // Space comes back when the consumer publishes it (here by itself: 64
    // bytes are a quarter of the ring); has_space re-reads the head.
    EXPECT_FALSE(p.has_space(56));
    ASSERT_TRUE(c.try_receive());
    // 48 bytes before the end and 64 at the start are free. A 72-byte record
    // would fit in 112 free bytes, but not after 48 bytes of padding.
    EXPECT_FALSE(p.has_space(64)) << "padding to the end must be counted";
    EXPECT_TRUE(p.has_space(56)) << "48 bytes of padding + 64 = 112 free bytes";
    EXPECT_TRUE(p.has_space(40)) << "fits before the end";
    ASSERT_TRUE(p.try_send(4, pattern(56, 4)));
    EXPECT_FALSE(p.has_space(0));
    EXPECT_FALSE(p.faulted());
}
