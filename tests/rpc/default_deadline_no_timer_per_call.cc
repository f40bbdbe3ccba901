// SPDX-License-Identifier: Apache-2.0
// Description: the default deadline costs no timer per call: however many
// calls wait, the endpoint arms one executor timer (its sweep), which stops
// once nothing is left to watch; calls answered in time allocate nothing
// for it.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "rpc/allocation_probe.hh"
#include "rpc/default_deadline_support.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::ms;

TEST(default_deadline_no_timer_per_call, one_sweep_timer_for_many_calls) {
    rpc::endpoint_options options;
    options.default_call_timeout_ns = 40 * ms;
    test::hostile_host f(options, std::size_t{1} << 14);
    std::vector<std::shared_ptr<test::outcome<expected<std::uint64_t>>>> calls;
    for (std::uint64_t i = 0; i < 100; ++i)
        calls.push_back(f.start(f.enclave().call(lookup, i)));
    f.settle();
    EXPECT_EQ(f.enclave().outstanding_calls(), 100u);
    EXPECT_EQ(f.h.ex.timers_armed(), 1u) << "a timer per call";
    test::advance_until(f, ms, 200 * ms, [&] { return f.enclave().outstanding_calls() == 0; });
    for (const auto& c : calls)
        EXPECT_TRUE(test::same_errc(test::outcome_error(c), errc::deadline_exceeded));
    EXPECT_EQ(f.enclave().stats().calls_timed_out, 100u);
    EXPECT_EQ(f.h.ex.timers_armed(), 0u) << "the sweep goes on with nothing to watch";
}

// Answers every call the enclave sent with its argument plus one.
void answer_all(test::hostile_host& f) {
    while (auto m = f.ch.take()) {
        auto c = test::raw_channel::as_call(*m);
        if (!c) return;
        std::uint64_t x = 0;
        std::memcpy(&x, c->args.data(), sizeof x);
        f.ch.send_reply(c->id, 0, test::encoded(x + 1));
    }
}

async::task<std::uint64_t> call_many(rpc::endpoint<rpc::side::enclave>& ep, std::uint64_t n,
                                     bool& done) {
    std::uint64_t ok = 0;
    for (std::uint64_t i = 0; i < n; ++i)
        if (auto r = co_await ep.call(lookup, i); r && *r == i + 1) ++ok;
    done = true;
    co_return ok;
}

// Allocations made while `calls` calls are answered one after another
// (the raw host's own copies included), after a warm-up.
std::size_t allocations_for(rpc::endpoint_options options, std::uint64_t calls) {
    test::hostile_host f(options);
    bool warm = false;
    auto first = f.start(call_many(f.enclave(), 64, warm));
    for (int i = 0; i < 1000 && !warm; ++i) {
        f.settle();
        answer_all(f);
    }
    EXPECT_TRUE(warm);
    bool done = false;
    std::shared_ptr<test::outcome<std::uint64_t>> out;
    std::size_t allocations = 0;
    {
        const test::allocation_probe probe;
        out = f.start(call_many(f.enclave(), calls, done));
        for (int i = 0; i < 10000 && !done; ++i) {
            f.settle();
            answer_all(f);
            f.advance(ms);  // time passes: the sweep runs now and then
        }
        allocations = probe.count();
    }
    EXPECT_TRUE(done);
    f.settle();
    EXPECT_EQ(*out->value, calls);
    EXPECT_LE(f.h.ex.timers_armed(), 1u);
    return allocations;
}

TEST(default_deadline_no_timer_per_call, calls_answered_in_time_allocate_nothing_for_it) {
    rpc::endpoint_options on;
    on.default_call_timeout_ns = 40 * ms;  // a sweep every 10 calls
    rpc::endpoint_options off;
    off.default_call_timeout_ns = 0;
    const std::size_t with_default = allocations_for(on, 1000);
    const std::size_t without = allocations_for(off, 1000);
    EXPECT_EQ(with_default, without) << "the default deadline allocated per call";
}

}  // namespace
