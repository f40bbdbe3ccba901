// SPDX-License-Identifier: Apache-2.0
// Description: a call's own deadline wins over the endpoint's default one:
// a longer one is not cut short (the call waits for its reply, or ends at
// its own deadline), a shorter one ends it first; a call under an enclosing
// async::with_timeout, which the call does not know of, stays bounded by
// the default.
#include <cstdint>

#include "airlock/async/deadline.hh"
#include "rpc/default_deadline_support.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::ms;

rpc::endpoint_options short_default() {
    rpc::endpoint_options options;
    options.default_call_timeout_ns = 40 * ms;
    return options;
}

TEST(default_deadline_own_wins, a_longer_deadline_is_not_cut_short) {
    test::hostile_host f(short_default());
    auto answered = f.start(f.enclave().call(lookup, 1).with_timeout(500 * ms));
    auto unanswered = f.start(f.enclave().call(lookup, 2).with_timeout(300 * ms));
    f.settle();
    auto c1 = f.ch.take_call();
    ASSERT_TRUE(c1.has_value());
    ASSERT_TRUE(f.ch.take_call().has_value());
    // Well past the default: both still wait.
    test::advance_until(f, ms, 200 * ms, [] { return false; });
    ASSERT_FALSE(answered->done()) << "the default deadline cut a call's own longer one short";
    ASSERT_FALSE(unanswered->done());
    f.ch.send_reply(c1->id, 0, test::encoded(std::uint64_t{10}));
    f.settle();
    EXPECT_TRUE(test::same_errc(test::outcome_error(answered), errc::ok));
    const std::uint64_t more =
        test::advance_until(f, ms, 500 * ms, [&] { return unanswered->done(); });
    EXPECT_TRUE(test::same_errc(test::outcome_error(unanswered), errc::deadline_exceeded));
    EXPECT_EQ(more, 100 * ms) << "it ends at its own deadline (300 ms), not before";
    EXPECT_EQ(f.enclave().stats().calls_timed_out, 0u) << "the default ended nothing";
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(default_deadline_own_wins, a_shorter_deadline_ends_the_call_first) {
    test::hostile_host f(short_default());
    const std::uint64_t start = f.now();
    auto out = f.start(f.enclave().call(lookup, 1).with_timeout(5 * ms));
    test::advance_until(f, ms, 200 * ms, [&] { return out->done(); });
    EXPECT_TRUE(test::same_errc(test::outcome_error(out), errc::deadline_exceeded));
    EXPECT_EQ(f.now() - start, 5 * ms);
    EXPECT_EQ(f.enclave().stats().calls_timed_out, 0u);
}

async::task<expected<std::uint64_t>> look_up(rpc::endpoint<rpc::side::enclave>& ep) {
    co_return co_await ep.call(lookup, 3);
}

TEST(default_deadline_own_wins, an_enclosing_timeout_does_not_lift_the_default) {
    test::hostile_host f(short_default());
    auto out = f.start(async::with_timeout(f.h.ex, 500 * ms, look_up(f.enclave())));
    const std::uint64_t waited = test::advance_until(f, ms, 600 * ms, [&] { return out->done(); });
    EXPECT_TRUE(test::same_errc(test::outcome_error(out), errc::deadline_exceeded));
    EXPECT_LE(waited, 51 * ms) << "the call itself has no deadline: the default bounds it";
    EXPECT_EQ(f.enclave().stats().calls_timed_out, 1u);
}

}  // namespace
