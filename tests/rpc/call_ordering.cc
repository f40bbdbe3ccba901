// SPDX-License-Identifier: Apache-2.0
// Description: calls issued in order start their handlers in that order.
//
// Per-channel ordering: calls one coroutine issues in order, without
// awaiting each (tasks started together by when_all), reach their handlers
// in issue order, whatever the kind of handler and however the calls wait
// for a call slot or for room in the ring. Replies go back in completion
// order, so they may overtake each other, and each still reaches its own
// caller.
#include <cstdint>
#include <vector>

#include "airlock/async/when_all.hh"
#include "rpc/call_checks.hh"
#include "rpc/rpc_support.hh"

namespace {

using namespace airlock;
using airlock::rpc::host_method;
using test::error_of;

constexpr host_method<1, std::uint64_t(std::uint64_t)> sync_step{"sync_step"};
constexpr host_method<2, std::uint64_t(std::uint64_t)> coroutine_step{"coroutine_step"};
constexpr host_method<3, std::uint64_t(std::uint64_t, std::uint64_t)> wait_then_square{
    "wait_then_square"};

std::uint64_t square_plus_one(std::uint64_t x) {
    return x * x + 1;
}

// A call that notes the order its result arrived in.
async::task<expected<std::uint64_t>> noted_call(async::task<expected<std::uint64_t>> call,
                                                std::uint64_t x,
                                                std::vector<std::uint64_t>& completions) {
    auto r = co_await std::move(call);
    completions.push_back(x);
    co_return r;
}

// Issues `calls` in order from one coroutine and awaits them all.
async::task<std::vector<expected<std::uint64_t>>> issue_all(
    std::vector<async::task<expected<std::uint64_t>>> calls) {
    co_return co_await async::when_all(std::move(calls));
}

std::vector<std::uint64_t> iota(std::uint64_t n) {
    std::vector<std::uint64_t> v;
    for (std::uint64_t i = 0; i < n; ++i)
        v.push_back(i);
    return v;
}

TEST(call_ordering, replies_overtake_each_other_and_reach_their_own_callers) {
    constexpr std::uint64_t n = 32;
    test::loopback lb;
    std::vector<std::uint64_t> arrivals;
    // Handler x waits (n - x) ticks of the manual clock: the last call
    // issued finishes first.
    lb.host.serve(wait_then_square,
                  [&](std::uint64_t x, std::uint64_t wait) -> async::task<std::uint64_t> {
                      arrivals.push_back(x);
                      (void)co_await lb.h.ex.sleep_for(wait);
                      co_return square_plus_one(x);
                  });
    std::vector<std::uint64_t> completions;
    std::vector<async::task<expected<std::uint64_t>>> calls;
    for (std::uint64_t x = 0; x < n; ++x)
        calls.push_back(
            noted_call(lb.enclave.call(wait_then_square, x, (n - x) * 10), x, completions));
    const auto results = lb.run(issue_all(std::move(calls)));

    EXPECT_EQ(arrivals, iota(n)) << "handlers must start in issue order";
    std::vector<std::uint64_t> reversed = iota(n);
    std::reverse(reversed.begin(), reversed.end());
    EXPECT_EQ(completions, reversed) << "replies come back in completion order";
    ASSERT_EQ(results.size(), n);
    for (std::uint64_t x = 0; x < n; ++x) {
        ASSERT_EQ(error_of(results[x]), errc::ok) << "call " << x;
        EXPECT_EQ(*results[x], square_plus_one(x)) << "call " << x << " got another call's reply";
    }
    EXPECT_EQ(lb.enclave.stats().replies_dropped, 0u);
}

// Calls alternate between a handler that runs at once (a plain function)
// and one that is a coroutine: still one order.
TEST(call_ordering, synchronous_and_coroutine_handlers_start_in_issue_order) {
    constexpr std::uint64_t n = 40;
    test::loopback lb;
    std::vector<std::uint64_t> arrivals;
    lb.host.serve(sync_step, [&](std::uint64_t x) {
        arrivals.push_back(x);
        return square_plus_one(x);
    });
    lb.host.serve(coroutine_step, [&](std::uint64_t x) -> async::task<std::uint64_t> {
        arrivals.push_back(x);
        co_await lb.h.ex.schedule();
        co_return square_plus_one(x);
    });
    std::vector<std::uint64_t> completions;
    std::vector<async::task<expected<std::uint64_t>>> calls;
    for (std::uint64_t x = 0; x < n; ++x) {
        // Runs of each kind: c c s s c s c c c s ...
        const bool coroutine = (x * 7 + x / 3) % 3 != 0;
        calls.push_back(noted_call(
            coroutine ? lb.enclave.call(coroutine_step, x) : lb.enclave.call(sync_step, x), x,
            completions));
    }
    const auto results = lb.run(issue_all(std::move(calls)));

    EXPECT_EQ(arrivals, iota(n)) << "handlers must start in issue order";
    ASSERT_EQ(results.size(), n);
    for (std::uint64_t x = 0; x < n; ++x) {
        ASSERT_EQ(error_of(results[x]), errc::ok) << "call " << x;
        EXPECT_EQ(*results[x], square_plus_one(x)) << "call " << x;
    }
}

struct constrained {
    std::size_t ring_capacity;
    std::size_t max_in_flight;
    std::uint64_t calls;
};

// Few call slots and a small ring: calls wait for a slot, then for room in
// the ring, and keep their order through both waits, with far more of them
// waiting than the executor resumes in one round.
TEST(call_ordering, order_holds_while_calls_wait_for_slots_and_ring_space) {
    for (const constrained c : {constrained{256, 4, 64}, constrained{1024, 8, 300},
                                constrained{1 << 14, 2, 600}, constrained{512, 256, 600}}) {
        SCOPED_TRACE("ring " + std::to_string(c.ring_capacity) + ", max_in_flight " +
                     std::to_string(c.max_in_flight) + ", " + std::to_string(c.calls) + " calls");
        rpc::endpoint_options options;
        options.max_in_flight = c.max_in_flight;
        test::loopback lb(c.ring_capacity, options);
        std::vector<std::uint64_t> arrivals;
        lb.host.serve(sync_step, [&](std::uint64_t x) {
            arrivals.push_back(x);
            return square_plus_one(x);
        });
        lb.host.serve(wait_then_square,
                      [&](std::uint64_t x, std::uint64_t wait) -> async::task<std::uint64_t> {
                          arrivals.push_back(x);
                          (void)co_await lb.h.ex.sleep_for(wait);
                          co_return square_plus_one(x);
                      });
        std::vector<std::uint64_t> completions;
        std::vector<async::task<expected<std::uint64_t>>> calls;
        for (std::uint64_t x = 0; x < c.calls; ++x) {
            calls.push_back(noted_call(x % 2 == 0 ? lb.enclave.call(sync_step, x)
                                                  : lb.enclave.call(wait_then_square, x, x % 5),
                                       x, completions));
        }
        const auto results = lb.run(issue_all(std::move(calls)));

        EXPECT_EQ(arrivals, iota(c.calls)) << "handlers must start in issue order";
        ASSERT_EQ(results.size(), c.calls);
        for (std::uint64_t x = 0; x < c.calls; ++x) {
            ASSERT_EQ(error_of(results[x]), errc::ok) << "call " << x;
            EXPECT_EQ(*results[x], square_plus_one(x)) << "call " << x;
        }
        EXPECT_EQ(completions.size(), c.calls);
        EXPECT_EQ(lb.enclave.outstanding_calls(), 0u);
    }
}

}  // namespace
