// SPDX-License-Identifier: Apache-2.0
// Description: a cancelled call ends with errc::cancelled wherever it waits
// (before it starts, for a call slot, for ring space, for its reply), sends
// nothing it had not sent, and leaves the channel working; a host that never
// answers costs the caller its deadline, on the injected clock, never a hang
// (HOSTILE-INPUTS #14, #15, #16).
#include <cstdint>
#include <string>

#include "airlock/async/cancellation.hh"
#include "airlock/async/deadline.hh"
#include "rpc/hostile_host.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;

// A host method with a payload, to fill the enclave's outgoing ring.
constexpr rpc::host_method<9, std::uint64_t(std::string)> store{"store"};

template <class T>
errc error_of(const std::shared_ptr<test::outcome<expected<T>>>& out) {
    if (!out->done()) return errc::broken_promise;  // "did not resume"
    return out->value->has_value() ? errc::ok : out->value->error();
}

TEST(call_cancellation, cancelled_before_it_starts_sends_nothing) {
    test::hostile_host f;
    async::cancellation_source source;
    source.request_cancellation();
    auto out = f.start(f.enclave().call(source.token(), lookup, 1));
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(out), errc::cancelled));
    EXPECT_FALSE(f.ch.take().has_value()) << "a call cancelled before it began was sent";
    EXPECT_EQ(f.enclave().stats().calls_sent, 0u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(call_cancellation, cancelled_while_waiting_for_a_call_slot) {
    rpc::endpoint_options options;
    options.max_in_flight = 1;
    test::hostile_host f(options);
    auto first = f.start(f.enclave().call(lookup, 1));
    async::cancellation_source source;
    auto waiting = f.start(f.enclave().call(source.token(), lookup, 2));
    f.settle();
    ASSERT_FALSE(waiting->done()) << "the second call should wait for the only slot";
    source.request_cancellation();
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(waiting), errc::cancelled));
    // The host saw the first call only; answering it frees the slot for a third.
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->args, test::encoded(std::uint64_t{1}));
    EXPECT_FALSE(f.ch.take().has_value());
    f.ch.send_reply(c->id, 0, test::encoded(std::uint64_t{10}));
    f.settle();
    ASSERT_TRUE(test::same_errc(error_of(first), errc::ok));
    auto third = f.start(f.enclave().call(lookup, 3));
    f.settle();
    auto c3 = f.ch.take_call();
    ASSERT_TRUE(c3.has_value());
    EXPECT_EQ(c3->args, test::encoded(std::uint64_t{3}));
    f.ch.send_reply(c3->id, 0, test::encoded(std::uint64_t{30}));
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(third), errc::ok));
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(call_cancellation, cancelled_while_waiting_for_ring_space_leaves_the_queue) {
    // A 4 KiB ring the host does not drain: the first call fills most of it,
    // the second is larger than a record and gets only part of its fragments
    // in, a third small one queues behind it.
    test::hostile_host f({}, 4096);
    auto filler = f.start(f.enclave().call(store, std::string(1800, 'a')));
    async::cancellation_source source;
    auto big = f.start(f.enclave().call(source.token(), store, std::string(6000, 'b')));
    auto small = f.start(f.enclave().call(lookup, 7));
    f.settle();
    ASSERT_FALSE(big->done());
    ASSERT_FALSE(small->done());
    source.request_cancellation();
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(big), errc::cancelled));
    ASSERT_FALSE(small->done()) << "the ring is still full";

    // The host drains: the filler, then nothing of the abandoned message
    // (its fragments end in an abort record the consumer discards), then,
    // as room appears, the small call.
    std::vector<test::wire_call> seen;
    for (int round = 0; round < 8; ++round) {
        while (auto m = f.ch.take()) {
            auto c = test::raw_channel::as_call(*m);
            ASSERT_TRUE(c.has_value());
            seen.push_back(*c);
        }
        f.settle();
    }
    ASSERT_EQ(seen.size(), 2u) << "the host must see the filler and the small call only";
    EXPECT_EQ(seen[0].method, store.id);
    EXPECT_EQ(seen[1].method, lookup.id);
    EXPECT_EQ(seen[1].args, test::encoded(std::uint64_t{7}));
    f.ch.send_reply(seen[0].id, 0, test::encoded(std::uint64_t{1}));
    f.ch.send_reply(seen[1].id, 0, test::encoded(std::uint64_t{70}));
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(filler), errc::ok));
    EXPECT_TRUE(test::same_errc(error_of(small), errc::ok));
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(call_cancellation, a_reply_after_cancellation_is_dropped) {
    test::hostile_host f;
    async::cancellation_source source;
    auto out = f.start(f.enclave().call(source.token(), lookup, 4));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    source.request_cancellation();
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(out), errc::cancelled));
    f.ch.send_reply(c->id, 0, test::encoded(std::uint64_t{40}));  // late
    f.settle();
    EXPECT_EQ(f.enclave().stats().replies_dropped, 1u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));
}

TEST(call_cancellation, a_host_that_never_answers_costs_the_deadline) {
    test::hostile_host f;
    const std::uint64_t start = f.now();
    auto out = f.start(f.enclave().call(lookup, 9).with_timeout(5'000'000));
    f.settle();
    ASSERT_TRUE(f.ch.take_call().has_value()) << "the call was not sent";
    ASSERT_FALSE(out->done());
    f.advance(4'999'999);  // just before the deadline: still waiting
    f.settle();
    ASSERT_FALSE(out->done());
    f.advance(1);
    f.settle();
    ASSERT_TRUE(out->done()) << "the deadline passed and the caller is still waiting";
    EXPECT_TRUE(test::same_errc(error_of(out), errc::deadline_exceeded));
    EXPECT_EQ(f.now() - start, 5'000'000u) << "only the injected clock moved";
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

}  // namespace
