// SPDX-License-Identifier: Apache-2.0
// Description: the call_operation that endpoint::call returns sends its call
// when it is awaited (never before), resumes its awaiter with the reply,
// stands for a task where one is needed (when_all, sync_wait, a vector of
// tasks), gives up its call when destroyed unanswered (the slot frees, the
// late reply is dropped) or while it waits for a slot or for ring space (it
// leaves the line), and refuses to start once its endpoint is gone.
#include <coroutine>
#include <cstdint>
#include <memory>
#include <tuple>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "rpc/hostile_host.hh"
#include "rpc/rpc_support.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;

// Answers the oldest call the host has seen with `value`; returns its args.
std::vector<std::byte> answer(test::hostile_host& f, std::uint64_t value) {
    auto c = f.ch.take_call();
    EXPECT_TRUE(c.has_value()) << "no call reached the host";
    if (!c) return {};
    f.ch.send_reply(c->id, 0, test::encoded(value));
    return c->args;
}

TEST(call_operation, awaited_directly_it_sends_and_resumes_with_the_reply) {
    test::hostile_host f;
    expected<std::uint64_t> got = unexpected(errc::broken_promise);
    bool resumed = false;
    f.h.ex.spawn([](rpc::endpoint<rpc::side::enclave>& ep, expected<std::uint64_t>& out,
                    bool& done) -> async::task<void> {
        out = co_await ep.call(lookup, 5);
        done = true;
    }(f.enclave(), got, resumed));
    f.settle();
    EXPECT_FALSE(resumed) << "resumed before any reply";
    EXPECT_EQ(f.enclave().outstanding_calls(), 1u);
    EXPECT_EQ(answer(f, 50), test::encoded(std::uint64_t{5}));
    f.settle();
    ASSERT_TRUE(resumed);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(*got, 50u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(call_operation, nothing_is_sent_before_it_is_awaited) {
    test::hostile_host f;
    {
        auto op = f.enclave().call(lookup, 1);
        f.settle();
        EXPECT_FALSE(f.ch.take().has_value()) << "a call went out before it was awaited";
    }  // destroyed unawaited
    f.settle();
    EXPECT_FALSE(f.ch.take().has_value());
    EXPECT_EQ(f.enclave().stats().calls_sent, 0u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(call_operation, destroyed_unanswered_it_frees_its_slot_and_the_late_reply_is_dropped) {
    rpc::endpoint_options options;
    options.max_in_flight = 1;
    test::hostile_host f(options);
    {
        auto op = f.enclave().call(lookup, 1);
        ASSERT_FALSE(op.await_ready()) << "a call cannot be answered before it is sent";
        EXPECT_TRUE(op.await_suspend(std::noop_coroutine()));
        f.settle();  // publishes it
        EXPECT_EQ(f.enclave().outstanding_calls(), 1u);
    }  // the awaiting coroutine is gone: so is the call
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
    auto sent = f.ch.take_call();
    ASSERT_TRUE(sent.has_value()) << "no call reached the host";
    f.ch.send_reply(sent->id, 0, test::encoded(std::uint64_t{10}));  // the host answers anyway
    f.settle();
    EXPECT_EQ(f.ch.take_cancel(), std::optional<std::uint64_t>(sent->id)) << "the host is told";
    EXPECT_EQ(f.enclave().stats().replies_dropped, 1u);
    EXPECT_EQ(f.enclave().fault(), errc::ok);
    // The only slot is free again.
    auto next = f.start(f.enclave().call(lookup, 2));
    f.settle();
    EXPECT_EQ(answer(f, 20), test::encoded(std::uint64_t{2}));
    f.settle();
    ASSERT_TRUE(next->done());
    ASSERT_TRUE(next->value->has_value());
    EXPECT_EQ(**next->value, 20u);
}

TEST(call_operation, destroyed_while_waiting_for_a_slot_it_leaves_the_line) {
    rpc::endpoint_options options;
    options.max_in_flight = 1;
    test::hostile_host f(options);
    auto first = f.start(f.enclave().call(lookup, 1));
    f.settle();
    {
        auto waiting = f.enclave().call(lookup, 2);
        ASSERT_FALSE(waiting.await_ready());
        EXPECT_TRUE(waiting.await_suspend(std::noop_coroutine())) << "the only slot is taken";
        f.settle();
    }  // gone while in line: the line must not keep it (ASan sees a dangling one)
    auto third = f.start(f.enclave().call(lookup, 3));
    f.settle();
    EXPECT_EQ(answer(f, 10), test::encoded(std::uint64_t{1}));
    f.settle();  // the freed slot goes to the third call, not to the destroyed second
    EXPECT_EQ(answer(f, 30), test::encoded(std::uint64_t{3}));
    f.settle();
    EXPECT_FALSE(f.ch.take().has_value()) << "the destroyed call was sent";
    ASSERT_TRUE(first->done() && third->done());
    EXPECT_EQ(**first->value, 10u);
    EXPECT_EQ(**third->value, 30u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(call_operation, destroyed_while_waiting_for_ring_space_it_leaves_the_queue) {
    // A 4 KiB ring the host does not drain until later: two large calls fill
    // most of it, a third waits for room and is destroyed there.
    constexpr rpc::host_method<9, std::uint64_t(std::string)> store{"store"};
    test::hostile_host f({}, 4096);
    auto a = f.start(f.enclave().call(store, std::string(1800, 'a')));
    auto b = f.start(f.enclave().call(store, std::string(1800, 'b')));
    f.settle();
    {
        auto waiting = f.enclave().call(store, std::string(1800, 'c'));
        ASSERT_FALSE(waiting.await_ready());
        EXPECT_TRUE(waiting.await_suspend(std::noop_coroutine()));
        f.settle();
        EXPECT_EQ(f.enclave().stats().calls_sent, 2u) << "the third call should wait for room";
    }                                                  // gone while queued for room
    auto next = f.start(f.enclave().call(lookup, 4));  // small: fits what is left
    f.settle();
    std::vector<std::vector<std::byte>> seen;
    for (std::uint64_t k = 1; k <= 3; ++k) {
        auto c = f.ch.take_call();
        ASSERT_TRUE(c.has_value()) << "call " << k << " never reached the host";
        seen.push_back(c->args);
        f.ch.send_reply(c->id, 0, test::encoded(k));
    }
    f.settle();
    EXPECT_FALSE(f.ch.take().has_value()) << "the destroyed call was sent";
    EXPECT_EQ(seen[2], test::encoded(std::uint64_t{4}));
    ASSERT_TRUE(a->done() && b->done() && next->done());
    EXPECT_EQ(**next->value, 3u);
    EXPECT_EQ(f.enclave().fault(), errc::ok);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(call_operation, stands_for_a_task_in_when_all_and_in_a_vector_of_tasks) {
    test::hostile_host f;
    auto both = f.start(async::when_all(f.enclave().call(lookup, 1), f.enclave().call(lookup, 2)));
    std::vector<async::task<expected<std::uint64_t>>> calls;
    calls.push_back(f.enclave().call(lookup, 3));
    calls.push_back(f.enclave().call(lookup, 4));
    auto many = f.start(async::when_all(std::move(calls)));
    f.settle();
    for (std::uint64_t k = 1; k <= 4; ++k)
        EXPECT_EQ(answer(f, k * 10), test::encoded(k)) << "calls go out in the order awaited";
    f.settle();
    ASSERT_TRUE(both->done());
    const auto& [a, b] = *both->value;
    ASSERT_TRUE(a.has_value() && b.has_value());
    EXPECT_EQ(*a, 10u);
    EXPECT_EQ(*b, 20u);
    ASSERT_TRUE(many->done());
    ASSERT_EQ(many->value->size(), 2u);
    EXPECT_EQ(*(*many->value)[0], 30u);
    EXPECT_EQ(*(*many->value)[1], 40u);
}

TEST(call_operation, calls_made_inside_a_coroutine_expression_live_as_long_as_it_needs) {
    // Temporaries of a co_await expression live in the coroutine's frame
    // across the suspension (docs/coroutine-traps.md): run under ASan.
    test::hostile_host f;
    std::uint64_t sum = 0;
    f.h.ex.spawn(
        [](rpc::endpoint<rpc::side::enclave>& ep, std::uint64_t& out) -> async::task<void> {
            auto [a, b] = co_await async::when_all(ep.call(lookup, 1), ep.call(lookup, 2));
            const expected<std::uint64_t> c = co_await ep.call(lookup, 3);
            out = *a + *b + *c;
        }(f.enclave(), sum));
    f.settle();
    answer(f, 10);
    answer(f, 20);
    f.settle();
    answer(f, 30);
    f.settle();
    EXPECT_EQ(sum, 60u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(call_operation, sync_wait_takes_a_call) {
    test::loopback lb;
    lb.host.serve(lookup, [](std::uint64_t k) { return k + 1; });
    auto r = async::sync_wait(lb.h.ex, lb.enclave.call(lookup, 41));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 42u);
}

TEST(call_operation, a_call_whose_endpoint_is_gone_is_refused_with_broken_promise) {
    auto lb = std::make_unique<test::loopback>();
    auto op = lb->enclave.call(lookup, 1);
    lb.reset();  // the endpoint (and its executor) die before the call is awaited
    ASSERT_TRUE(op.await_ready());
    const expected<std::uint64_t> r = op.await_resume();
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::broken_promise);
}

TEST(call_operation, a_call_moved_before_it_is_awaited_is_one_call) {
    test::hostile_host f;
    auto first = f.enclave().call(lookup, 7);
    auto moved = std::move(first);
    auto out = f.start(std::move(moved));
    f.settle();
    EXPECT_EQ(answer(f, 70), test::encoded(std::uint64_t{7}));
    f.settle();
    EXPECT_FALSE(f.ch.take().has_value()) << "the moved-from operation sent a second call";
    ASSERT_TRUE(out->done());
    EXPECT_EQ(**out->value, 70u);
    EXPECT_EQ(f.enclave().stats().calls_sent, 1u);
}

}  // namespace
