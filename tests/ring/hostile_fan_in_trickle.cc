// SPDX-License-Identifier: Apache-2.0
// Description: a host that writes messages into many rings of a fan-in one
// byte per fragment, a fragment per ring per round, for thousands of rounds,
// holds at most one reassembly buffer of the trusted cap per ring (allocated
// once, never again however long it goes on), cannot delay the honest ring's
// messages by a single round, and cannot hold a blocking receive past its
// timeout (HOSTILE-INPUTS #18, #19).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "airlock/ring/fan_in.hh"
#include "hostile_support.hh"
#include "ring/counting_allocator.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::allocated_bytes;
using airlock::test::allocations;
using airlock::test::code_of;
using airlock::test::count_allocations;
using airlock::test::largest_allocation;
using kind = airlock::ring::wire::record_kind;

namespace {

constexpr std::size_t trickling = 7;  // rings 0..6; ring 7 is honest
constexpr std::size_t honest_ring = trickling;
constexpr std::uint64_t capacity = 1024;
constexpr std::size_t cap = 4096;  // the consumer's trusted max_message

// One hostile producer: messages of exactly `cap` bytes, one byte per
// fragment, one fragment per step. Byte k of a message is k mod 256.
class trickler {
  public:
    explicit trickler(ring_view ring) : ring_(ring), w_(ring) {}

    // Writes the next fragment if the ring has room for it.
    void step() {
        if (w_.in_flight() + 16 > capacity) return;  // the consumer has not made room
        if (sent_ == 0 && !open_) {
            w_.record(kind::fragment_first, 8, 5, cap);  // just the total word
            open_ = true;
        } else {
            const bool last = sent_ + 1 == cap;
            w_.record(last ? kind::fragment_last : kind::fragment_middle, 1, 5, sent_ % 256);
            ++sent_;
            if (last) {
                sent_ = 0;
                open_ = false;
            }
        }
        w_.publish();
    }

  private:
    ring_view ring_;
    test::raw_writer w_;
    std::uint64_t sent_ = 0;
    bool open_ = false;
};

bool is_trickled_message(std::span<const std::byte> bytes) {
    if (bytes.size() != cap) return false;
    for (std::size_t k = 0; k < bytes.size(); ++k)
        if (bytes[k] != static_cast<std::byte>(k % 256)) return false;
    return true;
}

std::vector<ring_view> views(const test::exact_region& r) {
    std::vector<ring_view> v;
    for (std::size_t i = 0; i <= trickling; ++i)
        v.push_back(r.ring(i));
    return v;
}

}  // namespace

