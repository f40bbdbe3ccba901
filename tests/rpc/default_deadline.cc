// SPDX-License-Identifier: Apache-2.0
// Description: a call made without a deadline of its own, to a host that
// never answers, ends with deadline_exceeded once the endpoint's default
// deadline (30 s unless configured) has passed on the injected clock, and
// no later than a quarter of it after, wherever it waits: for its reply
// (the host is told with a cancel record), for a call slot, or for ring
// space (never sent, or its partial fragments aborted).
#include <cstdint>
#include <string>

#include "airlock/async/cancellation.hh"
#include "rpc/default_deadline_support.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;

constexpr rpc::host_method<9, std::uint64_t(std::string)> store{"store"};

template <class T>
errc error_of(const std::shared_ptr<test::outcome<expected<T>>>& out) {
    return test::outcome_error(out);
}
using test::ms;
template <class Done>
std::uint64_t wait_until(test::hostile_host& f, std::uint64_t step, std::uint64_t limit,
                         Done done) {
    return test::advance_until(f, step, limit, done);
}

TEST(default_deadline, a_call_to_a_host_that_never_answers_ends_after_the_default) {
    test::hostile_host f;  // the default options: 30 s
    const std::uint64_t timeout = rpc::endpoint_options{}.default_call_timeout_ns;
    ASSERT_EQ(timeout, 30'000 * ms);
    auto out = f.start(f.enclave().call(lookup, 1));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value()) << "the call was not sent";
    const std::uint64_t waited = wait_until(f, 100 * ms, 60'000 * ms, [&] { return out->done(); });
    ASSERT_TRUE(out->done()) << "the caller still waits after " << waited << " ns";
    EXPECT_TRUE(test::same_errc(error_of(out), errc::deadline_exceeded));
    EXPECT_GE(waited, timeout) << "ended before the default deadline";
    EXPECT_LE(waited, timeout + timeout / 4 + 100 * ms) << "ended later than the bound";
    auto cancel = f.ch.take_cancel();
    ASSERT_TRUE(cancel.has_value());
    EXPECT_EQ(*cancel, c->id) << "the host is told which call was given up";
    EXPECT_EQ(f.enclave().stats().calls_timed_out, 1u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));
    // The channel goes on working.
    auto next = f.start(f.enclave().call(lookup, 2));
    f.settle();
    auto c2 = f.ch.take_call();
    ASSERT_TRUE(c2.has_value());
    f.ch.send_reply(c2->id, 0, test::encoded(std::uint64_t{20}));
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(next), errc::ok));
}

TEST(default_deadline, a_cancellable_call_ends_the_same_way) {
    // A token puts the call on the slow path (it waits cancellably).
    rpc::endpoint_options options;
    options.default_call_timeout_ns = 40 * ms;
    test::hostile_host f(options);
    async::cancellation_source source;
    auto out = f.start(f.enclave().call(source.token(), lookup, 1));
    const std::uint64_t waited = wait_until(f, ms, 200 * ms, [&] { return out->done(); });
    EXPECT_TRUE(test::same_errc(error_of(out), errc::deadline_exceeded));
    EXPECT_GE(waited, 40 * ms);
    EXPECT_LE(waited, 51 * ms);
    ASSERT_TRUE(f.ch.take_call().has_value());
    EXPECT_TRUE(f.ch.take_cancel().has_value());
    source.request_cancellation();  // too late: nothing more happens
    f.settle();
    EXPECT_EQ(f.enclave().stats().calls_timed_out, 1u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(default_deadline, a_call_waiting_for_a_slot_ends_too) {
    rpc::endpoint_options options;
    options.max_in_flight = 1;
    options.default_call_timeout_ns = 40 * ms;
    test::hostile_host f(options);
    auto first = f.start(f.enclave().call(lookup, 1));
    f.settle();
    f.advance(20 * ms);  // the second call is made later, and waits for the only slot
    f.settle();
    auto second = f.start(f.enclave().call(lookup, 2));
    f.settle();
    ASSERT_FALSE(second->done());
    wait_until(f, ms, 200 * ms, [&] { return first->done(); });
    EXPECT_TRUE(test::same_errc(error_of(first), errc::deadline_exceeded));
    // The freed slot went to the second call, which was sent and waits on.
    const std::uint64_t waited = wait_until(f, ms, 200 * ms, [&] { return second->done(); });
    EXPECT_TRUE(test::same_errc(error_of(second), errc::deadline_exceeded));
    EXPECT_GT(waited, 0u);
    EXPECT_EQ(f.enclave().stats().calls_timed_out, 2u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(default_deadline, a_call_that_never_gets_a_slot_ends_without_being_sent) {
    rpc::endpoint_options options;
    options.max_in_flight = 1;
    options.default_call_timeout_ns = 40 * ms;
    test::hostile_host f(options);
    // The only slot is held by a call with a long deadline of its own.
    auto holder = f.start(f.enclave().call(lookup, 1).with_timeout(10'000 * ms));
    f.settle();
    auto waiting = f.start(f.enclave().call(lookup, 2));
    const std::uint64_t waited = wait_until(f, ms, 200 * ms, [&] { return waiting->done(); });
    EXPECT_TRUE(test::same_errc(error_of(waiting), errc::deadline_exceeded));
    EXPECT_GE(waited, 40 * ms);
    EXPECT_LE(waited, 51 * ms);
    EXPECT_FALSE(holder->done()) << "the default does not cut a call's own deadline short";
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->args, test::encoded(std::uint64_t{1}));
    EXPECT_FALSE(f.ch.take().has_value()) << "the call that never had a slot was sent";
    f.ch.send_reply(c->id, 0, test::encoded(std::uint64_t{10}));
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(holder), errc::ok));
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(default_deadline, a_call_waiting_for_ring_space_leaves_the_queue) {
    // A 4 KiB ring the host does not drain: the filler (with a long deadline
    // of its own) fills most of it, the big call gets only part of its
    // fragments in.
    rpc::endpoint_options options;
    options.default_call_timeout_ns = 40 * ms;
    test::hostile_host f(options, 4096);
    auto filler =
        f.start(f.enclave().call(store, std::string(1800, 'a')).with_timeout(10'000 * ms));
    auto big = f.start(f.enclave().call(store, std::string(6000, 'b')));
    const std::uint64_t waited = wait_until(f, ms, 200 * ms, [&] { return big->done(); });
    EXPECT_TRUE(test::same_errc(error_of(big), errc::deadline_exceeded));
    EXPECT_GE(waited, 40 * ms);
    EXPECT_LE(waited, 51 * ms);
    EXPECT_EQ(f.enclave().stats().calls_sent, 1u) << "the big call was never wholly sent";
    // The host drains: the filler, and nothing of the abandoned message.
    std::vector<test::wire_call> seen;
    for (int round = 0; round < 8; ++round) {
        while (auto m = f.ch.take()) {
            auto c = test::raw_channel::as_call(*m);
            ASSERT_TRUE(c.has_value());
            seen.push_back(*c);
        }
        f.settle();
    }
    ASSERT_EQ(seen.size(), 1u) << "the host must see the filler only";
    f.ch.send_reply(seen[0].id, 0, test::encoded(std::uint64_t{1}));
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(filler), errc::ok));
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

}  // namespace
