// SPDX-License-Identifier: Apache-2.0
// Description: a ring fault first seen while the executor idles (by the
// endpoint's has_work, not its poll), in the enclave's incoming ring (a
// forged tail) or its outgoing one (a forged head while calls wait for
// room), is reported like any other: the executor polls the endpoint, which
// fails every waiting call with rpc_channel_faulted at once, without parking
// and without a moment passing on the clock (no timer, such as the default
// deadline's sweep, is what ends the calls), instead of parking for ever
// with the fault recorded and nobody told.
#include "rpc/call_checks.hh"
#include "rpc/hostile_host.hh"

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::error_of;

namespace {

// Polled after the endpoint in each round: forges the tail of the enclave's
// incoming ring (or the head of its outgoing one) once, so the endpoint
// meets it only while the executor idles.
struct forger final : async::source {
    test::raw_channel* ch = nullptr;
    bool armed = false;
    bool outgoing = false;
    std::size_t poll(std::size_t /*budget*/) noexcept override {
        if (armed) {
            if (outgoing)
                ch->forge_enclave_head(std::uint64_t{1} << 40);  // beyond what was sent
            else
                ch->forge_enclave_tail(std::uint64_t{1} << 40);  // far beyond the ring
            armed = false;
        }
        return 0;
    }
    [[nodiscard]] bool has_work() noexcept override { return false; }
};

}  // namespace

TEST(fault_found_while_idle, a_fault_seen_by_has_work_fails_the_waiting_calls) {
    test::hostile_host f;
    forger forge;
    forge.ch = &f.ch;
    f.h.ex.add_source(forge);
    auto out = f.start(f.enclave().call(lookup, 1));  // no deadline: it waits for its reply
    f.settle();
    ASSERT_TRUE(f.ch.take_call().has_value());
    forge.armed = true;
    const std::uint64_t now = f.now();
    const std::uint64_t parks = f.h.hooks.parks;
    f.h.ex.run_until([&] { return out->done(); });  // aborts if it parks for ever
    EXPECT_EQ(error_of(*out->value), errc::rpc_channel_faulted);
    EXPECT_EQ(f.enclave().ring_fault(), errc::fault_tail_beyond_capacity);
    EXPECT_EQ(f.now(), now) << "the fault was reported only when a timer fired";
    EXPECT_EQ(f.h.hooks.parks, parks) << "the executor parked with the fault found";
    f.h.ex.remove_source(forge);
}

TEST(fault_found_while_idle,
     a_fault_of_the_outgoing_ring_seen_by_has_work_fails_the_waiting_calls) {
    test::hostile_host f;  // 4 KiB rings: the host reads nothing, so calls wait for room
    forger forge;
    forge.ch = &f.ch;
    forge.outgoing = true;
    f.h.ex.add_source(forge);
    std::vector<std::shared_ptr<test::outcome<expected<std::uint64_t>>>> calls;
    for (std::uint64_t i = 0; i < 200; ++i)  // no deadline of their own
        calls.push_back(f.start(f.enclave().call(lookup, i)));
    f.settle();
    std::size_t waiting = 0;
    for (auto& c : calls)
        waiting += c->done() ? 0 : 1;
    ASSERT_EQ(waiting, calls.size()) << "every call waits: for its reply or for room";
    forge.armed = true;
    const std::uint64_t now = f.now();
    const std::uint64_t parks = f.h.hooks.parks;
    f.h.ex.run_until([&] {  // aborts if it parks for ever
        for (auto& c : calls)
            if (!c->done()) return false;
        return true;
    });
    for (auto& c : calls)
        EXPECT_EQ(error_of(*c->value), errc::rpc_channel_faulted);
    EXPECT_EQ(f.enclave().fault(), errc::rpc_channel_faulted);
    EXPECT_EQ(f.enclave().ring_fault(), errc::fault_head_beyond_tail);
    EXPECT_EQ(f.now(), now) << "the fault was reported only when a timer fired";
    EXPECT_EQ(f.h.hooks.parks, parks) << "the executor parked with the fault found";
    f.h.ex.remove_source(forge);
}
