// SPDX-License-Identifier: Apache-2.0
// Description: calls on the fast path that one token can cancel share the
// endpoint's one registration with it (rpc/token_watch.hh): cancelling the
// token ends every one of them with errc::cancelled and tells the host of
// each; a call under another token meanwhile registers by itself and is
// cancelled alone; an answered call leaves the watch; a call made under a
// token cancelled earlier is cancelled too; an endpoint that ends with
// watched calls fails them, and they go away without touching it.
#include <cstdint>
#include <memory>
#include <set>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/scope.hh"
#include "rpc/hostile_host.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;

using call_outcome = std::shared_ptr<test::outcome<expected<std::uint64_t>>>;

errc error_of(const call_outcome& out) {
    if (!out->done()) return errc::broken_promise;  // "did not resume"
    return out->value->has_value() ? errc::ok : out->value->error();
}

// The ids of the calls the host has, in order.
std::vector<std::uint64_t> take_calls(test::hostile_host& f, std::size_t n) {
    std::vector<std::uint64_t> ids;
    for (std::size_t i = 0; i < n; ++i) {
        auto c = f.ch.take_call();
        EXPECT_TRUE(c.has_value()) << "call " << i << " did not reach the host";
        if (c) ids.push_back(c->id);
    }
    return ids;
}

// The ids of the next `n` cancels the enclave sent, as a set (they go out
// in no particular order).
std::set<std::uint64_t> take_cancels(test::hostile_host& f, std::size_t n) {
    std::set<std::uint64_t> ids;
    for (std::size_t i = 0; i < n; ++i) {
        auto id = f.ch.take_cancel();
        EXPECT_TRUE(id.has_value()) << "cancel " << i << " did not reach the host";
        if (id) ids.insert(*id);
    }
    return ids;
}

TEST(calls_sharing_a_token, cancelling_it_cancels_every_call_and_tells_the_host_of_each) {
    test::hostile_host f;
    async::cancellation_source source;
    std::vector<call_outcome> calls;
    for (std::uint64_t k = 0; k < 10; ++k)
        calls.push_back(f.start(f.enclave().call(source.token(), lookup, k)));
    f.settle();
    const std::vector<std::uint64_t> ids = take_calls(f, 10);
    source.request_cancellation();
    f.settle();
    for (std::size_t k = 0; k < calls.size(); ++k)
        EXPECT_TRUE(test::same_errc(error_of(calls[k]), errc::cancelled)) << k;
    const std::set<std::uint64_t> cancelled = take_cancels(f, ids.size());
    EXPECT_EQ(cancelled, std::set<std::uint64_t>(ids.begin(), ids.end()));
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
    // The channel goes on: a late reply is dropped, a new call is answered.
    f.ch.send_reply(ids[0], 0, test::encoded(std::uint64_t{1}));
    auto after = f.start(f.enclave().call(lookup, 99));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    f.ch.send_reply(c->id, 0, test::encoded(std::uint64_t{990}));
    f.settle();
    ASSERT_TRUE(test::same_errc(error_of(after), errc::ok));
    EXPECT_EQ(**after->value, 990u);
    EXPECT_EQ(f.enclave().stats().replies_dropped, 1u);
}

TEST(calls_sharing_a_token, a_call_under_another_token_is_cancelled_alone) {
    test::hostile_host f;
    async::cancellation_source a;
    async::cancellation_source b;
    auto a1 = f.start(f.enclave().call(a.token(), lookup, 1));
    auto b1 = f.start(f.enclave().call(b.token(), lookup, 2));  // the watch is on a's calls
    auto a2 = f.start(f.enclave().call(a.token(), lookup, 3));
    f.settle();
    const std::vector<std::uint64_t> ids = take_calls(f, 3);
    b.request_cancellation();
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(b1), errc::cancelled));
    EXPECT_FALSE(a1->done());
    EXPECT_FALSE(a2->done());
    EXPECT_EQ(f.ch.take_cancel(), ids[1]);
    a.request_cancellation();
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(a1), errc::cancelled));
    EXPECT_TRUE(test::same_errc(error_of(a2), errc::cancelled));
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(calls_sharing_a_token, an_answered_call_leaves_the_watch) {
    test::hostile_host f;
    async::cancellation_source source;
    auto first = f.start(f.enclave().call(source.token(), lookup, 1));
    auto second = f.start(f.enclave().call(source.token(), lookup, 2));
    f.settle();
    const std::vector<std::uint64_t> ids = take_calls(f, 2);
    f.ch.send_reply(ids[0], 0, test::encoded(std::uint64_t{10}));
    f.settle();  // the first call's task ends: its call_operation is gone
    ASSERT_TRUE(test::same_errc(error_of(first), errc::ok));
    source.request_cancellation();
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(second), errc::cancelled));
    EXPECT_EQ(f.ch.take_cancel(), ids[1]);
    EXPECT_FALSE(f.ch.take().has_value()) << "a cancel for the answered call";
}

