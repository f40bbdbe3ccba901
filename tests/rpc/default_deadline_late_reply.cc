// SPDX-License-Identifier: Apache-2.0
// Description: a reply that comes after a call's default deadline ended it
// is dropped and counted (replies_dropped), never delivered to the caller
// or to the call that reuses its slot, and the channel stays healthy
// (HOSTILE-INPUTS #12, #15).
#include <cstdint>

#include "rpc/default_deadline_support.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::ms;

TEST(default_deadline_late_reply, is_dropped_and_counted) {
    rpc::endpoint_options options;
    options.max_in_flight = 1;  // the next call reuses the slot
    options.default_call_timeout_ns = 40 * ms;
    test::hostile_host f(options);
    auto out = f.start(f.enclave().call(lookup, 1));
    test::advance_until(f, ms, 200 * ms, [&] { return out->done(); });
    ASSERT_TRUE(test::same_errc(test::outcome_error(out), errc::deadline_exceeded));
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    ASSERT_TRUE(f.ch.take_cancel().has_value());

    auto next = f.start(f.enclave().call(lookup, 2));
    f.settle();
    auto c2 = f.ch.take_call();
    ASSERT_TRUE(c2.has_value());
    ASSERT_NE(c2->id, c->id) << "a reused slot has a new generation";
    f.ch.send_reply(c->id, 0, test::encoded(std::uint64_t{10}));  // late
    f.settle();
    EXPECT_EQ(f.enclave().stats().replies_dropped, 1u);
    ASSERT_FALSE(next->done()) << "the late reply reached the call in the reused slot";
    f.ch.send_reply(c2->id, 0, test::encoded(std::uint64_t{20}));
    f.settle();
    ASSERT_TRUE(test::same_errc(test::outcome_error(next), errc::ok));
    EXPECT_EQ(**next->value, 20u);
    EXPECT_EQ(f.enclave().stats().replies_received, 1u);
    EXPECT_EQ(f.enclave().stats().calls_timed_out, 1u);
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

}  // namespace
