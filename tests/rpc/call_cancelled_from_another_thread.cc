// SPDX-License-Identifier: Apache-2.0
// Description: a call's token cancelled from another thread while the call
// waits (for its reply, or for a call slot) ends the call with
// errc::cancelled on the endpoint's thread: a call the host has gets a
// cancel record, one still waiting for a slot is never sent, its late reply
// is dropped, and the ring stays consistent for the calls after it (run
// under TSan).
#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "rpc/call_checks.hh"
#include "rpc/hostile_host.hh"

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::error_of;

namespace {

// Runs the executor (never idling: the manual clock cannot be woken from
// another thread) until `done()`.
template <class Done>
void run_until(test::hostile_host& f, Done done) {
    while (!done()) {
        if (f.h.ex.run_once() == 0) std::this_thread::yield();
    }
}

}  // namespace

TEST(call_cancelled_from_another_thread, a_call_waiting_for_its_reply_ends_cancelled) {
    test::hostile_host f;
    async::cancellation_source source;
    auto waiting = f.start(f.enclave().call(source.token(), lookup, 1));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    ASSERT_FALSE(waiting->done());

    std::thread canceller([&] { source.request_cancellation(); });
    run_until(f, [&] { return waiting->done(); });
    canceller.join();
    f.settle();

    EXPECT_EQ(error_of(*waiting->value), errc::cancelled);
    auto cancel = f.ch.take_cancel();
    ASSERT_TRUE(cancel.has_value());
    EXPECT_EQ(*cancel, c->id);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);

    // The late reply is dropped; the next call goes through as usual.
    f.ch.send_reply(c->id, 0, test::encoded(std::uint64_t{10}));
    auto next = f.start(f.enclave().call(lookup, 2));
    f.settle();
    EXPECT_EQ(f.enclave().stats().replies_dropped, 1u);
    auto d = f.ch.take_call();
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->args, test::encoded(std::uint64_t{2}));
    f.ch.send_reply(d->id, 0, test::encoded(std::uint64_t{20}));
    f.settle();
    ASSERT_TRUE(next->done());
    EXPECT_EQ(**next->value, 20u);
    EXPECT_EQ(f.enclave().fault(), errc::ok);
}

TEST(call_cancelled_from_another_thread, a_call_waiting_for_a_slot_is_never_sent) {
    test::one_slot_host f;
    ASSERT_TRUE(f.held.has_value());

    async::cancellation_source source;
    auto second = f.start(f.enclave().call(source.token(), lookup, 2));
    f.settle();  // waits for the only slot
    ASSERT_FALSE(second->done());

    std::thread canceller([&] { source.request_cancellation(); });
    run_until(f, [&] { return second->done(); });
    canceller.join();
    f.settle();

    EXPECT_EQ(error_of(*second->value), errc::cancelled);
    EXPECT_FALSE(f.ch.take().has_value()) << "the cancelled call reached the host";
    f.ch.send_reply(f.held->id, 0, test::encoded(std::uint64_t{10}));
    auto third = f.start(f.enclave().call(lookup, 3));
    f.settle();
    ASSERT_TRUE(f.first->done());
    EXPECT_EQ(**f.first->value, 10u);
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value()) << "the slot was not handed on";
    EXPECT_EQ(c->args, test::encoded(std::uint64_t{3}));
    EXPECT_EQ(f.enclave().stats().calls_sent, 2u);
    EXPECT_EQ(f.enclave().fault(), errc::ok);
}

TEST(call_cancelled_from_another_thread, calls_sharing_the_token_all_end_cancelled) {
    test::hostile_host f;
    async::cancellation_source source;
    std::vector<std::shared_ptr<test::outcome<expected<std::uint64_t>>>> calls;
    for (std::uint64_t k = 0; k < 8; ++k)
        calls.push_back(f.start(f.enclave().call(source.token(), lookup, k)));
    f.settle();
    std::set<std::uint64_t> ids;
    for (int k = 0; k < 8; ++k) {
        auto c = f.ch.take_call();
        ASSERT_TRUE(c.has_value()) << k;
        ids.insert(c->id);
    }
    std::thread canceller([&] { source.request_cancellation(); });
    run_until(f, [&] {
        for (const auto& c : calls)
            if (!c->done()) return false;
        return true;
    });
    canceller.join();
    f.settle();
    std::set<std::uint64_t> cancelled;
    for (std::size_t k = 0; k < calls.size(); ++k) {
        EXPECT_EQ(error_of(*calls[k]->value), errc::cancelled) << k;
        auto id = f.ch.take_cancel();
        ASSERT_TRUE(id.has_value()) << k;
        cancelled.insert(*id);
    }
    EXPECT_EQ(cancelled, ids);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}
