// SPDX-License-Identifier: Apache-2.0
// Description: a flood of valid-looking records cannot take over the
// consumer: poll handles at most its budget, one try_receive or try_peek
// call does bounded work even when the host refills the ring in the middle of
// it (endless fragments, first/abort pairs, padding laps), a flooding ring
// does not starve its fan-in neighbours, and the steady state allocates
// nothing (HOSTILE-INPUTS #18).
#include <cstdint>
#include <functional>
#include <vector>

#include "airlock/ring/fan_in.hh"
#include "hostile_support.hh"
#include "ring/counting_allocator.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::allocations;
using airlock::test::code_of;
using airlock::test::count_allocations;

namespace {

constexpr std::uint64_t capacity = 1024;
// The host gives up refilling after this many refills; a call still running
// then would have run for as long as the host cared to feed it.
constexpr std::uint64_t host_patience = 20000;

// A hostile producer that refills the ring from inside the consumer's call:
// the consumer publishes its head every quarter ring and rings the
// producer's doorbell, which the host keeps set, so the fake unpark runs
// `refill` in the middle of the consumer's work.
class refilling_host {
  public:
    refilling_host(ring_view ring, std::function<void(test::raw_writer&)> refill)
        : ring_(ring), writer_(ring), refill_(std::move(refill)) {
        hooks_.on_unpark = [this](shared_u64&) { step(); };
        shared::store_relaxed(ring_.control->producer_bell.word, 1);
    }
    // First fill, before the consumer runs.
    void start() {
        refill_(writer_);
        writer_.publish();
    }
    [[nodiscard]] test::fake_hooks& hooks() { return hooks_; }
    [[nodiscard]] std::uint64_t refills() const { return refills_; }
    [[nodiscard]] bool gave_up() const { return refills_ >= host_patience; }

  private:
    void step() {
        if (gave_up()) return;
        ++refills_;
        refill_(writer_);
        writer_.publish();
        shared::store_relaxed(ring_.control->producer_bell.word, 1);  // "wake me again"
    }
    ring_view ring_;
    test::raw_writer writer_;
    std::function<void(test::raw_writer&)> refill_;
    test::fake_hooks hooks_;
    std::uint64_t refills_ = 0;
};

consumer_options with_hooks(wait_hooks& hooks) {
    consumer_options o;
    o.hooks = &hooks;
    return o;
}

}  // namespace

TEST(hostile_flood, poll_handles_at_most_its_budget) {
    test::exact_region r({{4096}});
    r.guard_ring(0);
    ring_producer host(r.ring());
    ring_consumer c(r.ring());
    std::uint64_t sent = 0;
    while (host.try_send(static_cast<std::uint16_t>(sent), {}))
        ++sent;
    ASSERT_EQ(sent, 4096u / 8) << "a full ring of empty messages";
    std::uint64_t handled = 0;
    auto zero = c.poll(0, [&](const message&) { ++handled; });
    ASSERT_TRUE(zero.has_value());
    EXPECT_EQ(*zero, 0u);
    EXPECT_EQ(handled, 0u);
    for (std::uint64_t budget : {1, 7, 64, 100}) {
        SCOPED_TRACE(budget);
        const std::uint64_t before = handled;
        auto n = c.poll(budget, [&](const message& m) {
            EXPECT_EQ(m.tag, static_cast<std::uint16_t>(handled));
            ++handled;
        });
        ASSERT_TRUE(n.has_value()) << to_string(n.error());
        EXPECT_EQ(*n, budget);
        EXPECT_EQ(handled - before, budget) << "poll exceeded its budget";
    }
    auto rest = c.poll(1'000'000, [&](const message&) { ++handled; });
    ASSERT_TRUE(rest.has_value());
    EXPECT_EQ(handled, sent) << "nothing lost";
}

TEST(hostile_flood, try_receive_is_bounded_under_endless_fragments) {
    test::watchdog dog(std::chrono::seconds(60), "try_receive under endless fragments");
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    bool first = true;
    refilling_host host(r.ring(), [&](test::raw_writer& w) {
        if (first) {
            w.record(wire::record_kind::fragment_first, 8, 3, 1u << 20);  // total: 1 MiB
            first = false;
        }
        while (w.in_flight() + 8 <= capacity)
            w.record(wire::record_kind::fragment_middle, 0, 3);
    });
    ring_consumer c(r.ring(), with_hooks(host.hooks()));
    host.start();
    for (int call = 0; call < 4; ++call) {
        SCOPED_TRACE(call);
        const std::uint64_t before = host.refills();
        auto m = c.try_receive();
        EXPECT_FALSE(host.gave_up()) << "one try_receive ran through " << host.refills()
                                     << " refills of the ring without returning";
        EXPECT_LE(host.refills() - before, 8u) << "expected a ring's worth of work per call";
        AIRLOCK_EXPECT_ERRC(code_of(m), errc::ring_empty);
        if (host.gave_up()) break;
    }
    EXPECT_FALSE(c.faulted()) << to_string(c.fault());
}

