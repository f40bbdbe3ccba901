// SPDX-License-Identifier: Apache-2.0
// Description: fan_in_consumer serves one message per ring per turn; faulted rings set aside.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "airlock/ring/fan_in.hh"
#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;

namespace {

// `n` rings of `capacity` and one doorbell for the fan-in.
struct fan_in_setup {
    test::test_region region;
    std::vector<ring_view> views;
    std::vector<ring_producer> producers;

    fan_in_setup(std::size_t n, std::size_t capacity, wait_hooks* hooks = nullptr)
        : region(std::vector<std::size_t>(n, capacity), 1) {
        for (std::size_t i = 0; i < n; ++i) {
            views.push_back(region.ring(i));
            producers.emplace_back(views.back(),
                                   endpoint_options{.hooks = hooks, .peer_bell = &bell()});
        }
    }
    wire::doorbell& bell() { return region.region().doorbell(0); }

    // Message j of ring i carries tag i and seq i * 1000 + j.
    void send(std::size_t ring, std::uint64_t j, std::size_t size = 16) {
        ASSERT_TRUE(producers[ring].try_send(static_cast<std::uint16_t>(ring),
                                             pattern(size, ring * 1000 + j)));
    }
};

// The ring of each message until ring_empty.
std::string order(fan_in_consumer& f) {
    std::string s;
    for (;;) {
        auto m = f.try_receive();
        if (!m) {
            EXPECT_EQ(m.error(), errc::ring_empty);
            return s;
        }
        EXPECT_EQ(m->tag, m->ring);
        s += static_cast<char>('0' + m->ring);
    }
}

}  // namespace

TEST(fan_in_fairness, one_message_per_ring_per_turn) {
    fan_in_setup s(3, 1024);
    fan_in_consumer f(s.views, s.bell());
    EXPECT_EQ(f.ring_count(), 3u);
    EXPECT_EQ(f.healthy_rings(), 3u);
    for (std::uint64_t j = 0; j < 5; ++j)
        s.send(0, j);
    for (std::uint64_t j = 0; j < 2; ++j)
        s.send(1, j);
    for (std::uint64_t j = 0; j < 4; ++j)
        s.send(2, j);
    EXPECT_EQ(order(f), "01201202020");
}

TEST(fan_in_fairness, a_busy_ring_cannot_starve_the_others) {
    fan_in_setup s(4, 4096);
    fan_in_consumer f(s.views, s.bell());
    for (std::uint64_t j = 0; j < 100; ++j)
        s.send(0, j);
    s.send(3, 0);
    std::string got;
    for (int k = 0; k < 2; ++k) {
        auto m = f.try_receive();
        ASSERT_TRUE(m);
        got += static_cast<char>('0' + m->ring);
    }
    EXPECT_EQ(got, "03") << "ring 3 waited behind ring 0";
    // A ring that gets a message later is served on its next turn.
    s.send(1, 0);
    auto m = f.try_receive();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->ring, 0u);
    m = f.try_receive();
    ASSERT_TRUE(m);
    EXPECT_EQ(m->ring, 1u);
}

TEST(fan_in_fairness, per_ring_order_and_content_are_kept) {
    fan_in_setup s(3, 1024);
    fan_in_consumer f(s.views, s.bell());
    std::uint64_t next[3] = {};
    std::uint64_t sent[3] = {};
    for (int round = 0; round < 200; ++round) {
        for (std::size_t i = 0; i < 3; ++i)
            for (std::size_t k = 0; k <= (round + i) % 4; ++k) {
                if (!s.producers[i].try_send(static_cast<std::uint16_t>(i),
                                             pattern(8 * i + k, i * 1'000'000 + sent[i])))
                    break;
                ++sent[i];
            }
        for (int k = 0; k < 6; ++k) {
            auto m = f.try_receive();
            if (!m) break;
            const std::size_t i = m->ring;
            ASSERT_LT(i, 3u);
            EXPECT_TRUE(is_pattern(m->bytes, m->bytes.size(), i * 1'000'000 + next[i]))
                << "ring " << i;
            ++next[i];
        }
    }
    while (auto m = f.try_receive()) {
        EXPECT_TRUE(is_pattern(m->bytes, m->bytes.size(), m->ring * 1'000'000 + next[m->ring]));
        ++next[m->ring];
    }
    for (std::size_t i = 0; i < 3; ++i)
        EXPECT_EQ(next[i], sent[i]) << "ring " << i;
}

TEST(fan_in_fairness, a_fragmented_message_is_one_turn) {
    fan_in_setup s(2, 4096);
    fan_in_consumer f(s.views, s.bell());
    const auto big = pattern(3000, 1);  // two fragments in a 4096-byte ring
    outgoing_message m(0, big);
    ASSERT_TRUE(s.producers[0].try_send(m));
    s.send(0, 1);
    s.send(1, 0);
    auto a = f.try_receive();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->ring, 0u);
    EXPECT_TRUE(is_pattern(a->bytes, 3000, 1));
    auto b = f.try_receive();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->ring, 1u);
    auto c = f.try_receive();
    ASSERT_TRUE(c);
    EXPECT_EQ(c->ring, 0u);
}

