// SPDX-License-Identifier: Apache-2.0
// Description: a ring fault first seen while the executor idles (by the
// endpoint's has_work, not its poll) is reported like any other: the
// executor polls the endpoint, which fails every waiting call with
// rpc_channel_faulted, instead of parking for ever with the fault recorded
// and nobody told.
#include "rpc/call_checks.hh"
#include "rpc/hostile_host.hh"

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::error_of;

namespace {

// Polled after the endpoint in each round: forges the tail of the enclave's
// incoming ring once, so the endpoint meets it only while the executor idles.
struct forger final : async::source {
    test::raw_channel* ch = nullptr;
    bool armed = false;
    std::size_t poll(std::size_t /*budget*/) noexcept override {
        if (armed) {
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
    f.h.ex.run_until([&] { return out->done(); });  // aborts if it parks for ever
    EXPECT_EQ(error_of(*out->value), errc::rpc_channel_faulted);
    EXPECT_EQ(f.enclave().ring_fault(), errc::fault_tail_beyond_capacity);
    f.h.ex.remove_source(forge);
}
