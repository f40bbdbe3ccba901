// SPDX-License-Identifier: Apache-2.0
// Description: every record header word the host can write, including
// lengths past the record limit, "negative" 32-bit lengths, lengths past the
// published data, records straddling the ring end, unknown kinds, run counts
// on kinds that have none, runs of empty messages, runs longer than the
// published data or the ring,
// and torn mixes of two headers, is decoded from one snapshot and either
// yields records inside the ring or a sticky fault, exactly as a reference
// model of the wire format says (HOSTILE-INPUTS #5, #10, #23).
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::code_of;

namespace {

constexpr std::uint64_t capacity = 512;
constexpr std::uint64_t max_payload = wire::max_record_payload(capacity);

// What try_peek must do with header word `word` at ring offset `pos` when
// `avail` bytes are published from there: a fault code, or errc::ok for a
// record (padding is checked separately). Written from the wire format in
// docs/wire-format.md, in the order the checks are specified.
errc reference_outcome(std::uint64_t word, std::uint64_t pos, std::uint64_t avail) {
    const std::uint64_t kind = (word >> 48) & 0xff;
    const std::uint64_t count = (word >> 56) + 1;  // a run of messages (kind 1 only)
    const std::uint64_t length = word & 0xffff'ffff;
    if (kind < 1 || kind > 6 || (count != 1 && (kind != 1 || length == 0)))
        return errc::fault_record_header;
    const std::uint64_t stride = (length + 7) & ~std::uint64_t{7};
    const std::uint64_t bytes = 8 + stride;
    if (bytes > avail) return errc::fault_record_length;
    if (kind == 2) {  // padding: must run exactly to the end, and never from offset 0
        return (pos != 0 && bytes == capacity - pos) ? errc::ok : errc::fault_padding;
    }
    if (length > max_payload) return errc::fault_record_length;
    if (bytes > capacity - pos) return errc::fault_record_straddles_end;
    // A run: all of it, checked at its first message.
    if (8 + count * stride > avail) return errc::fault_record_length;
    if (8 + count * stride > capacity - pos) return errc::fault_record_straddles_end;
    return errc::ok;
}

// A ring whose consumer has consumed `pos` bytes (zero-length messages), with
// `word` written at offset `pos` and the tail published `avail` bytes later.
struct staged {
    explicit staged(std::uint64_t pos, std::uint64_t word, std::uint64_t avail)
        : region({{capacity}}), host(region.ring()), consumer(region.ring()) {
        region.guard_ring(0);
        for (std::uint64_t i = 0; i < pos / 8; ++i)
            host.record(wire::record_kind::message, 0);
        host.publish();
        for (std::uint64_t i = 0; i < pos / 8; ++i) {
            auto m = consumer.try_receive();
            AIRLOCK_CHECK(m.has_value() && m->bytes.empty(), "staging consumed a record");
        }
        host.put(word);
        host.seek(pos + avail);
        host.publish();
    }
    test::exact_region region;
    test::raw_writer host;
    ring_consumer consumer;
};

// Checks one header word at one position against the model.
void check_word(std::uint64_t word, std::uint64_t pos, std::uint64_t avail) {
    const errc want = reference_outcome(word, pos, avail);
    staged s(pos, word, avail);
    auto r = s.consumer.try_peek();
    const errc got = code_of(r);
    if (want == errc::ok && ((word >> 48) & 0xff) == 2) {
        // Valid padding is skipped: what follows at offset 0 is the first
        // staging record (an empty message), unless the padding took
        // everything published.
        const errc after = (avail == capacity - pos) ? errc::ring_empty : errc::ok;
        EXPECT_TRUE(got == after) << std::hex << "word 0x" << word << std::dec << " pos " << pos
                                  << " avail " << avail << ": expected " << to_string(after)
                                  << " after valid padding, got " << to_string(got);
        return;
    }
    EXPECT_TRUE(got == want) << std::hex << "word 0x" << word << std::dec << " pos " << pos
                             << " avail " << avail << ": expected " << to_string(want) << ", got "
                             << to_string(got);
    if (want != errc::ok) {
        if (got == want) test::expect_consumer_stuck(s.consumer, want);
        return;
    }
    if (!r) return;
    // A record: its fields come from the one snapshot and it lies inside the
    // ring and inside what was published.
    const std::uint64_t length = word & 0xffff'ffff;
    EXPECT_EQ(r->size(), length);
    EXPECT_EQ(r->tag(), static_cast<std::uint16_t>(word >> 32));
    EXPECT_EQ(static_cast<std::uint64_t>(r->kind()), (word >> 48) & 0xff);
    EXPECT_LE(r->size(), max_payload);
    std::vector<std::byte> copy(r->size());
    r->copy_to(copy);  // ASan: the copy stays in the ring's data area
    s.consumer.release(*r);
    // The rest of a run: the same shape, one message after another, and
    // then nothing (the staging published nothing after it that is ready).
    const std::uint64_t count = (word >> 56) + 1;
    for (std::uint64_t i = 1; i < count; ++i) {
        auto next = s.consumer.try_peek();
        ASSERT_TRUE(next.has_value()) << "message " << i << " of a run of " << count;
        EXPECT_EQ(next->size(), length);
        EXPECT_EQ(next->tag(), static_cast<std::uint16_t>(word >> 32));
        EXPECT_EQ(next->kind(), wire::record_kind::message);
        next->copy_to(copy);
        s.consumer.release(*next);
    }
}

const std::vector<std::uint64_t> edge_lengths = {0,
                                                 1,
                                                 7,
                                                 8,
                                                 9,
                                                 16,
                                                 max_payload - 1,
                                                 max_payload,
                                                 max_payload + 1,
                                                 capacity / 2,
                                                 capacity - 16,
                                                 capacity - 8,
                                                 capacity,
                                                 0x7fff'ffff,
                                                 0x8000'0000,  // negative as int32
                                                 0xffff'fff8,
                                                 0xffff'ffff};  // -1 as int32
const std::vector<std::uint64_t> positions = {0, 64, capacity / 2, capacity - 16, capacity - 8};

std::uint64_t header(std::uint64_t length, std::uint64_t tag, std::uint64_t kind,
                     std::uint64_t count_byte = 0) {
    return length | (tag << 32) | (kind << 48) | (count_byte << 56);
}

}  // namespace

TEST(hostile_record_header, every_kind_byte_and_count_byte) {
    for (std::uint64_t kind = 0; kind < 256; ++kind)
        for (std::uint64_t length : {std::uint64_t{0}, std::uint64_t{24}})
            check_word(header(length, 5, kind), 0, capacity);
    // A count byte: a run on a message (valid while it fits), a fault on
    // every other kind.
    for (std::uint64_t count_byte = 1; count_byte < 256; ++count_byte)
        for (std::uint64_t kind = 1; kind <= 6; ++kind)
            for (std::uint64_t length : {std::uint64_t{0}, std::uint64_t{8}, std::uint64_t{16}})
                check_word(header(length, 0, kind, count_byte), 64, capacity - 64);
}

TEST(hostile_record_header, runs_at_the_edges_of_the_published_data_and_the_ring) {
    // The largest run that fits exactly, and one message more, at the end of
    // what was published and at the end of the ring.
    for (std::uint64_t pos : positions)
        for (std::uint64_t stride : {8, 16, 24}) {
            const std::uint64_t room = capacity - pos - 8;
            const std::uint64_t fit = std::min<std::uint64_t>(room / stride, 256);
            for (std::uint64_t count : {fit, fit + 1})
                if (count >= 2 && count <= 256)
                    for (std::uint64_t avail : {capacity - pos, 8 + fit * stride})
                        check_word(header(stride, 3, 1, count - 1), pos, avail);
        }
}

TEST(hostile_record_header, every_edge_length_at_every_position) {
    for (std::uint64_t pos : positions) {
        const std::vector<std::uint64_t> avails = {8, 32, capacity - pos, capacity};
        for (std::uint64_t avail : avails)
            for (std::uint64_t kind = 1; kind <= 6; ++kind)
                for (std::uint64_t length : edge_lengths)
                    for (std::uint64_t tag : {0, 0xffff})
                        check_word(header(length, tag, kind), pos, avail);
    }
}

TEST(hostile_record_header, padding_lengths) {
    for (std::uint64_t pos : positions) {
        // Every padding length around the one that ends the ring.
        const std::uint64_t exact = capacity - pos - 8;
        for (std::uint64_t length : {exact, exact - 8, exact + 8, exact - 1, exact + 1,
                                     std::uint64_t{0}, capacity - 8, std::uint64_t{0xffff'ffff}})
            check_word(header(length & 0xffff'ffff, 0, 2), pos, capacity);
    }
}

TEST(hostile_record_header, padding_then_record_at_the_start) {
    // An honest wrap: padding to the end, then a record at offset 0.
    test::exact_region region({{capacity}});
    region.guard_ring(0);
    test::raw_writer host(region.ring());
    ring_consumer c(region.ring());
    for (std::uint64_t i = 0; i < (capacity - 64) / 8; ++i)
        host.record(wire::record_kind::message, 0);
    host.publish();
    for (std::uint64_t i = 0; i < (capacity - 64) / 8; ++i)
        ASSERT_TRUE(c.try_receive().has_value());
    host.record(wire::record_kind::padding, 56);
    host.record(wire::record_kind::message, 16, 9, 0x0102'0304'0506'0708ull);
    host.publish();
    auto m = c.try_receive();
    ASSERT_TRUE(m.has_value()) << to_string(m.error());
    EXPECT_EQ(m->tag, 9);
    ASSERT_EQ(m->bytes.size(), 16u);
    EXPECT_EQ(m->bytes[0], std::byte{0x08});
}

TEST(hostile_record_header, torn_mixes_of_two_honest_headers) {
    // The host writes a header in pieces; the consumer may see any mix of the
    // old and new 16-bit lanes. Each mix is judged on its own fields.
    const std::vector<std::uint64_t> honest = {header(16, 1, 1),
                                               header(max_payload, 0xffff, 1),
                                               header(0, 0, 6),
                                               header(capacity - 72, 0, 2),
                                               header(200, 7, 3),
                                               header(8, 7, 5),
                                               0,
                                               ~std::uint64_t{0}};
    for (std::uint64_t a : honest)
        for (std::uint64_t b : honest)
            for (unsigned lanes = 0; lanes < 16; ++lanes) {
                std::uint64_t mix = 0;
                for (unsigned l = 0; l < 4; ++l) {
                    const std::uint64_t lane = std::uint64_t{0xffff} << (16 * l);
                    mix |= ((lanes >> l) & 1 ? b : a) & lane;
                }
                for (std::uint64_t pos : {std::uint64_t{0}, std::uint64_t{64}})
                    check_word(mix, pos, capacity - pos);
            }
}

TEST(hostile_record_header, random_words) {
    std::mt19937_64 rng(20240521);
    const int n = static_cast<int>(4000 * test::stress_scale()) + 1;
    for (int i = 0; i < n; ++i) {
        std::uint64_t w = rng();
        // Half the words get a plausible kind and reserved byte so that the
        // length checks, not only the kind check, are exercised.
        if (i % 2 == 0) w = (w & 0x0000'ffff'ffff'ffffull) | ((rng() % 6 + 1) << 48);
        if (i % 4 == 0) w = (w & ~0xffff'ffffull) | (rng() % (2 * capacity));
        const std::uint64_t pos = (rng() % (capacity / 8)) * 8;
        const std::uint64_t avail = 8 + (rng() % (capacity / 8)) * 8;
        check_word(w, pos, avail);
    }
}