TEST(hostile_fan_in_trickle,
     byte_by_byte_messages_on_many_rings_hold_bounded_memory_and_starve_none) {
    test::exact_region r({std::vector<std::size_t>(trickling + 1, capacity), 1});
    const std::vector<ring_view> rings = views(r);
    consumer_options o;
    o.max_message = cap;
    fan_in_consumer fan(rings, r.region().doorbell(0), o);
    std::vector<trickler> hosts;
    for (std::size_t i = 0; i < trickling; ++i)
        hosts.emplace_back(r.ring(i));
    ring_producer honest(r.ring(honest_ring), {.peer_bell = &r.region().doorbell(0)});

    // Three whole messages per trickling ring: cap + 1 fragments each.
    constexpr std::uint64_t rounds = 3 * (cap + 1) + 10;
    std::uint64_t honest_got = 0;
    std::uint64_t trickled_got = 0;
    std::uint64_t bad_messages = 0;
    std::uint64_t late_rounds = 0;  // rounds whose honest message did not come in that round
    std::uint64_t most_calls = 0;   // try_receive calls in one round, at most
    std::uint64_t allocations_after_first_lap = 0;
    allocations = 0;
    allocated_bytes = 0;
    largest_allocation = 0;
    for (std::uint64_t round = 0; round < rounds; ++round) {
        for (trickler& t : hosts)
            t.step();
        ASSERT_TRUE(honest.try_send(42, test::pattern(32, round)).has_value())
            << "the honest ring is full: its messages were not taken, round " << round;
        bool honest_this_round = false;
        std::uint64_t calls = 0;
        const std::uint64_t before = allocations.load();
        count_allocations = true;
        for (;;) {
            auto m = fan.try_receive();
            ++calls;
            if (!m) {
                count_allocations = false;
                AIRLOCK_EXPECT_ERRC(m.error(), errc::ring_empty);
                break;
            }
            if (m->ring == honest_ring) {
                honest_this_round = honest_this_round ||
                                    (m->tag == 42 && test::first_mismatch(m->bytes, round) == -1);
                ++honest_got;
            } else if (is_trickled_message(m->bytes)) {
                ++trickled_got;
            } else {
                ++bad_messages;
            }
            if (calls > 2 * (trickling + 1)) break;  // a bound on the test
        }
        count_allocations = false;
        fan.publish();
        if (round > cap + 1) allocations_after_first_lap += allocations.load() - before;
        if (!honest_this_round) ++late_rounds;
        most_calls = std::max(most_calls, calls);
    }
    EXPECT_EQ(late_rounds, 0u) << "the trickling rings delayed the honest one";
    EXPECT_EQ(honest_got, rounds);
    EXPECT_EQ(trickled_got, 3 * trickling) << "each trickled message arrives whole, once";
    EXPECT_EQ(bad_messages, 0u);
    // At most a message per ring and one ring_empty per round.
    EXPECT_LE(most_calls, trickling + 2);
    for (std::size_t i = 0; i <= trickling; ++i)
        AIRLOCK_EXPECT_ERRC(fan.fault(i), errc::ok);
    // Memory: one reassembly buffer of the cap per trickling ring, made on
    // its first message, and nothing after, however long it trickles.
    EXPECT_LE(largest_allocation.load(), cap) << "a reassembly buffer beyond the trusted cap";
    EXPECT_LE(allocations.load(), trickling) << allocated_bytes.load() << " bytes in all";
    EXPECT_LE(allocated_bytes.load(), trickling * cap);
    EXPECT_EQ(allocations_after_first_lap, 0u) << "memory grew with the trickle";
}

TEST(hostile_fan_in_trickle, a_blocking_receive_fed_one_byte_per_wait_ends_at_its_timeout) {
    test::exact_region r({std::vector<std::size_t>(trickling + 1, capacity), 1});
    const std::vector<ring_view> rings = views(r);
    test::fake_hooks hooks;
    consumer_options o;
    o.max_message = cap;
    o.hooks = &hooks;
    fan_in_consumer fan(rings, r.region().doorbell(0), o);
    std::vector<trickler> hosts;
    for (std::size_t i = 0; i <= trickling; ++i)  // every ring trickles here
        hosts.emplace_back(r.ring(i));
    int fed = 0;
    // Each wait of the receive wakes to one more byte on every ring; no
    // message is ever complete before the timeout.
    auto feed = [&](ring::shared_u64&) {
        if (fed >= 10'000) return;  // a bound on the test, should the receive never give up
        ++fed;
        for (trickler& t : hosts)
            t.step();
    };
    hooks.on_park = feed;
    constexpr std::uint64_t timeout_ns = 50'000;
    constexpr std::uint64_t slack_ns = 10'000;  // the clock steps 1 us per reading
    const std::uint64_t start = hooks.clock;
    auto m = fan.receive(
        {.spin_iterations = 4, .yield_iterations = 2, .timeout_ns = timeout_ns, .hooks = &hooks});
    AIRLOCK_EXPECT_ERRC(code_of(m), errc::timed_out);
    EXPECT_LE(hooks.clock - start, timeout_ns + slack_ns)
        << "the receive ran past its timeout (" << fed << " rounds of bytes fed)";
    EXPECT_GT(fed, 0) << "the receive never waited";
    EXPECT_LT(fed, 10'000);
    EXPECT_EQ(fan.healthy_rings(), trickling + 1);
}
