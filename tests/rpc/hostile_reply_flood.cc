// SPDX-License-Identifier: Apache-2.0
// Description: a host that floods the enclave with calls and never reads
// the replies meets back-pressure: the enclave takes only as many calls as
// it may owe replies for, queues no task per reply and allocates nothing
// more however long the flood lasts; once the host drains, every call it
// made is answered, once.
#include <cstring>

#include "rpc/allocation_probe.hh"
#include "rpc/hostile_host.hh"

using namespace airlock;
using namespace airlock::test::hostile_calls;

namespace {

// The host writes as many calls as the enclave's incoming ring takes,
// patching one prepared message (so the host side allocates nothing).
std::uint64_t flood(test::hostile_host& f, std::vector<std::byte>& bytes, std::uint64_t& next_id) {
    std::uint64_t sent = 0;
    for (;;) {
        std::memcpy(bytes.data(), &next_id, sizeof next_id);
        if (f.ch.try_send_raw(rpc::call_tag, bytes) != errc::ok) return sent;
        ++next_id;
        ++sent;
    }
}

}  // namespace

TEST(hostile_reply_flood, a_host_that_never_drains_meets_back_pressure) {
    test::hostile_host f;
    serve_plain(f.enclave());
    std::uint64_t next_id = 0;
    std::vector<std::byte> bytes =
        test::raw_channel::call_bytes(0, add.id, test::encoded(std::uint64_t{2}, std::uint64_t{1}));
    std::uint64_t sent = 0;
    for (int round = 0; round < 20; ++round) {  // warm: every reply buffer is in use now
        sent += flood(f, bytes, next_id);
        f.settle();
    }
    std::size_t allocations = 0;
    {
        const test::allocation_probe probe;
        for (int round = 0; round < 200; ++round) {
            sent += flood(f, bytes, next_id);
            f.settle();
        }
        allocations = probe.count();
    }
    const rpc::endpoint_stats& s = f.enclave().stats();
    const std::uint64_t budget = rpc::endpoint_options{}.max_serving + 16;
    // What fits in the host's 4 KiB ring (24-byte replies, some sharing a
    // header), and the replies the enclave may owe besides.
    EXPECT_LE(s.calls_served, budget + 4096 / 24) << "the enclave took calls it cannot answer";
    EXPECT_LT(s.calls_served, sent) << "the flood never reached the limit";
    EXPECT_EQ(f.h.ex.spawned(), 0u) << "a task per reply";
    EXPECT_EQ(allocations, 0u) << "memory grew with the flood";

    // The host drains: the enclave takes the rest, and answers everything.
    std::uint64_t replies = 0;
    for (int round = 0; round < 10'000 && replies < sent; ++round) {
        for (const auto& m : f.ch.take_all()) {
            EXPECT_EQ(m.tag, rpc::reply_tag);
            ++replies;
        }
        f.settle();
    }
    EXPECT_EQ(replies, sent);
    EXPECT_EQ(f.enclave().fault(), errc::ok);
}
