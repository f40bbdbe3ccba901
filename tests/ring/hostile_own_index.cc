// SPDX-License-Identifier: Apache-2.0
// Description: the host overwriting an endpoint's own published index (the
// consumer's head, the producer's tail) changes nothing for that endpoint: it
// never reads its own index back, and its next publish restores the truth
// (HOSTILE-INPUTS #3).
#include <cstdint>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::code_of;

namespace {

constexpr std::uint64_t capacity = 512;

// Values the host writes over an index: zero, far ahead, far behind,
// misaligned, all ones.
const std::vector<std::uint64_t> forged = {
    0, 8, capacity * 3, 0x8000'0000'0000'0000ull, 0xFFFF'FFFF'FFFF'FFF8ull, 3, ~0ull};

}  // namespace

TEST(hostile_own_index, consumer_ignores_its_scribbled_head) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer host(r.ring());
    ring_consumer c(r.ring());
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    for (int round = 0; round < 40; ++round) {
        // The honest host producer needs the true head to know the space it
        // has, so it sends first; the scribble lands while records are in the
        // ring and the consumer is mid-stream.
        while (host.try_send(static_cast<std::uint16_t>(sent), test::pattern(40, sent)))
            ++sent;
        for (std::uint64_t v : forged) {
            shared::store_relaxed(r.ring().control->head, v);
            auto m = c.try_receive();
            if (!m) {
                AIRLOCK_EXPECT_ERRC(m.error(), errc::ring_empty);
                break;
            }
            EXPECT_EQ(m->tag, static_cast<std::uint16_t>(received));
            EXPECT_EQ(test::first_mismatch(m->bytes, received), -1) << "message " << received;
            ++received;
        }
        // Drain the rest.
        while (auto m = c.try_receive()) {
            EXPECT_EQ(test::first_mismatch(m->bytes, received), -1) << "message " << received;
            ++received;
        }
        ASSERT_FALSE(c.faulted()) << to_string(c.fault());
        ASSERT_FALSE(host.faulted()) << to_string(host.fault());
        EXPECT_EQ(received, sent);
        // The host undoes its last scribble so that its honest producer half
        // sees the space the consumer freed; the consumer never looked.
        shared::store_release(r.ring().control->head, shared::load_acquire(r.ring().control->tail));
    }
    EXPECT_GT(received, 100u);
}

TEST(hostile_own_index, producer_ignores_its_scribbled_tail) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer p(r.ring());
    std::uint64_t private_tail = 0;
    std::uint64_t sent = 0;
    for (std::uint64_t v : forged) {
        SCOPED_TRACE(v);
        ASSERT_TRUE(p.try_send(1, test::pattern(16, sent++)).has_value());
        private_tail += wire::record_bytes(16);
        // The host scribbles the producer's tail; the next publish rewrites it
        // from the producer's private copy, not from what is there.
        shared::store_relaxed(r.ring().control->tail, v);
        ASSERT_TRUE(p.try_send(2, test::pattern(16, sent++)).has_value());
        private_tail += wire::record_bytes(16);
        EXPECT_EQ(shared::load_acquire(r.ring().control->tail), private_tail);
        EXPECT_FALSE(p.faulted()) << to_string(p.fault());
    }
    // Every record sits where an honest stream puts it: a consumer reading
    // now gets them all, in order, intact.
    ASSERT_LE(private_tail, capacity) << "the test must not fill the ring";
    ring_consumer c(r.ring());
    for (std::uint64_t i = 0; i < sent; ++i) {
        auto m = c.try_receive();
        ASSERT_TRUE(m.has_value()) << "message " << i << ": " << to_string(m.error());
        EXPECT_EQ(test::first_mismatch(m->bytes, i), -1) << "message " << i;
    }
    AIRLOCK_EXPECT_ERRC(code_of(c.try_receive()), errc::ring_empty);
}

TEST(hostile_own_index, producer_stream_stays_intact_under_tail_scribbles) {
    // The producer's decisions depend only on the consumer's head: scribbling
    // its own tail after every publish leaves every record where it belongs
    // across many laps.
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer p(r.ring());
    ring_consumer honest(r.ring());
    constexpr std::uint64_t record = wire::record_bytes(24);
    static_assert(capacity % record == 0, "no wrap padding: the true tail is sent * record");
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
    for (int round = 0; round < 50; ++round) {
        while (p.try_send(static_cast<std::uint16_t>(sent), test::pattern(24, sent))) {
            ++sent;
            shared::store_relaxed(r.ring().control->tail, forged[sent % forged.size()]);
        }
        ASSERT_FALSE(p.faulted()) << to_string(p.fault());
        // Undo the last scribble so the honest consumer sees the true tail;
        // the producer itself never looks at it.
        shared::store_release(r.ring().control->tail, sent * record);
        while (auto m = honest.try_receive()) {
            EXPECT_EQ(test::first_mismatch(m->bytes, received), -1) << "message " << received;
            ++received;
        }
        ASSERT_FALSE(honest.faulted()) << to_string(honest.fault());
    }
    EXPECT_EQ(received, sent);
    EXPECT_GT(sent, 500u);
}
