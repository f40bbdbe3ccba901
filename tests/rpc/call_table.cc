// SPDX-License-Identifier: Apache-2.0
// Description: replies reach only the call that is outstanding under their
// id; unknown, duplicate, stale and abandoned ids are dropped and counted
// (HOSTILE-INPUTS #12, #15).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "airlock/rpc/call_table.hh"

namespace {

using airlock::errc;
using airlock::rpc::call_table;

struct recording_waiter final : airlock::rpc::call_waiter {
    int completions = 0;
    errc last_error = errc::ok;
    std::string last_result;
    void complete(errc error, std::span<const std::byte> result) noexcept override {
        ++completions;
        last_error = error;
        last_result.assign(reinterpret_cast<const char*>(result.data()), result.size());
    }
};

std::span<const std::byte> bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST(call_table, reply_reaches_its_waiter_once) {
    call_table t(4);
    recording_waiter w;
    const std::uint64_t id = t.open(w).value();
    EXPECT_EQ(t.outstanding(), 1u);
    EXPECT_TRUE(t.complete(id, errc::ok, bytes("42")));
    EXPECT_EQ(w.completions, 1);
    EXPECT_EQ(w.last_result, "42");
    EXPECT_FALSE(t.complete(id, errc::ok, bytes("again"))) << "a duplicate reply is dropped";
    EXPECT_EQ(w.completions, 1);
    EXPECT_EQ(t.dropped_replies(), 1u);
    EXPECT_EQ(t.outstanding(), 0u);
}

TEST(call_table, unknown_and_out_of_range_ids_are_dropped) {
    call_table t(4);
    recording_waiter w;
    const std::uint64_t id = t.open(w).value();
    EXPECT_FALSE(t.complete(id ^ (1ull << 32), errc::ok, {})) << "wrong generation";
    EXPECT_FALSE(t.complete(3, errc::ok, {})) << "free slot";
    EXPECT_FALSE(t.complete(4, errc::ok, {})) << "slot index == capacity";
    EXPECT_FALSE(t.complete(UINT64_MAX, errc::ok, {})) << "slot index far out of range";
    EXPECT_EQ(w.completions, 0);
    EXPECT_EQ(t.dropped_replies(), 4u);
    EXPECT_TRUE(t.complete(id, errc::ok, {}));
}

TEST(call_table, late_reply_after_abandon_is_dropped_even_when_the_slot_is_reused) {
    call_table t(1);
    recording_waiter gave_up;
    recording_waiter next;
    const std::uint64_t old_id = t.open(gave_up).value();
    t.abandon(old_id);  // deadline passed
    const std::uint64_t new_id = t.open(next).value();
    EXPECT_NE(old_id, new_id) << "same slot, new generation";
    EXPECT_FALSE(t.complete(old_id, errc::ok, bytes("late")));
    EXPECT_EQ(gave_up.completions, 0);
    EXPECT_EQ(next.completions, 0) << "the late reply must not reach the slot's new owner";
    EXPECT_TRUE(t.complete(new_id, errc::ok, bytes("fresh")));
    EXPECT_EQ(next.last_result, "fresh");
}

TEST(call_table, full_table_is_back_pressure) {
    call_table t(2);
    recording_waiter a, b, c;
    ASSERT_TRUE(t.open(a));
    const std::uint64_t id_b = t.open(b).value();
    auto full = t.open(c);
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error(), errc::ring_full);
    t.complete(id_b, errc::ok, {});
    EXPECT_TRUE(t.open(c)) << "a freed slot is reused";
}

TEST(call_table, fail_all_completes_every_waiter_with_the_error) {
    call_table t(8);
    std::vector<recording_waiter> ws(5);
    for (auto& w : ws)
        ASSERT_TRUE(t.open(w));
    t.fail_all(errc::rpc_channel_faulted);
    for (auto& w : ws) {
        EXPECT_EQ(w.completions, 1);
        EXPECT_EQ(w.last_error, errc::rpc_channel_faulted);
    }
    EXPECT_EQ(t.outstanding(), 0u);
}

TEST(call_table, waiter_may_open_a_new_call_from_its_completion) {
    call_table t(1);
    struct reopening final : airlock::rpc::call_waiter {
        call_table* table = nullptr;
        bool reopened = false;
        void complete(errc, std::span<const std::byte>) noexcept override {
            reopened = table->open(*this).has_value();
        }
    } w;
    w.table = &t;
    const std::uint64_t id = t.open(w).value();
    t.complete(id, errc::ok, {});
    EXPECT_TRUE(w.reopened) << "the slot is free before the waiter runs";
}

}  // namespace
