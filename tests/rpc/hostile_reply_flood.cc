// SPDX-License-Identifier: Apache-2.0
// Description: a host that floods the enclave with calls and never reads
// the replies meets back-pressure: the enclave takes only as many calls as
// it may owe replies for, queues no task per reply and allocates nothing
// more however long the flood lasts; once the host drains, every call it
// made is answered, once. The same holds when every call is for a method the
// enclave does not serve (each answer an error reply, counted against the
// same budget) and when the handlers are coroutines that suspend: while they
// are in flight and after they all answer at once, the replies owed stay
// within the budget, the calls beyond max_serving are answered
// rpc_overloaded within it too, and nothing more is taken.
#include <algorithm>
#include <cstring>

#include "airlock/async/event.hh"

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

// Floods for 20 rounds (warm: every reply buffer is in use by then), then
// for 200 more with an allocation probe armed; returns the calls sent and
// puts what those 200 rounds allocated in `allocations`.
std::uint64_t flood_warm_then_probed(test::hostile_host& f, std::vector<std::byte>& bytes,
                                     std::size_t& allocations) {
    std::uint64_t next_id = 0;
    std::uint64_t sent = 0;
    for (int round = 0; round < 20; ++round) {
        sent += flood(f, bytes, next_id);
        f.settle();
    }
    const test::allocation_probe probe;
    for (int round = 0; round < 200; ++round) {
        sent += flood(f, bytes, next_id);
        f.settle();
    }
    allocations = probe.count();
    return sent;
}

}  // namespace

TEST(hostile_reply_flood, a_host_that_never_drains_meets_back_pressure) {
    test::hostile_host f;
    serve_plain(f.enclave());
    std::vector<std::byte> bytes =
        test::raw_channel::call_bytes(0, add.id, test::encoded(std::uint64_t{2}, std::uint64_t{1}));
    std::size_t allocations = 0;
    const std::uint64_t sent = flood_warm_then_probed(f, bytes, allocations);
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

TEST(hostile_reply_flood, a_flood_of_calls_for_an_unknown_method_meets_back_pressure_too) {
    test::hostile_host f;
    serve_plain(f.enclave());
    constexpr std::uint64_t unknown = 4;  // a gap in the enclave's table
    std::vector<std::byte> bytes =
        test::raw_channel::call_bytes(0, unknown, test::encoded(std::uint64_t{2}));
    std::size_t allocations = 0;
    const std::uint64_t sent = flood_warm_then_probed(f, bytes, allocations);
    const rpc::endpoint_stats& s = f.enclave().stats();
    const std::uint64_t budget = rpc::endpoint_options{}.max_serving + 16;
    // What fits in the host's 4 KiB ring: error replies are 16 bytes, and
    // equal ones share a record header (a run), so as few as 16 bytes each.
    EXPECT_LE(s.unknown_methods, budget + 4096 / 16) << "the enclave took calls it cannot answer";
    EXPECT_LT(s.unknown_methods, sent) << "the flood never reached the limit";
    EXPECT_EQ(s.calls_served, 0u);
    EXPECT_EQ(f.enclave().serving(), 0u);
    EXPECT_EQ(f.h.ex.spawned(), 0u) << "a task per error reply";
    EXPECT_EQ(allocations, 0u) << "memory grew with the flood";

    // The host drains: every call is answered once, rpc_unknown_method, in order.
    std::uint64_t replies = 0;
    for (int round = 0; round < 10'000 && replies < sent; ++round) {
        for (const auto& m : f.ch.take_all()) {
            auto r = test::raw_channel::as_reply(m);
            ASSERT_TRUE(r.has_value());
            EXPECT_EQ(r->id, replies) << "answered out of order, or twice";
            EXPECT_TRUE(test::same_errc(static_cast<errc>(r->code), errc::rpc_unknown_method));
            ++replies;
        }
        f.settle();
    }
    EXPECT_EQ(replies, sent);
    EXPECT_EQ(s.unknown_methods, sent);
    EXPECT_EQ(f.enclave().fault(), errc::ok);
}

TEST(hostile_reply_flood, suspended_coroutine_handlers_keep_the_replies_bounded) {
    rpc::endpoint_options options;
    options.max_serving = 8;
    test::hostile_host f(options);
    async::async_event gate;
    std::uint64_t started = 0;
    f.enclave().serve(hold, [&](std::uint64_t x) -> async::task<std::uint64_t> {
        ++started;
        (void)co_await gate.wait();
        co_return x + 1;
    });
    std::uint64_t next_id = 0;
    std::vector<std::byte> bytes =
        test::raw_channel::call_bytes(0, hold.id, test::encoded(std::uint64_t{2}));
    const std::uint64_t budget = options.max_serving + 16;  // the replies it may owe
    const std::uint64_t host_ring_fits = 4096 / 16;         // 16-byte error replies, in runs
    std::uint64_t sent = 0;
    // While the handlers wait: max_serving run, the calls beyond are
    // answered rpc_overloaded until the host's ring is full and the budget
    // is owed, and then nothing more is taken.
    for (int round = 0; round < 50; ++round) {
        sent += flood(f, bytes, next_id);
        f.settle();
        EXPECT_LE(f.enclave().serving(), options.max_serving);
    }
    const rpc::endpoint_stats& s = f.enclave().stats();
    EXPECT_EQ(started, options.max_serving);
    EXPECT_EQ(f.enclave().serving(), options.max_serving);
    EXPECT_LE(s.overloaded, budget + host_ring_fits);
    EXPECT_LT(s.overloaded + started, sent) << "the flood never reached the limit";
    const std::uint64_t taken_while_waiting = s.overloaded + started;

    // Every handler answers at once, into a ring the host does not drain:
    // their replies queue within the budget, and still nothing more is taken.
    gate.set();
    for (int round = 0; round < 50; ++round) {
        sent += flood(f, bytes, next_id);
        f.settle();
        EXPECT_LE(f.enclave().serving(), options.max_serving);
    }
    EXPECT_EQ(s.calls_served, started) << "a handler that finished was not counted";
    EXPECT_EQ(s.overloaded + started, taken_while_waiting)
        << "calls were taken while their replies could not leave";
    EXPECT_LE(f.h.ex.spawned(), options.max_serving) << "a task per reply";

    // The host drains: every call is answered exactly once, each with its
    // handler's value or rpc_overloaded.
    std::vector<int> answers(sent, 0);
    std::uint64_t values = 0;
    std::uint64_t refused = 0;
    std::uint64_t replies = 0;
    for (int round = 0; round < 100'000 && replies < sent; ++round) {
        for (const auto& m : f.ch.take_all()) {
            auto r = test::raw_channel::as_reply(m);
            ASSERT_TRUE(r.has_value());
            ASSERT_LT(r->id, sent);
            ++answers[r->id];
            if (static_cast<errc>(r->code) == errc::ok) {
                EXPECT_EQ(test::get_u64(r->result, 0), 3u);
                ++values;
            } else {
                EXPECT_TRUE(test::same_errc(static_cast<errc>(r->code), errc::rpc_overloaded));
                ++refused;
            }
            ++replies;
        }
        f.settle();
    }
    EXPECT_EQ(replies, sent);
    EXPECT_EQ(std::count(answers.begin(), answers.end(), 1), static_cast<long>(sent))
        << "a call answered twice or never";
    EXPECT_EQ(values, started);
    EXPECT_EQ(refused, s.overloaded);
    EXPECT_EQ(f.enclave().serving(), 0u);
    EXPECT_EQ(f.enclave().fault(), errc::ok);
}
