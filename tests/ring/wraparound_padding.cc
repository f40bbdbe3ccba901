// SPDX-License-Identifier: Apache-2.0
// Description: a record that does not fit before the ring's end is preceded by exact wrap padding.
//
// Every record starts 8-byte aligned; one that would cross the end of the
// ring is written at offset 0 after a padding record that fills the rest of
// the ring, which the consumer skips. Here every (offset, size) pair near
// the end is tried, over many laps, and the padding word is checked.
#include <cstdint>
#include <random>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::header_word_at;
using airlock::test::is_pattern;
using airlock::test::pattern;
using airlock::test::shared_head;
using airlock::test::shared_tail;

namespace {

// Sends and receives fillers (never padded) until the ring is empty with its
// tail at byte `target` of the ring.
void move_tail_to(ring_producer& p, ring_consumer& c, const ring_view& v, std::uint64_t target) {
    for (;;) {
        const std::uint64_t at = shared_tail(v) % v.capacity;
        if (at == target) {
            // Released space returns once the consumer finds the ring empty.
            ASSERT_EQ(c.try_receive().error(), errc::ring_empty);
            return;
        }
        const std::uint64_t room = target > at ? target - at : v.capacity - at;
        const std::uint64_t step = std::min<std::uint64_t>(room, v.capacity / 2);
        ASSERT_TRUE(p.try_send(0xffff, pattern(step - 8, 0)));
        ASSERT_TRUE(c.try_receive());
    }
}

wire::record_header decoded(std::uint64_t word) {
    wire::record_header h;
    EXPECT_TRUE(wire::decode(word, h)) << std::hex << word;
    return h;
}

}  // namespace

TEST(wraparound_padding, every_size_at_every_offset_near_the_end) {
    for (std::size_t cap : {std::size_t{256}, std::size_t{1024}}) {
        test::test_region r({cap});
        const ring_view v = r.ring();
        ring_producer p(v);
        ring_consumer c(v);
        const std::size_t max = p.max_record_payload();
        std::uint64_t seq = 0;
        std::uint64_t paddings = 0;
        // Offsets from where the largest record needs padding to the last word.
        for (std::uint64_t at = cap - wire::record_bytes(max); at < cap; at += 8) {
            for (std::size_t n = 0; n <= max; ++n, ++seq) {
                move_tail_to(p, c, v, at);
                const std::uint64_t before = shared_tail(v);
                const std::uint64_t to_end = cap - at;
                const std::uint64_t pad = to_end < wire::record_bytes(n) ? to_end : 0;
                ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(n), pattern(n, seq)))
                    << "capacity " << cap << ", offset " << at << ", size " << n;
                ASSERT_EQ(shared_tail(v) - before, pad + wire::record_bytes(n))
                    << "capacity " << cap << ", offset " << at << ", size " << n;
                const auto first = decoded(header_word_at(v, at));
                if (pad != 0) {
                    ++paddings;
                    EXPECT_EQ(first.kind, wire::record_kind::padding)
                        << "offset " << at << ", size " << n;
                    EXPECT_EQ(first.length, pad - 8) << "offset " << at << ", size " << n;
                    const auto moved = decoded(header_word_at(v, 0));
                    EXPECT_EQ(moved.kind, wire::record_kind::message);
                    EXPECT_EQ(moved.length, n);
                } else {
                    EXPECT_EQ(first.kind, wire::record_kind::message)
                        << "offset " << at << ", size " << n;
                    EXPECT_EQ(first.length, n);
                }
                auto m = c.try_receive();
                ASSERT_TRUE(m) << "capacity " << cap << ", offset " << at << ", size " << n << ": "
                               << to_string(m.error());
                EXPECT_EQ(m->tag, static_cast<std::uint16_t>(n));
                ASSERT_TRUE(is_pattern(m->bytes, n, seq))
                    << "capacity " << cap << ", offset " << at;
                ASSERT_EQ(c.try_receive().error(), errc::ring_empty);
                EXPECT_EQ(shared_head(v), shared_tail(v)) << "the padding was not released";
            }
        }
        EXPECT_GT(paddings, 0u);
        EXPECT_FALSE(c.faulted());
        EXPECT_FALSE(p.faulted());
    }
}

