// SPDX-License-Identifier: Apache-2.0
// Description: every field of the shared layout is one 8-byte word at an
// 8-byte-aligned offset, in the types (offsetof, sizeof) and in a formatted
// region (the address of every shared word), and every record starts on an
// 8-byte boundary, so the enclave only ever makes aligned 8-byte accesses to
// shared memory (HOSTILE-INPUTS #22; layout.hh holds the static_asserts).
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;

namespace {

struct field {
    const char* name;
    std::size_t offset;
    std::size_t size;
};

#define AIRLOCK_FIELD(type, member)                                     \
    field {                                                             \
#type "." #member, offsetof(type, member), sizeof(type::member) \
    }

void expect_words(const char* type, std::size_t type_size, const std::vector<field>& fields) {
    SCOPED_TRACE(type);
    EXPECT_EQ(type_size % 8, 0u) << "size " << type_size;
    for (const field& f : fields) {
        EXPECT_EQ(f.offset % 8, 0u) << f.name << " at offset " << f.offset;
        EXPECT_EQ(f.size, 8u) << f.name << " is " << f.size << " bytes";
        EXPECT_LE(f.offset + f.size, type_size) << f.name;
    }
}

bool aligned8(const void* p) {
    return reinterpret_cast<std::uintptr_t>(p) % 8 == 0;
}

}  // namespace

TEST(hostile_layout, every_shared_field_is_an_aligned_word) {
    // Aliases: offsetof takes a type name, and the bells are nested.
    using bell = wire::doorbell;
    using control = wire::ring_control;
    expect_words("shared_u64", sizeof(shared_u64), {{"bits", 0, 8}});
    expect_words(
        "region_header", sizeof(wire::region_header),
        {AIRLOCK_FIELD(wire::region_header, magic), AIRLOCK_FIELD(wire::region_header, version),
         AIRLOCK_FIELD(wire::region_header, region_size),
         AIRLOCK_FIELD(wire::region_header, ring_count),
         AIRLOCK_FIELD(wire::region_header, doorbell_count),
         AIRLOCK_FIELD(wire::region_header, ring_table_offset),
         AIRLOCK_FIELD(wire::region_header, doorbell_offset),
         AIRLOCK_FIELD(wire::region_header, pool_count)});
    EXPECT_EQ(sizeof(wire::region_header), 8u * 8) << "region_header holds only its 8 words";
    expect_words("ring_descriptor", sizeof(wire::ring_descriptor),
                 {AIRLOCK_FIELD(wire::ring_descriptor, control_offset),
                  AIRLOCK_FIELD(wire::ring_descriptor, capacity),
                  AIRLOCK_FIELD(wire::ring_descriptor, data_offset),
                  AIRLOCK_FIELD(wire::ring_descriptor, reserved)});
    EXPECT_EQ(sizeof(wire::ring_descriptor), 4u * 8) << "ring_descriptor holds only its 4 words";
    expect_words(
        "pool_descriptor", sizeof(wire::pool_descriptor),
        {AIRLOCK_FIELD(wire::pool_descriptor, offset), AIRLOCK_FIELD(wire::pool_descriptor, size),
         AIRLOCK_FIELD(wire::pool_descriptor, reserved0),
         AIRLOCK_FIELD(wire::pool_descriptor, reserved1)});
    expect_words("doorbell", sizeof(bell), {AIRLOCK_FIELD(bell, word)});
    expect_words("ring_control", sizeof(control),
                 {AIRLOCK_FIELD(control, tail),
                  AIRLOCK_FIELD(control, head),
                  {"ring_control.consumer_bell.word",
                   offsetof(control, consumer_bell) + offsetof(bell, word), 8},
                  {"ring_control.producer_bell.word",
                   offsetof(control, producer_bell) + offsetof(bell, word), 8}});
    // The hot words sit on separate 128-byte blocks (no false sharing).
    EXPECT_EQ(offsetof(control, head) - offsetof(control, tail), wire::hot_word_stride);
    EXPECT_EQ(alignof(control), wire::hot_word_stride);
    EXPECT_EQ(alignof(bell), wire::hot_word_stride);
}

