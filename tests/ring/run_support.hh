// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/ring/run_support.hh: what the tests of runs share (runs.cc,
// send_run.cc, peek_run.cc): commit a patterned message, receive messages in
// order, read a record header.
#include <gtest/gtest.h>

#include <cstdint>

#include "airlock/ring/spsc_ring.hh"
#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

namespace airlock::test {

// Reserves, writes pattern(bytes, seed) and commits one message (no publish).
inline void commit_pattern(ring::ring_producer& p, std::size_t bytes, std::uint16_t tag,
                           std::uint64_t seed) {
    auto r = p.try_reserve(bytes, tag);
    ASSERT_TRUE(r) << to_string(r.error());
    r->write(pattern(bytes, seed));
    p.commit(*r);
}

// Receives messages `first` .. `first + count - 1`, each `bytes` long with
// `tag` and the pattern of its number.
inline void receive_in_order(ring::ring_consumer& c, std::size_t bytes, std::uint16_t tag,
                             std::uint64_t first, std::uint64_t count) {
    for (std::uint64_t i = first; i < first + count; ++i) {
        auto m = c.try_receive();
        ASSERT_TRUE(m) << i << ": " << to_string(m.error());
        EXPECT_EQ(m->tag, tag) << i;
        EXPECT_TRUE(is_pattern(m->bytes, bytes, i)) << i;
    }
}

// The record header at byte `offset` of the ring's data area, decoded.
inline ring::wire::record_header header_at(const ring::ring_view& v, std::uint64_t offset) {
    ring::wire::record_header h;
    EXPECT_TRUE(ring::wire::decode(header_word_at(v, offset), h)) << offset;
    return h;
}

}  // namespace airlock::test