TEST(wraparound_padding, zero_byte_record_in_the_last_word_needs_no_padding) {
    test::test_region r({256});
    const ring_view v = r.ring();
    ring_producer p(v);
    ring_consumer c(v);
    for (int lap = 0; lap < 50; ++lap) {
        move_tail_to(p, c, v, 248);
        const std::uint64_t before = shared_tail(v);
        ASSERT_TRUE(p.try_send(7, {}));
        EXPECT_EQ(shared_tail(v) - before, 8u) << "lap " << lap;
        const auto h = decoded(header_word_at(v, 248));
        EXPECT_EQ(h.kind, wire::record_kind::message);
        EXPECT_EQ(h.length, 0u);
        auto m = c.try_receive();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->tag, 7);
        EXPECT_EQ(m->bytes.size(), 0u);
        EXPECT_EQ(shared_tail(v) % 256, 0u) << "the next record starts at offset 0";
    }
}

TEST(wraparound_padding, one_byte_record_in_the_last_word_pads_eight_bytes) {
    test::test_region r({256});
    const ring_view v = r.ring();
    ring_producer p(v);
    ring_consumer c(v);
    for (int lap = 0; lap < 50; ++lap) {
        move_tail_to(p, c, v, 248);
        const std::uint64_t before = shared_tail(v);
        ASSERT_TRUE(p.try_send(8, pattern(1, lap)));
        EXPECT_EQ(shared_tail(v) - before, 8u + 16u) << "lap " << lap;
        const auto h = decoded(header_word_at(v, 248));
        EXPECT_EQ(h.kind, wire::record_kind::padding);
        EXPECT_EQ(h.length, 0u) << "an 8-byte padding record has no payload";
        auto m = c.try_receive();
        ASSERT_TRUE(m);
        EXPECT_TRUE(is_pattern(m->bytes, 1, lap));
    }
}

TEST(wraparound_padding, zero_byte_records_fill_the_ring_to_the_last_word) {
    test::test_region r({256});
    const ring_view v = r.ring();
    ring_producer p(v);
    ring_consumer c(v);
    move_tail_to(p, c, v, 200);
    // 32 empty records fill the ring exactly, across the wrap point.
    for (std::uint64_t i = 0; i < 32; ++i)
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(i), {})) << i;
    EXPECT_EQ(p.try_send(99, {}).error(), errc::ring_full);
    for (std::uint64_t i = 0; i < 32; ++i) {
        auto m = c.try_receive();
        ASSERT_TRUE(m) << i;
        EXPECT_EQ(m->tag, i);
        EXPECT_EQ(m->bytes.size(), 0u);
    }
}

TEST(wraparound_padding, no_padding_is_written_when_the_record_does_not_fit_after_it) {
    test::test_region r({256});
    const ring_view v = r.ring();
    ring_producer p(v);
    ring_consumer c(v);
    move_tail_to(p, c, v, 192);
    ASSERT_TRUE(p.try_send(1, pattern(56, 1)));  // [192, 256)
    ASSERT_TRUE(p.try_send(2, pattern(88, 2)));  // [0, 96)
    ASSERT_TRUE(c.try_receive());                // frees [192, 256)
    c.publish();
    ASSERT_TRUE(p.try_send(3, pattern(40, 3)));  // [96, 144)
    ASSERT_TRUE(p.try_send(4, pattern(40, 4)));  // [144, 192)
    // The tail is at 192, 64 bytes before the end, and exactly those 64
    // bytes are free. A 64-byte payload (a 72-byte record) needs 64 bytes of
    // padding plus 72: ring_full, and the padding must not be written.
    const std::uint64_t before = shared_tail(v);
    const std::uint64_t word_at_end = header_word_at(v, 192);
    EXPECT_EQ(p.try_send(5, pattern(64, 5)).error(), errc::ring_full);
    EXPECT_EQ(header_word_at(v, 192), word_at_end) << "padding written for a refused record";
    EXPECT_EQ(shared_tail(v), before);
    // Once the consumer frees [0, 96) the padded record fits.
    for (int tag : {2, 3, 4}) {
        auto m = c.try_receive();
        ASSERT_TRUE(m);
        EXPECT_EQ(m->tag, tag);
    }
    ASSERT_TRUE(p.try_send(5, pattern(64, 5)));
    EXPECT_EQ(decoded(header_word_at(v, 192)).kind, wire::record_kind::padding);
    auto m = c.try_receive();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->tag, 5);
    EXPECT_TRUE(is_pattern(m->bytes, 64, 5));
}