TEST(calls_sharing_a_token, a_call_made_after_the_token_fired_is_cancelled) {
    test::hostile_host f;
    async::cancellation_source source;
    auto first = f.start(f.enclave().call(source.token(), lookup, 1));
    f.settle();
    (void)take_calls(f, 1);
    source.request_cancellation();
    f.settle();
    ASSERT_TRUE(test::same_errc(error_of(first), errc::cancelled));
    (void)f.ch.take_cancel();
    auto late = f.start(f.enclave().call(source.token(), lookup, 2));
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(late), errc::cancelled));
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(calls_sharing_a_token, calls_watched_when_the_endpoint_ends_are_failed_and_let_go) {
    test::hostile_host f;
    async::cancellation_source source;
    std::vector<call_outcome> calls;
    for (std::uint64_t k = 0; k < 4; ++k)
        calls.push_back(f.start(f.enclave().call(source.token(), lookup, k)));
    f.settle();
    // The endpoint ends as its destructor ends it (it hands its rings over).
    const rpc::endpoint_handover left = f.enclave().hand_over();
    f.settle();  // the calls resume, their frames (and call_operations) go
    for (std::size_t k = 0; k < calls.size(); ++k)
        EXPECT_TRUE(test::same_errc(error_of(calls[k]), errc::broken_promise)) << k;
    // Nothing is registered any more: no callback reaches a call that is gone.
    EXPECT_EQ(source.registrations(), 0u);
    source.request_cancellation();
    f.settle();
}

TEST(calls_sharing_a_token, the_registration_goes_with_the_last_call) {
    test::hostile_host f;
    async::cancellation_source source;
    auto first = f.start(f.enclave().call(source.token(), lookup, 1));
    auto second = f.start(f.enclave().call(source.token(), lookup, 2));
    f.settle();
    EXPECT_EQ(source.registrations(), 1u) << "two calls, one registration";
    const std::vector<std::uint64_t> ids = take_calls(f, 2);
    for (std::uint64_t id : ids)
        f.ch.send_reply(id, 0, test::encoded(std::uint64_t{7}));
    f.settle();
    ASSERT_TRUE(test::same_errc(error_of(first), errc::ok));
    ASSERT_TRUE(test::same_errc(error_of(second), errc::ok));
    EXPECT_EQ(source.registrations(), 0u) << "no call left, no reference to the token";
}

TEST(calls_sharing_a_token, the_watch_moves_to_another_token_once_its_calls_are_answered) {
    test::hostile_host f;
    async::cancellation_source a;
    async::cancellation_source b;
    auto a1 = f.start(f.enclave().call(a.token(), lookup, 1));
    auto b1 = f.start(f.enclave().call(b.token(), lookup, 2));  // registers alone
    f.settle();
    const std::vector<std::uint64_t> ids = take_calls(f, 2);
    f.ch.send_reply(ids[0], 0, test::encoded(std::uint64_t{10}));
    f.settle();
    ASSERT_TRUE(test::same_errc(error_of(a1), errc::ok));
    EXPECT_EQ(a.registrations(), 0u);
    auto b2 = f.start(f.enclave().call(b.token(), lookup, 3));  // the watch is b's now
    f.settle();
    const std::vector<std::uint64_t> more = take_calls(f, 1);
    EXPECT_EQ(b.registrations(), 2u) << "b1's own and the watch's";
    b.request_cancellation();
    f.settle();
    EXPECT_TRUE(test::same_errc(error_of(b1), errc::cancelled));
    EXPECT_TRUE(test::same_errc(error_of(b2), errc::cancelled));
    const std::set<std::uint64_t> cancelled = take_cancels(f, 2);
    EXPECT_EQ(cancelled, (std::set<std::uint64_t>{ids[1], more[0]}));
    EXPECT_FALSE(f.ch.take().has_value()) << "one cancel per call";
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

TEST(calls_sharing_a_token, calls_in_a_scope_end_cancelled_when_it_stops) {
    test::hostile_host f;
    async::async_scope scope(f.h.ex);
    std::vector<call_outcome> calls;
    for (std::uint64_t k = 0; k < 5; ++k) {
        auto out = std::make_shared<test::outcome<expected<std::uint64_t>>>();
        scope.spawn([](rpc::endpoint<rpc::side::enclave>& ep, std::uint64_t x,
                       call_outcome o) -> async::task<void> {
            o->value.emplace(co_await ep.call(lookup, x));  // under the scope's token
        }(f.enclave(), k, out));
        calls.push_back(out);
    }
    f.settle();
    const std::vector<std::uint64_t> ids = take_calls(f, 5);
    scope.request_stop();
    f.settle();
    for (std::size_t k = 0; k < calls.size(); ++k)
        EXPECT_TRUE(test::same_errc(error_of(calls[k]), errc::cancelled)) << k;
    const std::set<std::uint64_t> cancelled = take_cancels(f, ids.size());
    EXPECT_EQ(cancelled, std::set<std::uint64_t>(ids.begin(), ids.end()));
    EXPECT_EQ(scope.active(), 0u);
}

}  // namespace
