// SPDX-License-Identifier: Apache-2.0
// Description: a host that forges the head index of the enclave's outgoing
// ring while many calls wait for room in it faults the channel, and every
// waiting call resumes exactly once with rpc_channel_faulted (none is
// resumed twice or after its frame died); another channel on the same
// executor goes on calling and serving.
#include "rpc/call_checks.hh"
#include "rpc/hostile_host.hh"

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::error_of;

TEST(hostile_forged_head, calls_waiting_for_room_all_fail_once) {
    test::hostile_host f;  // 4 KiB rings: about 128 calls fit, the rest queue
    std::vector<std::shared_ptr<test::outcome<expected<std::uint64_t>>>> calls;
    for (std::uint64_t i = 0; i < 200; ++i)
        calls.push_back(f.start(f.enclave().call(lookup, i)));
    f.settle();  // the host reads nothing: many wait for ring space
    ASSERT_GT(f.enclave().outstanding_calls(), 0u);

    f.ch.forge_enclave_head(4);  // misaligned, and behind what the host had read
    f.settle();

    std::size_t failed = 0;
    for (auto& c : calls) {
        ASSERT_TRUE(c->done()) << "a call was left waiting";
        if (error_of(*c->value) == errc::rpc_channel_faulted) ++failed;
    }
    EXPECT_EQ(failed, calls.size());
    EXPECT_EQ(f.enclave().fault(), errc::rpc_channel_faulted);
    EXPECT_NE(f.enclave().ring_fault(), errc::ok);
    EXPECT_EQ(f.h.ex.spawned(), 0u) << "every call's coroutine finished once";
}

TEST(hostile_forged_head, another_channel_goes_on) {
    test::hostile_host f;
    test::raw_channel other(f.h);
    serve_plain(other.enclave);
    std::vector<std::shared_ptr<test::outcome<expected<std::uint64_t>>>> calls;
    for (std::uint64_t i = 0; i < 200; ++i)
        calls.push_back(f.start(f.enclave().call(lookup, i)));
    auto before = f.start(other.enclave.call(lookup, 1));  // waits for its reply on B
    f.settle();
    auto call_b = other.take_call();
    ASSERT_TRUE(call_b.has_value());

    f.ch.forge_enclave_head(4);
    f.settle();
    for (auto& c : calls) {
        ASSERT_TRUE(c->done()) << "a call of the faulted channel was left waiting";
        EXPECT_EQ(error_of(*c->value), errc::rpc_channel_faulted);
    }
    EXPECT_EQ(f.enclave().fault(), errc::rpc_channel_faulted);
    EXPECT_EQ(other.enclave.fault(), errc::ok) << "the fault spread to another channel";
    EXPECT_FALSE(before->done()) << "the other channel's call ended with the fault";

    // Channel B: its waiting call is answered, a new call made and
    // answered, and a host call served.
    other.send_reply(call_b->id, 0, test::encoded(std::uint64_t{11}));
    auto after = f.start(other.enclave.call(lookup, 2));
    other.send_call(7, add, 40, 2);
    f.settle();
    std::optional<test::wire_call> call_after;
    std::optional<test::wire_reply> served;
    for (const auto& m : other.take_all()) {
        if (m.tag == rpc::call_tag)
            call_after = test::raw_channel::as_call(m);
        else
            served = test::raw_channel::as_reply(m);
    }
    ASSERT_TRUE(call_after.has_value());
    ASSERT_TRUE(served.has_value());
    EXPECT_EQ(served->id, 7u);
    EXPECT_EQ(served->code, 0u);
    EXPECT_EQ(test::get_u64(served->result, 0), 42u);
    other.send_reply(call_after->id, 0, test::encoded(std::uint64_t{12}));
    f.settle();
    ASSERT_TRUE(before->done());
    EXPECT_EQ(error_of(*before->value), errc::ok);
    EXPECT_EQ(**before->value, 11u);
    ASSERT_TRUE(after->done());
    EXPECT_EQ(error_of(*after->value), errc::ok);
    EXPECT_EQ(**after->value, 12u);
    EXPECT_EQ(other.enclave.fault(), errc::ok);
}
