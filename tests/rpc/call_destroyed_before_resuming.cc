// SPDX-License-Identifier: Apache-2.0
// Description: a call whose coroutine is destroyed after the endpoint moved
// it on but before it resumed: destroyed after a call slot was handed to
// it, it is never sent and the slot goes to the next call; destroyed after
// it was wholly written into the ring from the send queue, the host, which
// has the call, gets a cancel record for it (and its late reply is dropped).
#include <memory>
#include <vector>

#include "airlock/async/scope.hh"
#include "rpc/call_checks.hh"
#include "rpc/hostile_host.hh"

using namespace airlock;
using namespace airlock::test::hostile_calls;

namespace {

// Spawns a lookup call into `scope`, so that destroying the scope destroys
// the call wherever it waits.
void call_in(async::async_scope& scope, test::hostile_host& f, std::uint64_t x) {
    scope.spawn([](rpc::endpoint<rpc::side::enclave>& ep, std::uint64_t v) -> async::task<void> {
        (void)co_await ep.call(lookup, v);
        ADD_FAILURE() << "the call resumed: it should have been destroyed first";
    }(f.enclave(), x));
}

}  // namespace

TEST(call_destroyed_before_resuming, after_its_slot_was_handed_to_it_it_is_never_sent) {
    test::one_slot_host f;
    ASSERT_TRUE(f.held.has_value());

    auto scope = std::make_unique<async::async_scope>(f.h.ex);
    call_in(*scope, f, 2);
    f.settle();  // waits for the only slot
    EXPECT_EQ(scope->active(), 1u);

    f.ch.send_reply(f.held->id, 0, test::encoded(std::uint64_t{10}));
    f.h.ex.run_once();  // the reply frees the slot and hands it to the second call
    scope.reset();      // before the second call has resumed to send
    f.settle();

    ASSERT_TRUE(f.first->done());
    EXPECT_EQ(**f.first->value, 10u);
    EXPECT_FALSE(f.ch.take().has_value()) << "the destroyed call reached the host";
    EXPECT_EQ(f.enclave().stats().calls_sent, 1u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u) << "the handed slot was not freed";

    auto third = f.start(f.enclave().call(lookup, 3));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value()) << "the slot was not handed on";
    EXPECT_EQ(c->args, test::encoded(std::uint64_t{3}));
}

TEST(call_destroyed_before_resuming, after_it_was_wholly_written_the_host_gets_a_cancel) {
    test::hostile_host f;  // a 4 KiB ring: a few dozen calls fill it
    // Calls until one has to wait for room in the ring (the host reads nothing).
    std::vector<std::shared_ptr<test::outcome<expected<std::uint64_t>>>> fillers;
    for (std::uint64_t i = 0; i < 1000; ++i) {
        const std::uint64_t sent = f.enclave().stats().calls_sent;
        fillers.push_back(f.start(f.enclave().call(lookup, 100 + i)));
        f.settle();
        if (f.enclave().stats().calls_sent == sent) break;
    }
    ASSERT_LT(fillers.size(), 1000u) << "the ring never filled";
    const std::size_t in_ring = fillers.size() - 1;

    auto scope = std::make_unique<async::async_scope>(f.h.ex);
    call_in(*scope, f, 7);
    f.settle();  // queued behind the last filler
    EXPECT_EQ(f.enclave().outstanding_calls(), fillers.size() + 1);

    // The host reads everything: the next poll writes both queued calls.
    std::vector<test::wire_message> first_batch = f.ch.take_all();
    ASSERT_EQ(first_batch.size(), in_ring);
    f.h.ex.run_once();
    scope.reset();  // the call is wholly in the ring, its coroutine not yet resumed
    f.settle();

    std::vector<test::wire_message> rest = f.ch.take_all();
    ASSERT_EQ(rest.size(), 3u) << "expected the last filler, the destroyed call and its cancel";
    auto last_filler = test::raw_channel::as_call(rest[0]);
    auto destroyed = test::raw_channel::as_call(rest[1]);
    ASSERT_TRUE(last_filler.has_value());
    ASSERT_TRUE(destroyed.has_value());
    EXPECT_EQ(destroyed->args, test::encoded(std::uint64_t{7}));
    ASSERT_EQ(rest[2].tag, rpc::cancel_tag) << "the host was not told the caller is gone";
    EXPECT_EQ(test::get_u64(rest[2].bytes, 0), destroyed->id);
    EXPECT_EQ(f.enclave().stats().cancels_sent, 1u);

    // Its late reply is dropped; the other calls are answered as usual.
    f.ch.send_reply(destroyed->id, 0, test::encoded(std::uint64_t{70}));
    f.ch.send_reply(last_filler->id, 0, test::encoded(std::uint64_t{71}));
    f.settle();
    EXPECT_EQ(f.enclave().stats().replies_dropped, 1u);
    ASSERT_TRUE(fillers.back()->done());
    EXPECT_EQ(**fillers.back()->value, 71u);
    EXPECT_EQ(f.enclave().outstanding_calls(), in_ring);
}