TEST(hostile_flood, try_receive_is_bounded_under_first_abort_pairs) {
    test::watchdog dog(std::chrono::seconds(60), "try_receive under first/abort pairs");
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    refilling_host host(r.ring(), [&](test::raw_writer& w) {
        // Room for a pair even after wrap padding of up to 16 bytes.
        while (w.in_flight() + 40 <= capacity) {
            w.wrap_for(16);
            w.record(wire::record_kind::fragment_first, 8, 1, 0);  // an empty message begins
            w.record(wire::record_kind::fragment_abort, 0);        // and is abandoned
        }
    });
    ring_consumer c(r.ring(), with_hooks(host.hooks()));
    host.start();
    const std::uint64_t before = host.refills();
    auto m = c.try_receive();
    EXPECT_FALSE(host.gave_up()) << "one try_receive ran through " << host.refills()
                                 << " refills of the ring without returning";
    EXPECT_LE(host.refills() - before, 8u);
    AIRLOCK_EXPECT_ERRC(code_of(m), errc::ring_empty);
    EXPECT_FALSE(c.faulted()) << to_string(c.fault());
}

TEST(hostile_flood, try_peek_is_bounded_under_endless_padding) {
    // Padding that covers the whole ring from offset 0 is never written by
    // a producer (a record needs at most half the ring); a host that keeps
    // writing it would otherwise keep try_peek skipping for ever.
    test::watchdog dog(std::chrono::seconds(60), "try_peek under endless padding laps");
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    refilling_host host(r.ring(), [&](test::raw_writer& w) {
        if (w.in_flight() == 0) w.record(wire::record_kind::padding, capacity - 8);
    });
    ring_consumer c(r.ring(), with_hooks(host.hooks()));
    host.start();
    auto rec = c.try_peek();
    EXPECT_FALSE(host.gave_up()) << "one try_peek skipped " << host.refills()
                                 << " laps of padding without returning";
    AIRLOCK_EXPECT_ERRC(code_of(rec), errc::fault_padding);
    test::expect_consumer_stuck(c, errc::fault_padding);
}

TEST(hostile_flood, a_flooding_ring_does_not_starve_its_neighbours) {
    test::watchdog dog(std::chrono::seconds(60), "fan-in with a flooding ring");
    test::exact_region r({{capacity, capacity}, 1});
    bool first = true;
    refilling_host flooder(r.ring(0), [&](test::raw_writer& w) {
        if (first) {
            w.record(wire::record_kind::fragment_first, 8, 3, 1u << 20);
            first = false;
        }
        while (w.in_flight() + 8 <= capacity)
            w.record(wire::record_kind::fragment_middle, 0, 3);
    });
    ring_producer honest(r.ring(1));
    const std::vector<ring_view> rings = {r.ring(0), r.ring(1)};
    fan_in_consumer fan(rings, r.region().doorbell(0), with_hooks(flooder.hooks()));
    flooder.start();
    ASSERT_TRUE(honest.try_send(42, test::pattern(32, 42)).has_value());
    bool got_honest = false;
    for (int call = 0; call < 4 && !got_honest && !flooder.gave_up(); ++call) {
        auto m = fan.try_receive();
        if (m && m->ring == 1) {
            got_honest = true;
            EXPECT_EQ(m->tag, 42);
            EXPECT_EQ(test::first_mismatch(m->bytes, 42), -1);
        }
    }
    EXPECT_FALSE(flooder.gave_up())
        << "the flooding ring kept the fan-in busy for " << flooder.refills() << " refills";
    EXPECT_TRUE(got_honest) << "the honest ring's message was not delivered";
}

TEST(hostile_flood, reassembly_is_capped_by_trusted_config) {
    for (std::uint64_t total : {std::uint64_t{4097}, std::uint64_t{1} << 40, ~std::uint64_t{0}}) {
        SCOPED_TRACE(total);
        test::exact_region r({{capacity}});
        r.guard_ring(0);
        test::raw_writer host(r.ring());
        consumer_options o;
        o.max_message = 4096;
        ring_consumer c(r.ring(), o);
        host.record(wire::record_kind::fragment_first, 8, 0, total);
        host.publish();
        const std::uint64_t before = allocations.load();
        count_allocations = true;
        auto m = c.try_receive();
        count_allocations = false;
        AIRLOCK_EXPECT_ERRC(code_of(m), errc::fault_fragment_total);
        EXPECT_EQ(allocations.load(), before) << "allocated for a message it then refused";
    }
}

TEST(hostile_flood, steady_state_allocates_nothing) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer host(r.ring());
    ring_consumer c(r.ring());
    const std::vector<std::byte> payload = test::pattern(wire::max_record_payload(capacity), 1);
    std::uint64_t handled = 0;
    const std::uint64_t before = allocations.load();
    count_allocations = true;
    for (int round = 0; round < 2000; ++round) {
        for (std::size_t n : {std::size_t{0}, std::size_t{8}, std::size_t{100}, payload.size()})
            (void)host.try_send(1, std::span(payload).first(n));
        auto polled = c.poll(64, [&](const message&) { ++handled; });
        if (!polled) break;
    }
    count_allocations = false;
    EXPECT_EQ(allocations.load(), before)
        << "allocations during a flood of " << handled << " single-record messages";
    EXPECT_FALSE(c.faulted()) << to_string(c.fault());
    EXPECT_GT(handled, 4000u);
}