TEST(wraparound_padding, a_reservation_replaced_after_its_padding_still_reads_cleanly) {
    test::test_region r({256});
    const ring_view v = r.ring();
    ring_producer p(v);
    ring_consumer c(v);
    move_tail_to(p, c, v, 232);
    auto big = p.try_reserve(100, 1);  // needs padding [232, 256)
    ASSERT_TRUE(big);
    auto small = p.try_reserve(4, 2);  // replaces it, after the padding
    ASSERT_TRUE(small);
    small->write(pattern(4, 2));
    p.commit(*small);
    p.publish();
    auto m = c.try_receive();
    ASSERT_TRUE(m) << to_string(m.error());
    EXPECT_EQ(m->tag, 2);
    EXPECT_TRUE(is_pattern(m->bytes, 4, 2));
    EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
    EXPECT_FALSE(c.faulted());
}

TEST(wraparound_padding, random_sizes_over_many_laps_match_a_model_of_the_tail) {
    for (std::size_t cap : {std::size_t{256}, std::size_t{512}, std::size_t{4096}}) {
        test::test_region r({cap});
        const ring_view v = r.ring();
        ring_producer p(v);
        ring_consumer c(v);
        std::mt19937_64 rng(cap * 31);
        const std::size_t max = p.max_record_payload();
        std::uniform_int_distribution<std::size_t> any(0, max);
        std::uniform_int_distribution<std::size_t> tiny(0, 16);
        std::uint64_t model_tail = 0;
        std::uint64_t sent = 0;
        std::uint64_t received = 0;
        std::vector<std::size_t> in_flight;
        while (model_tail < 500 * cap) {
            const std::size_t n = (rng() & 1) != 0 ? any(rng) : tiny(rng);
            const std::uint64_t to_end = cap - model_tail % cap;
            const std::uint64_t pad = to_end < wire::record_bytes(n) ? to_end : 0;
            auto s = p.try_send(static_cast<std::uint16_t>(sent), pattern(n, sent));
            if (s) {
                model_tail += pad + wire::record_bytes(n);
                ASSERT_EQ(shared_tail(v), model_tail) << "capacity " << cap << ", message " << sent;
                in_flight.push_back(n);
                ++sent;
                continue;
            }
            ASSERT_EQ(s.error(), errc::ring_full);
            // Drain two thirds of what is in flight, then go on.
            const std::size_t take = in_flight.size() - in_flight.size() / 3;
            for (std::size_t k = 0; k < take; ++k, ++received) {
                auto m = c.try_receive();
                ASSERT_TRUE(m) << "capacity " << cap << ", message " << received << ": "
                               << to_string(m.error());
                ASSERT_TRUE(is_pattern(m->bytes, in_flight[k], received)) << "capacity " << cap;
            }
            in_flight.erase(in_flight.begin(), in_flight.begin() + static_cast<long>(take));
            c.publish();
        }
        for (std::size_t k = 0; k < in_flight.size(); ++k, ++received) {
            auto m = c.try_receive();
            ASSERT_TRUE(m);
            ASSERT_TRUE(is_pattern(m->bytes, in_flight[k], received));
        }
        EXPECT_EQ(received, sent);
        EXPECT_EQ(c.try_receive().error(), errc::ring_empty);
    }
}