TEST(fan_in_fairness, an_incomplete_message_does_not_hold_up_the_others) {
    fan_in_setup s(2, 256);
    fan_in_consumer f(s.views, s.bell());
    const auto big = pattern(1000, 1);
    outgoing_message m(0, big);
    ASSERT_EQ(s.producers[0].try_send(m).error(), errc::ring_full);
    s.send(1, 0);
    auto got = f.try_receive();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->ring, 1u);
    while (!m.done()) {
        auto r = s.producers[0].try_send(m);
        if (!r) {
            ASSERT_EQ(r.error(), errc::ring_full);
        }
        got = f.try_receive();
        if (got) {
            EXPECT_EQ(got->ring, 0u);
            EXPECT_TRUE(is_pattern(got->bytes, 1000, 1));
        }
    }
}

TEST(fan_in_fairness, a_faulted_ring_is_set_aside_while_the_others_go_on) {
    fan_in_setup s(3, 1024);
    consumer_options o;
    o.max_message = 600;
    fan_in_consumer f(s.views, s.bell(), o);
    const auto too_big = pattern(601, 9);  // fragmented, above the cap
    outgoing_message bad(1, too_big);
    s.send(1, 0);
    ASSERT_TRUE(s.producers[1].try_send(bad));
    s.send(1, 2);
    for (std::uint64_t j = 0; j < 4; ++j) {
        s.send(0, j);
        s.send(2, j);
    }
    // Ring 1 delivers its first message, then faults on its turn and is
    // skipped within the same call.
    EXPECT_EQ(order(f), "012020202");
    EXPECT_EQ(f.healthy_rings(), 2u);
    EXPECT_EQ(f.fault(0), errc::ok);
    EXPECT_EQ(f.fault(1), errc::fault_fragment_total);
    EXPECT_EQ(f.fault(2), errc::ok);
    // The others go on; ring 1 stays set aside.
    s.send(1, 3);
    s.send(0, 4);
    s.send(2, 4);
    EXPECT_EQ(order(f), "02");
    EXPECT_EQ(f.healthy_rings(), 2u);
}

TEST(fan_in_fairness, when_every_ring_has_faulted_the_first_fault_is_reported) {
    fan_in_setup s(3, 1024);
    consumer_options o;
    o.max_message = 600;
    fan_in_consumer f(s.views, s.bell(), o);
    const auto too_big = pattern(601, 9);
    for (std::size_t i = 0; i < 3; ++i) {
        outgoing_message bad(static_cast<std::uint16_t>(i), too_big);
        ASSERT_TRUE(s.producers[i].try_send(bad));
    }
    auto m = f.try_receive();
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error(), errc::fault_fragment_total);
    EXPECT_EQ(f.healthy_rings(), 0u);
    test::fake_wait_hooks hooks;
    auto w = f.receive({.hooks = &hooks});
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error(), errc::fault_fragment_total) << "receive must not wait on dead rings";
    EXPECT_EQ(hooks.parks, 0u);
}

TEST(fan_in_fairness, an_empty_fan_in_is_empty) {
    test::test_region r({}, 1);
    fan_in_consumer f({}, r.region().doorbell(0));
    EXPECT_EQ(f.ring_count(), 0u);
    EXPECT_EQ(f.try_receive().error(), errc::ring_empty);
}

TEST(fan_in_fairness, producers_ring_the_shared_bell_and_receive_parks_on_it) {
    test::fake_wait_hooks hooks;
    fan_in_setup s(3, 1024, &hooks);
    fan_in_consumer f(s.views, s.bell(), {{.hooks = &hooks}});
    int parks_before_send = 2;
    hooks.on_park = [&] {
        if (--parks_before_send == 0) s.send(2, 0);
    };
    auto m = f.receive({.spin_iterations = 4, .yield_iterations = 2, .hooks = &hooks});
    ASSERT_TRUE(m) << to_string(m.error());
    EXPECT_EQ(m->ring, 2u);
    EXPECT_EQ(hooks.parks, 2u);
    EXPECT_EQ(hooks.unparks, 1u) << "the producer's publish must ring the fan-in bell";
    EXPECT_EQ(hooks.last_unparked, &s.bell().word);
    EXPECT_EQ(shared::load_relaxed(s.bell().word), 0u);
}

TEST(fan_in_fairness, space_freed_on_a_ring_wakes_that_ring_s_producer) {
    test::fake_wait_hooks hooks;
    fan_in_setup s(2, 256);
    consumer_options o;
    o.hooks = &hooks;
    o.peer_bell = &s.bell();  // documented as ignored by the fan-in
    fan_in_consumer f(s.views, s.bell(), o);
    std::uint64_t j = 0;
    while (s.producers[1].try_send(1, pattern(24, 1000 + j)))
        ++j;
    // Ring 1's producer announces that it may park for space.
    shared::store_relaxed(s.views[1].control->producer_bell.word, 1);
    while (f.try_receive()) {
    }
    EXPECT_GE(hooks.unparks, 1u);
    EXPECT_EQ(hooks.last_unparked, &s.views[1].control->producer_bell.word)
        << "the consumer rang some other bell than its producer's";
    EXPECT_EQ(shared::load_relaxed(s.views[1].control->producer_bell.word), 0u);
}
