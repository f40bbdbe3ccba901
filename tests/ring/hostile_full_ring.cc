// SPDX-License-Identifier: Apache-2.0
// Description: a host that never consumes leaves the enclave producer with
// back-pressure, not a hang and not a loss: try_send reports ring_full and
// keeps nothing half-sent, bounded waits end with timed_out, a large message
// stops where it was and resumes, and when the host finally drains, it gets
// exactly the messages that were reported sent (HOSTILE-INPUTS #16).
#include <cstdint>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::code_of;

namespace {
constexpr std::uint64_t capacity = 1024;
}  // namespace

TEST(hostile_full_ring, try_send_reports_ring_full_and_loses_nothing) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer p(r.ring());
    std::vector<std::uint64_t> accepted;
    std::uint64_t refused = 0;
    // Sizes that do not divide the ring, so wrap padding is involved.
    for (std::uint64_t seq = 0; seq < 200; ++seq) {
        const std::size_t n = 1 + (seq * 37) % 200;
        auto s = p.try_send(static_cast<std::uint16_t>(seq), test::pattern(n, seq));
        if (s) {
            accepted.push_back(seq);  // a smaller one may fit after a refusal
        } else {
            AIRLOCK_EXPECT_ERRC(s.error(), errc::ring_full);
            ++refused;
        }
    }
    EXPECT_FALSE(p.faulted()) << to_string(p.fault());
    ASSERT_GT(refused, 0u);
    // Full is stable: more attempts, reservations and bounded waits all say so.
    for (int i = 0; i < 10; ++i) {
        AIRLOCK_EXPECT_ERRC(code_of(p.try_send(1, test::pattern(100, 1))), errc::ring_full);
        AIRLOCK_EXPECT_ERRC(code_of(p.try_reserve(100, 1)), errc::ring_full);
        AIRLOCK_EXPECT_ERRC(code_of(p.wait_for_space(100, test::short_wait())), errc::timed_out);
    }
    // A message above the record limit is refused for its size, not hung on.
    AIRLOCK_EXPECT_ERRC(code_of(p.try_reserve(p.max_record_payload() + 1, 1)),
                        errc::message_too_large);
    // The host drains: exactly the accepted messages, in order, intact.
    ring_consumer host(r.ring());
    for (std::uint64_t seq : accepted) {
        auto m = host.try_receive();
        ASSERT_TRUE(m.has_value()) << "message " << seq << ": " << to_string(m.error());
        EXPECT_EQ(m->tag, static_cast<std::uint16_t>(seq));
        EXPECT_EQ(m->bytes.size(), 1 + (seq * 37) % 200);
        EXPECT_EQ(test::first_mismatch(m->bytes, seq), -1) << "message " << seq;
    }
    AIRLOCK_EXPECT_ERRC(code_of(host.try_receive()), errc::ring_empty);
    // Space is back: the producer goes on.
    EXPECT_TRUE(p.try_send(9, test::pattern(100, 9)).has_value());
}

TEST(hostile_full_ring, bounded_wait_with_a_clock_times_out) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    test::fake_hooks hooks;
    endpoint_options o;
    o.hooks = &hooks;
    ring_producer p(r.ring(), o);
    while (p.try_send(1, test::pattern(200, 1))) {
    }
    auto w = p.wait_for_space(200, test::short_wait(&hooks));
    AIRLOCK_EXPECT_ERRC(code_of(w), errc::timed_out);
    EXPECT_GT(hooks.parks, 0u) << "the wait should have reached its park phase";
    EXPECT_FALSE(p.faulted());
    // send() of a large message gives up the same way and abandons it.
    const std::vector<std::byte> big = test::pattern(3000, 2);
    AIRLOCK_EXPECT_ERRC(code_of(p.send(2, big, test::short_wait(&hooks))), errc::timed_out);
    EXPECT_FALSE(p.faulted());
}

TEST(hostile_full_ring, a_large_message_pauses_and_resumes) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer p(r.ring());
    ring_consumer host(r.ring());
    const std::vector<std::byte> big = test::pattern(10'000, 4);
    outgoing_message m(4, big);
    int full = 0;
    std::vector<std::byte> got;
    for (int i = 0; i < 200 && got.empty(); ++i) {
        auto s = p.try_send(m);
        if (!s) {
            AIRLOCK_EXPECT_ERRC(s.error(), errc::ring_full);
            ++full;
            EXPECT_FALSE(m.done());
        }
        // The host consumes only every third turn: the producer sees a full
        // ring most of the time.
        if (i % 3 == 2) {
            auto part = host.try_receive();
            if (part) got.assign(part->bytes.begin(), part->bytes.end());
        }
    }
    EXPECT_GT(full, 3);
    EXPECT_TRUE(m.done());
    ASSERT_EQ(got.size(), big.size());
    EXPECT_EQ(test::first_mismatch(got, 4), -1);
}

TEST(hostile_full_ring, an_abandoned_message_is_discarded_whole) {
    // The producer gives up on a large message while the ring is full; the
    // host then sees the abort and discards the part it had. The next
    // message arrives intact.
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer p(r.ring());
    ring_consumer host(r.ring());
    const std::vector<std::byte> big = test::pattern(5000, 5);
    outgoing_message m(5, big);
    AIRLOCK_EXPECT_ERRC(code_of(p.try_send(m)), errc::ring_full);
    p.abandon(m);  // the abort waits for space: the ring is full
    AIRLOCK_EXPECT_ERRC(code_of(p.try_send(6, test::pattern(10, 6))), errc::ring_full);
    std::vector<std::uint16_t> tags;
    for (int i = 0; i < 20; ++i) {
        auto msg = host.try_receive();
        if (msg) tags.push_back(msg->tag);
        (void)p.try_send(7, test::pattern(10, 7));  // flushes the abort first
        if (!tags.empty()) break;
    }
    ASSERT_EQ(tags.size(), 1u);
    EXPECT_EQ(tags[0], 7) << "only the message after the abort is delivered";
    EXPECT_FALSE(host.faulted()) << to_string(host.fault());
}
