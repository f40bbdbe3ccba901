// SPDX-License-Identifier: Apache-2.0
// Description: a host that forges the head index of the enclave's outgoing
// ring while many calls wait for room in it faults the channel, and every
// waiting call resumes exactly once with rpc_channel_faulted (none is
// resumed twice or after its frame died).
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
