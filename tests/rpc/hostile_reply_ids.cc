// SPDX-License-Identifier: Apache-2.0
// Description: replies for ids never issued, answered, stale or malformed are dropped and counted
// (#12).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "rpc/hostile_host.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;

using lookup_outcome = std::shared_ptr<test::outcome<expected<std::uint64_t>>>;

// One generation of a slot, in a table of `capacity` slots.
std::uint64_t generation_step(std::size_t capacity) {
    return std::uint64_t{1} << rpc::call_table::slot_bits_for(capacity);
}

// Starts an enclave call of lookup(key) and returns it with the call id the
// host saw.
std::pair<lookup_outcome, std::uint64_t> start_lookup(test::hostile_host& f, std::uint64_t key) {
    auto out = f.start(f.enclave().call(lookup, key));
    f.settle();
    auto c = f.ch.take_call();
    if (!c) return {out, 0};
    EXPECT_EQ(c->method, lookup.id);
    EXPECT_EQ(c->args, test::encoded(key));
    return {out, c->id};
}

void expect_value(const lookup_outcome& out, std::uint64_t want) {
    ASSERT_TRUE(out->done()) << "the caller did not resume";
    ASSERT_TRUE(out->value->has_value())
        << "expected the value " << want << ", got " << to_string(out->value->error());
    EXPECT_EQ(**out->value, want);
}

TEST(hostile_reply_ids, replies_for_ids_never_issued_are_dropped) {
    rpc::endpoint_options options;
    options.max_in_flight = 8;
    test::hostile_host f(options);
    auto [out, id] = start_lookup(f, 5);
    const std::vector<std::uint64_t> forged = {
        id + 1,                                     // a free slot
        options.max_in_flight,                      // just past the table
        0xffff'ffff,                                // the slot bits of a free slot, any generation
        std::numeric_limits<std::uint64_t>::max(),  // nothing at all
        id + generation_step(options.max_in_flight),  // the right slot, a later generation
        id - generation_step(options.max_in_flight),  // the right slot, the last generation
        id ^ (std::uint64_t{1} << 63),                // a high bit flipped
    };
    for (std::uint64_t bad : forged)
        f.ch.send_reply(bad, 0, test::encoded(std::uint64_t{666}));
    f.settle();
    EXPECT_FALSE(out->done()) << "a forged reply reached the caller";
    EXPECT_EQ(f.enclave().stats().replies_dropped, forged.size());
    EXPECT_EQ(f.enclave().stats().replies_received, 0u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 1u);

    f.ch.send_reply(id, 0, test::encoded(std::uint64_t{55}));
    f.settle();
    expect_value(out, 55);
    EXPECT_EQ(f.enclave().stats().replies_received, 1u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));
}

TEST(hostile_reply_ids, duplicate_reply_is_dropped_even_after_the_slot_is_reused) {
    test::hostile_host f;
    auto [first, id1] = start_lookup(f, 1);
    f.ch.send_reply(id1, 0, test::encoded(std::uint64_t{10}));
    f.ch.send_reply(id1, 0, test::encoded(std::uint64_t{11}));  // answered twice
    f.settle();
    expect_value(first, 10);
    EXPECT_EQ(f.enclave().stats().replies_dropped, 1u);

    // The next call takes the same slot with a new generation.
    auto [second, id2] = start_lookup(f, 2);
    const std::uint64_t slot_mask = generation_step(rpc::endpoint_options{}.max_in_flight) - 1;
    EXPECT_EQ(id2 & slot_mask, id1 & slot_mask) << "expected the slot to be reused";
    EXPECT_NE(id2, id1) << "a reused slot must carry a new generation";
    f.ch.send_reply(id1, 0, test::encoded(std::uint64_t{12}));  // the first call's id again
    f.ch.send_reply(id1, static_cast<std::uint64_t>(errc::rpc_overloaded));
    f.settle();
    EXPECT_FALSE(second->done()) << "a stale id completed the new call";
    EXPECT_EQ(f.enclave().stats().replies_dropped, 3u);

    f.ch.send_reply(id2, 0, test::encoded(std::uint64_t{20}));
    f.settle();
    expect_value(second, 20);
    expect_value(first, 10);
}

TEST(hostile_reply_ids, malformed_replies_and_unknown_tags_are_counted_not_delivered) {
    test::hostile_host f;
    auto [out, id] = start_lookup(f, 3);
    const auto good = test::raw_channel::reply_bytes(id, 0, test::encoded(std::uint64_t{99}));
    // Replies too short to hold [call id][error code].
    for (std::size_t n : {0, 1, 8, 15})
        f.ch.send_raw(rpc::reply_tag, std::span(good).first(n));
    // Calls too short to hold [call id][method id]: no reply, no handler.
    for (std::size_t n : {0, 7, 15})
        f.ch.send_raw(rpc::call_tag, std::span(good).first(n));
    // A well-formed reply for the waiting call under tags that mean nothing.
    for (std::uint16_t tag : std::initializer_list<std::uint16_t>{0, 3, 6, 0x100, 0xffff})
        f.ch.send_raw(tag, good);
    f.settle();
    EXPECT_FALSE(out->done()) << "a malformed message reached the caller";
    EXPECT_EQ(f.enclave().stats().malformed, 12u);
    EXPECT_EQ(f.enclave().stats().replies_dropped, 0u);
    EXPECT_EQ(f.enclave().stats().calls_served, 0u);
    EXPECT_FALSE(f.ch.take().has_value()) << "a malformed call must not be answered";
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));

    f.ch.send_raw(rpc::reply_tag, good);
    f.settle();
    expect_value(out, 99);
}

TEST(hostile_reply_ids, replies_in_any_order_reach_only_their_own_callers) {
    test::hostile_host f;
    constexpr std::uint64_t callers = 24;
    std::vector<lookup_outcome> outs;
    for (std::uint64_t k = 0; k < callers; ++k)
        outs.push_back(f.start(f.enclave().call(lookup, k)));
    f.settle();
    std::vector<std::pair<std::uint64_t, std::uint64_t>> calls;  // (id, key)
    for (std::uint64_t k = 0; k < callers; ++k) {
        auto c = f.ch.take_call();
        ASSERT_TRUE(c.has_value());
        calls.emplace_back(c->id, test::get_u64(c->args, 0));
    }
    // Answer in reverse order, each after a forged reply that reuses its slot
    // with the wrong generation and one for a neighbour's slot already answered.
    std::reverse(calls.begin(), calls.end());
    std::uint64_t answered = 0;
    for (auto [id, key] : calls) {
        f.ch.send_reply(id + generation_step(rpc::endpoint_options{}.max_in_flight), 0,
                        test::encoded(std::uint64_t{7777}));
        f.ch.send_reply(id, 0, test::encoded(key * 100 + 1));
        if (answered++ > 0) f.ch.send_reply(calls[answered - 2].first, 0, test::encoded(key));
        f.settle();
    }
    for (std::uint64_t k = 0; k < callers; ++k)
        expect_value(outs[k], k * 100 + 1);
    EXPECT_EQ(f.enclave().stats().replies_received, callers);
    EXPECT_EQ(f.enclave().stats().replies_dropped, callers + (callers - 1));
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
}

}  // namespace
