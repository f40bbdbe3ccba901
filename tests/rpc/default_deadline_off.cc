// SPDX-License-Identifier: Apache-2.0
// Description: with the default deadline turned off
// (endpoint_options::default_call_timeout_ns = 0), a call without a deadline
// of its own waits for its reply however long the host takes, and the
// endpoint arms no timer for it.
#include <cstdint>

#include "airlock/async/cancellation.hh"
#include "rpc/default_deadline_support.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::ms;

TEST(default_deadline_off, a_call_waits_as_long_as_the_host_takes) {
    rpc::endpoint_options options;
    options.default_call_timeout_ns = 0;
    test::hostile_host f(options);
    auto out = f.start(f.enclave().call(lookup, 1));
    async::cancellation_source source;
    auto cancellable = f.start(f.enclave().call(source.token(), lookup, 2));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    ASSERT_TRUE(f.ch.take_call().has_value());
    EXPECT_EQ(f.h.ex.timers_armed(), 0u) << "no sweep while the default is off";
    // An hour on the injected clock, a minute at a time.
    test::advance_until(f, 60'000 * ms, 3'600'000 * ms, [] { return false; });
    ASSERT_FALSE(out->done()) << "a call ended though the default deadline is off";
    ASSERT_FALSE(cancellable->done());
    f.ch.send_reply(c->id, 0, test::encoded(std::uint64_t{10}));
    f.settle();
    EXPECT_TRUE(test::same_errc(test::outcome_error(out), errc::ok));
    source.request_cancellation();
    f.settle();
    EXPECT_TRUE(test::same_errc(test::outcome_error(cancellable), errc::cancelled));
    EXPECT_EQ(f.enclave().stats().calls_timed_out, 0u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

}  // namespace
