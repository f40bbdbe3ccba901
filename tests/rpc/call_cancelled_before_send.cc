// SPDX-License-Identifier: Apache-2.0
// Description: a call cancelled after a call slot was handed to it, but
// before it resumed to send, is not sent: the host never sees it, the caller
// gets errc::cancelled, and the slot goes to the next call.
#include "rpc/call_checks.hh"
#include "rpc/hostile_host.hh"

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::error_of;

TEST(call_cancelled_before_send, a_call_cancelled_after_its_slot_handoff_is_not_sent) {
    test::one_slot_host f;
    ASSERT_TRUE(f.held.has_value());

    async::cancellation_source source;
    auto second = f.start(f.enclave().call(source.token(), lookup, 2));
    f.settle();  // waits for the only slot
    ASSERT_FALSE(second->done());

    f.ch.send_reply(f.held->id, 0, test::encoded(std::uint64_t{10}));
    f.h.ex.run_once();              // the reply frees the slot and hands it to the second call
    source.request_cancellation();  // before the second call has resumed to send
    f.settle();

    ASSERT_TRUE(f.first->done());
    EXPECT_EQ(**f.first->value, 10u);
    ASSERT_TRUE(second->done());
    EXPECT_EQ(error_of(*second->value), errc::cancelled);
    EXPECT_FALSE(f.ch.take().has_value()) << "the cancelled call reached the host";
    EXPECT_EQ(f.enclave().stats().calls_sent, 1u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);

    auto third = f.start(f.enclave().call(lookup, 3));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value()) << "the slot was not handed on";
    EXPECT_EQ(c->args, test::encoded(std::uint64_t{3}));
}
