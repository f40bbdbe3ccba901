// SPDX-License-Identifier: Apache-2.0
// Description: a blocking receive or send gives up at its timeout, measured
// from when the call began, however the peer keeps its waits short: a host
// feeding empty fragment records that complete nothing, or freeing one word
// of ring at a time, cannot hold the call past its deadline (injected clock).
#include "ring/hostile_support.hh"

using namespace airlock;
using ring::wire::record_kind;

namespace {

constexpr std::uint64_t timeout_ns = 50'000;
constexpr std::uint64_t slack_ns = 10'000;  // the clock steps 1 us per reading

}  // namespace

TEST(hostile_slow_trickle, a_receive_fed_empty_fragments_ends_at_its_timeout) {
    test::exact_region region({{4096}});
    test::fake_hooks hooks;
    ring::consumer_options options;
    options.hooks = &hooks;
    ring::ring_consumer consumer(region.ring(0), options);
    test::raw_writer host(region.ring(0));
    // A message announced at 1 KiB, whose parts never come.
    host.put(ring::wire::encode({.length = 8, .tag = 1, .kind = record_kind::fragment_first}));
    host.put(1024);
    host.publish();
    int fed = 0;
    hooks.on_park = [&](ring::shared_u64&) {
        if (fed >= 10'000) return;  // a bound on the test, should the receive never give up
        ++fed;
        host.record(record_kind::fragment_middle, 0, 1);
        host.publish();
    };
    const std::uint64_t start = hooks.clock;
    const auto m = consumer.receive(
        {.spin_iterations = 4, .yield_iterations = 2, .timeout_ns = timeout_ns, .hooks = &hooks});
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error(), errc::timed_out);
    EXPECT_LE(hooks.clock - start, timeout_ns + slack_ns)
        << "the receive ran past its timeout (" << fed << " empty fragments fed)";
    EXPECT_LT(fed, 10'000);
}

TEST(hostile_slow_trickle, a_send_to_a_consumer_that_frees_a_word_at_a_time_ends_at_its_timeout) {
    test::exact_region region({{4096}});
    test::fake_hooks hooks;
    ring::ring_producer producer(region.ring(0), {.hooks = &hooks});
    ring::wire::ring_control& control = *region.ring(0).control;
    int freed = 0;
    hooks.on_park = [&](ring::shared_u64&) {
        if (freed >= 10'000) return;
        const std::uint64_t tail = ring::shared::load_acquire(control.tail);
        const std::uint64_t head = ring::shared::load_acquire(control.head);
        if (head < tail) {
            ring::shared::store_release(control.head, head + 8);  // one word
            ++freed;
        }
    };
    const std::vector<std::byte> big(64 * 1024, std::byte{7});
    const std::uint64_t start = hooks.clock;
    const auto r = producer.send(
        1, big,
        {.spin_iterations = 4, .yield_iterations = 2, .timeout_ns = timeout_ns, .hooks = &hooks});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_LE(hooks.clock - start, timeout_ns + slack_ns)
        << "the send ran past its timeout (" << freed << " words freed)";
}
