// SPDX-License-Identifier: Apache-2.0
// Description: the host harvests nothing from what the enclave writes: with
// the ring pre-filled with a pattern, every record of a size that is not a
// multiple of 8 (sent whole, reserved and written, written word by word, or
// fragmented) has zero padding bytes in its last word, zero reserved header
// bits, and nothing but its own bytes (HOSTILE-INPUTS #26).
#include <array>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;

namespace {

constexpr std::uint64_t capacity = 2048;
constexpr std::uint64_t stale = 0xA5A5'A5A5'A5A5'A5A5ull;

// The host fills the data area with a recognisable pattern.
void prefill(test::exact_region& r) {
    const std::size_t first = r.offset_of(r.ring().data) / 8;
    for (std::size_t w = first; w < first + capacity / 8; ++w)
        r.host_store(w, stale);
}

// The host's view of ring offset `pos` (mod capacity), one word.
std::uint64_t host_word(test::exact_region& r, std::uint64_t pos) {
    return r.host_load(r.offset_of(r.ring().data) / 8 + (pos % capacity) / 8);
}

// Walks the records the producer published in [from, to) as the host sees
// them and checks each one's header and trailing bytes. Returns the number
// of non-padding records.
std::size_t check_records(test::exact_region& r, std::uint64_t from, std::uint64_t to) {
    std::size_t records = 0;
    for (std::uint64_t pos = from; pos < to;) {
        const std::uint64_t word = host_word(r, pos);
        wire::record_header h;
        EXPECT_TRUE(wire::decode(word, h)) << "header at " << pos << ": 0x" << std::hex << word;
        if (!wire::decode(word, h)) return records;
        EXPECT_EQ(word >> 56, 0u) << "reserved header bits at " << pos;
        if (h.kind == wire::record_kind::padding) {
            // The padding payload is never written: it holds only what was
            // there (the host's own pattern or bytes published earlier).
            pos += wire::record_bytes(h.length);
            continue;
        }
        ++records;
        if (const std::uint64_t rest = h.length % 8; rest != 0) {
            const std::uint64_t last = host_word(r, pos + 8 + (h.length / 8) * 8);
            const std::uint64_t tail_bytes = last >> (8 * rest);
            EXPECT_EQ(tail_bytes, 0u) << "record at " << pos << " (length " << h.length
                                      << "): bytes after the payload hold 0x" << std::hex
                                      << tail_bytes << ", expected zero";
        }
        pos += wire::record_bytes(h.length);
    }
    return records;
}

}  // namespace

TEST(hostile_leftovers, whole_records_of_every_ragged_size) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    prefill(r);
    ring_producer p(r.ring());
    ring_consumer host(r.ring());
    std::uint64_t from = 0;
    std::size_t records = 0;
    for (std::size_t n = 1; n < 200; ++n) {
        if (n % 8 == 0) continue;
        // Payload bytes that are never zero, so a zero tail is the padding.
        std::vector<std::byte> payload(n, std::byte{0x5A});
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(n), payload).has_value()) << n;
        const std::uint64_t to = shared::load_acquire(r.ring().control->tail);
        records += check_records(r, from, to);
        from = to;
        // Keep the ring from filling; the host then re-fills freed space
        // with its pattern so that every lap starts dirty.
        while (host.try_receive()) {
        }
        host.publish();
        for (std::uint64_t pos = to; pos < shared::load_acquire(r.ring().control->head) + capacity;
             pos += 8) {
            r.host_store(r.offset_of(r.ring().data) / 8 + (pos % capacity) / 8, stale);
        }
    }
    EXPECT_EQ(records, 199u - 199u / 8);
}

TEST(hostile_leftovers, reservations_written_in_parts) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    prefill(r);
    ring_producer p(r.ring());
    std::uint64_t from = 0;
    for (std::size_t n : {1, 3, 7, 9, 15, 17, 33, 63}) {
        SCOPED_TRACE(n);
        auto res = p.try_reserve(n, 1);
        ASSERT_TRUE(res.has_value());
        // Whole words first, then the ragged rest through write().
        const std::size_t whole = n / 8;
        for (std::size_t w = 0; w < whole; ++w)
            res->write_word(w, 0x5A5A'5A5A'5A5A'5A5Aull);
        // A word-sized buffer of which only the ragged rest is passed: gcc's
        // -Warray-bounds cannot see that copy_in reads no whole word of a
        // buffer smaller than one.
        std::array<std::byte, 8> word{};
        word.fill(std::byte{0x5A});
        res->write(std::span(word).first(n % 8), whole * 8);
        p.commit(*res);
        p.publish();
        const std::uint64_t to = shared::load_acquire(r.ring().control->tail);
        EXPECT_EQ(check_records(r, from, to), 1u);
        from = to;
    }
}

TEST(hostile_leftovers, fragments_of_a_ragged_message) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    prefill(r);
    ring_producer p(r.ring());
    ring_consumer host(r.ring());
    // Total sizes whose last fragment is ragged.
    for (std::size_t total : {std::size_t{2021}, std::size_t{3001}, std::size_t{4093}}) {
        SCOPED_TRACE(total);
        std::vector<std::byte> big(total, std::byte{0x5A});
        outgoing_message m(1, big);
        std::uint64_t from = shared::load_acquire(r.ring().control->tail);
        for (int i = 0; i < 64 && !m.done(); ++i) {
            (void)p.try_send(m);
            const std::uint64_t to = shared::load_acquire(r.ring().control->tail);
            check_records(r, from, to);
            from = to;
            if (auto got = host.try_receive()) {
                EXPECT_EQ(got->bytes.size(), total);
            }
            host.publish();
        }
        EXPECT_TRUE(m.done());
        while (host.try_receive()) {
        }
    }
}