TEST(hostile_layout, every_word_of_a_formatted_region_is_aligned) {
    const region_geometry g{{256, 4096, 1024, 256}, 3};
    test::exact_region r(g);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(r.data()) % wire::region_alignment, 0u);
    EXPECT_EQ(r.size() % 8, 0u);
    for (std::size_t i = 0; i < r.region().ring_count(); ++i) {
        SCOPED_TRACE(i);
        const ring_view v = r.ring(i);
        EXPECT_EQ(v.capacity, g.ring_capacities[i]);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.control) % wire::region_alignment, 0u);
        for (const shared_u64* w :
             {&v.control->tail, &v.control->head, &v.control->consumer_bell.word,
              &v.control->producer_bell.word}) {
            EXPECT_TRUE(aligned8(w));
            EXPECT_TRUE(r.contains(w, 8));
        }
        EXPECT_TRUE(aligned8(v.data));
        EXPECT_TRUE(r.contains(v.data, v.capacity)) << "data area outside the region";
        // Rings do not overlap one another or the header.
        EXPECT_GE(r.offset_of(v.control), sizeof(wire::region_header));
        if (i + 1 < r.region().ring_count()) {
            EXPECT_LE(r.offset_of(v.data) + v.capacity, r.offset_of(r.ring(i + 1).control));
        }
    }
    for (std::size_t b = 0; b < r.region().doorbell_count(); ++b) {
        const wire::doorbell& bell = r.region().doorbell(b);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(&bell) % wire::hot_word_stride, 0u);
        EXPECT_TRUE(r.contains(&bell, sizeof bell));
    }
}

TEST(hostile_layout, records_start_and_end_on_word_boundaries) {
    // Every record occupies a multiple of 8 bytes, so every header the
    // consumer loads and every index either side publishes is 8-aligned.
    for (std::uint64_t n = 0; n < 5000; ++n)
        EXPECT_EQ(wire::record_bytes(n) % 8, 0u) << n;
    test::exact_region r({{1024}});
    r.guard_ring(0);
    ring_producer p(r.ring());
    ring_consumer c(r.ring());
    std::mt19937 rng(7);
    for (int i = 0; i < 3000; ++i) {
        const std::size_t n = rng() % (p.max_record_payload() + 1);
        if (!p.try_send(1, test::pattern(n, 1))) {
            while (c.try_receive()) {
            }
            ASSERT_TRUE(p.try_send(1, test::pattern(n, 1)));
        }
        const std::uint64_t tail = shared::load_acquire(r.ring().control->tail);
        const std::uint64_t head = shared::load_acquire(r.ring().control->head);
        ASSERT_EQ(tail % 8, 0u) << "published tail " << tail;
        ASSERT_EQ(head % 8, 0u) << "published head " << head;
    }
}

TEST(hostile_layout, header_word_encoding_is_exact) {
    // Only fixed-width integers cross the boundary: the header word round
    // trips every field, and the enum is only formed from a checked byte.
    for (unsigned kind = 1; kind <= 6; ++kind)
        for (std::uint32_t length : {0u, 1u, 0x7fffffffu, 0xffffffffu})
            for (std::uint16_t tag : {std::uint16_t{0}, std::uint16_t{0xffff}}) {
                const wire::record_header h{length, tag, static_cast<wire::record_kind>(kind)};
                wire::record_header back;
                ASSERT_TRUE(wire::decode(wire::encode(h), back));
                EXPECT_EQ(back.length, length);
                EXPECT_EQ(back.tag, tag);
                EXPECT_EQ(static_cast<unsigned>(back.kind), kind);
            }
    for (unsigned kind : {0u, 7u, 0x80u, 0xffu}) {
        wire::record_header back;
        EXPECT_FALSE(wire::decode(std::uint64_t{kind} << 48, back)) << kind;
    }
}
