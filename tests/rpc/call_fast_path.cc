// SPDX-License-Identifier: Apache-2.0
// Description: a call that goes straight into the ring allocates no coroutine
// frame of its own, also when a token can cancel it: the awaiting task's
// (inside when_all, which gives its children a token of their own) or the
// one given to call(). A deadline of its own, or two tokens, take the slow
// path, which does.
#include <cstdint>
#include <span>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/when_all.hh"
#include "rpc/rpc_support.hh"

namespace {

using namespace airlock;

constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> twice{"twice"};

std::uint64_t serve_twice(std::uint64_t x) {
    return 2 * x;
}

enum class shape { plain, own_token, own_deadline, both_tokens };

// Makes `calls` calls one after another, each checked, and returns how many
// coroutine frames the executor handed out meanwhile.
async::task<std::uint64_t> calls_in_a_row(test::loopback& channel, int calls, shape s) {
    async::cancellation_source own;
    const std::uint64_t before = channel.h.ex.frame_stats().allocations;
    for (int i = 0; i < calls; ++i) {
        const auto x = static_cast<std::uint64_t>(i);
        expected<std::uint64_t> r = unexpected(errc::broken_promise);
        switch (s) {
            case shape::plain:
                r = co_await channel.enclave.call(twice, x);
                break;
            case shape::own_token:
            case shape::both_tokens:
                r = co_await channel.enclave.call(own.token(), twice, x);
                break;
            case shape::own_deadline:
                r = co_await channel.enclave.call(twice, x).with_timeout(1'000'000'000'000);
                break;
        }
        EXPECT_TRUE(r.has_value() && *r == 2 * x) << i;
    }
    co_return channel.h.ex.frame_stats().allocations - before;
}

// Runs calls_in_a_row as the only child of when_all: its token (the one
// when_all gives its children) can be cancelled.
std::uint64_t frames_inside_when_all(shape s) {
    test::loopback channel;
    channel.host.serve(twice, serve_twice);
    auto [frames] = channel.run(async::when_all(calls_in_a_row(channel, 100, s)));
    return frames;
}

TEST(call_fast_path, a_call_that_cannot_be_cancelled_allocates_no_frame) {
    test::loopback channel;
    channel.host.serve(twice, serve_twice);
    EXPECT_EQ(channel.run(calls_in_a_row(channel, 100, shape::plain)), 0u);
}

TEST(call_fast_path, a_call_under_its_tasks_cancellable_token_allocates_no_frame) {
    EXPECT_EQ(frames_inside_when_all(shape::plain), 0u);
}

TEST(call_fast_path, a_call_with_a_token_of_its_own_allocates_no_frame) {
    test::loopback channel;
    channel.host.serve(twice, serve_twice);
    EXPECT_EQ(channel.run(calls_in_a_row(channel, 100, shape::own_token)), 0u);
}

TEST(call_fast_path, a_deadline_of_its_own_or_two_tokens_take_the_slow_path) {
    EXPECT_GE(frames_inside_when_all(shape::own_deadline), 100u);
    EXPECT_GE(frames_inside_when_all(shape::both_tokens), 100u);
}

}  // namespace
