// SPDX-License-Identifier: Apache-2.0
// Description: with the enclave as producer, a forged consumer index (head
// rewound, beyond what was published, misaligned, far ahead, wrapped) puts
// the producer into a sticky fault before it writes a byte on its strength;
// and the host racing on the records the producer writes or has written
// (headers, payload, its tail) changes none of the producer's decisions: it
// never reads back what it wrote (HOSTILE-INPUTS #1-#3 mirrored, #27).
#include <cstdint>
#include <limits>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::code_of;

namespace {

constexpr std::uint64_t capacity = 512;
constexpr std::uint64_t record_size = wire::record_bytes(56);  // 64 bytes: 8 fill the ring

// Publishes 8 records of 56 bytes (a full ring) from `p`.
void fill(ring_producer& p) {
    for (std::uint64_t i = 0; i < capacity / record_size; ++i)
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(i), test::pattern(56, i)).has_value())
            << "send " << i;
}

struct bad_head {
    const char* what;
    std::uint64_t head;
    errc want;
};

}  // namespace

TEST(hostile_producer_side, table_of_forged_heads) {
    // The producer has published 12 records (tail = 768) after the honest
    // consumer released half a ring (head = 256): the ring is full again
    // when the host forges the head.
    constexpr std::uint64_t published = 768;
    const std::vector<bad_head> bad = {
        {"rewound one word", 248, errc::fault_head_rewound},
        {"rewound to zero", 0, errc::fault_head_rewound},
        {"wrapped to 2^64 - 8", std::numeric_limits<std::uint64_t>::max() - 7,
         errc::fault_head_rewound},
        {"beyond the published tail by a word", published + 8, errc::fault_head_beyond_tail},
        {"a lap beyond the published tail", published + capacity, errc::fault_head_beyond_tail},
        {"far ahead (2^40)", std::uint64_t{1} << 40, errc::fault_head_beyond_tail},
        {"misaligned", 257, errc::fault_index_misaligned},
        {"all ones", std::numeric_limits<std::uint64_t>::max(), errc::fault_index_misaligned},
    };
    for (const bad_head& b : bad) {
        SCOPED_TRACE(b.what);
        test::exact_region r({{capacity}});
        r.guard_ring(0);
        ring_producer p(r.ring());
        fill(p);
        shared::store_release(r.ring().control->head, capacity / 2);
        for (std::uint64_t i = 0; i < 4; ++i)
            ASSERT_TRUE(p.try_send(1, test::pattern(56, i)).has_value()) << "refill " << i;
        ASSERT_EQ(shared::load_acquire(r.ring().control->tail), published);
        AIRLOCK_EXPECT_ERRC(code_of(p.try_send(1, test::pattern(56, 1))), errc::ring_full);

        shared::store_release(r.ring().control->head, b.head);
        std::uint64_t sent_after = 0;
        for (int i = 0; i < 8; ++i)
            sent_after += p.try_send(2, test::pattern(56, 2)) ? 1 : 0;
        AIRLOCK_EXPECT_ERRC(p.fault(), b.want);
        EXPECT_EQ(sent_after, 0u) << "sent into space the forged head claimed was free";
        EXPECT_EQ(shared::load_acquire(r.ring().control->tail), published);
        test::expect_producer_stuck(p, b.want);
    }
}

TEST(hostile_producer_side, head_at_the_published_tail_is_legal) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer p(r.ring());
    for (int lap = 0; lap < 10; ++lap) {
        fill(p);
        // Everything consumed: head == published tail, the extreme legal value.
        shared::store_release(r.ring().control->head, shared::load_acquire(r.ring().control->tail));
    }
    EXPECT_FALSE(p.faulted()) << to_string(p.fault());
}

TEST(hostile_producer_side, head_beyond_published_but_within_committed) {
    // Committed records are not the consumer's until published: a head that
    // claims them is beyond the tail.
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer p(r.ring());
    std::uint64_t committed = 0;
    for (;;) {
        auto res = p.try_reserve(56, 1);
        if (!res) break;
        res->write(test::pattern(56, committed));
        p.commit(*res);
        ++committed;
        if (committed == 4) {
            // Forge before anything is published.
            shared::store_release(r.ring().control->head, 3 * record_size);
        }
    }
    // Equal messages committed without a publish form one run that fills
    // the ring; then the producer needs the forged head, and rejects it.
    EXPECT_EQ(committed, (capacity - wire::record_header_bytes) / 56);
    AIRLOCK_EXPECT_ERRC(p.fault(), errc::fault_head_beyond_tail);
    test::expect_producer_stuck(p, errc::fault_head_beyond_tail);
}

TEST(hostile_producer_side, forged_head_during_a_fragmented_message) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer p(r.ring());
    const std::vector<std::byte> big = test::pattern(5000, 9);
    outgoing_message m(9, big);
    AIRLOCK_EXPECT_ERRC(code_of(p.try_send(m)), errc::ring_full);
    shared::store_release(r.ring().control->head, 3);
    AIRLOCK_EXPECT_ERRC(code_of(p.try_send(m)), errc::fault_index_misaligned);
    EXPECT_FALSE(m.done());
    p.abandon(m);  // on a faulted ring: nothing written, nothing thrown
    test::expect_producer_stuck(p, errc::fault_index_misaligned);
}

TEST(hostile_producer_side, forged_head_while_waiting_for_space) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    test::fake_hooks hooks;
    endpoint_options o;
    o.hooks = &hooks;
    ring_producer p(r.ring(), o);
    fill(p);
    int parks = 0;
    hooks.on_park = [&](shared_u64&) {
        if (++parks == 2) shared::store_release(r.ring().control->head, 4 * capacity);
    };
    wait_policy forever = test::short_wait(&hooks);
    forever.timeout_ns = ~0ull;
    AIRLOCK_EXPECT_ERRC(code_of(p.wait_for_space(56, forever)), errc::fault_head_beyond_tail);
    test::expect_producer_stuck(p, errc::fault_head_beyond_tail);
}

TEST(hostile_producer_side, scribbled_records_change_no_decision) {
    // After each send the host overwrites everything the producer wrote:
    // record headers, payload and its tail. The producer's next record lands
    // exactly where its private tail says, and the tail it publishes is its
    // own; it faults only if the head (the one word it reads) is forged.
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer p(r.ring());
    const std::size_t data = r.offset_of(r.ring().data) / 8;
    std::uint64_t tail = 0;
    for (std::uint64_t seq = 0; seq < 200; ++seq) {
        const std::size_t n = (seq * 13) % 100;
        const std::uint64_t bytes = wire::record_bytes(n);
        const std::uint64_t to_end = capacity - (tail % capacity);
        const std::uint64_t pad = to_end < bytes ? to_end : 0;
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(seq), test::pattern(n, seq)))
            << "send " << seq << ": " << to_string(p.fault());
        const std::uint64_t at = tail + pad;
        tail = at + bytes;
        EXPECT_EQ(shared::load_acquire(r.ring().control->tail), tail);
        wire::record_header h;
        ASSERT_TRUE(wire::decode(r.host_load(data + (at % capacity) / 8), h)) << seq;
        EXPECT_EQ(h.length, n);
        EXPECT_EQ(h.tag, static_cast<std::uint16_t>(seq));
        // The host trashes the data area and the tail, then releases
        // everything honestly so the ring never fills.
        for (std::size_t w = data; w < data + capacity / 8; ++w)
            r.host_store(w, ~0ull);
        shared::store_relaxed(r.ring().control->tail, 0xBAD);
        shared::store_release(r.ring().control->head, tail);
    }
    EXPECT_FALSE(p.faulted()) << to_string(p.fault());
}
