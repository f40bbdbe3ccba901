// SPDX-License-Identifier: Apache-2.0
// Description: the enclave takes back only a pool buffer it handed out and has not had back;
// a host that never returns buffers only sends the enclave's large calls down the ring (#12, #16).
#include <cstdint>
#include <limits>
#include <vector>

#include "rpc/hostile_host.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;

constexpr std::size_t pool_bytes = 128 << 10;
constexpr std::uint64_t g = ring::wire::pool_granule;

inline constexpr rpc::host_method<9, std::uint64_t(std::vector<std::byte>)> store{"store"};

struct pooled_call {
    std::uint64_t offset = 0, length = 0;
    test::wire_call call;
};

// The enclave's next message, which must be a pooled call; read from pool 0.
std::optional<pooled_call> take_pooled_call(test::hostile_host& f) {
    auto m = f.ch.take();
    if (!m || m->tag != rpc::pooled_tag || m->bytes.size() != rpc::pooled_message_bytes) {
        ADD_FAILURE() << "expected a pooled call";
        return std::nullopt;
    }
    pooled_call p;
    p.offset = test::get_u64(m->bytes, 8);
    p.length = test::get_u64(m->bytes, 16);
    std::vector<std::byte> bytes(p.length);
    ring::shared::copy_out(bytes.data(), f.ch.pool(0).data + p.offset / 8, p.length);
    auto c = test::raw_channel::as_call({rpc::call_tag, bytes});
    if (!c) return std::nullopt;
    p.call = *c;
    return p;
}

void send_return(test::hostile_host& f, std::uint64_t offset, std::uint64_t length) {
    std::vector<std::byte> out;
    test::put_u64(out, offset);
    test::put_u64(out, length);
    f.ch.send_raw(rpc::pool_return_tag, out);
}

// One large call from the enclave, answered; its buffer not yet returned.
pooled_call one_call(test::hostile_host& f) {
    auto out = f.start(f.enclave().call(store, std::vector<std::byte>(40'000, std::byte{1})));
    f.settle();
    auto p = take_pooled_call(f);
    EXPECT_TRUE(p);
    if (!p) return {};
    f.ch.send_reply(p->call.id, 0, test::encoded(std::uint64_t{1}));
    f.settle();
    EXPECT_TRUE(out->done());
    return *p;
}

}  // namespace

TEST(hostile_pool_return, an_honest_return_frees_the_buffer) {
    test::hostile_host f({}, 1 << 12, pool_bytes);
    const pooled_call p = one_call(f);
    EXPECT_EQ(p.call.args.size(), 8u + 40'000u);
    EXPECT_EQ(f.enclave().pool_buffers_out(), 1u);
    send_return(f, p.offset, p.length);
    f.settle();
    EXPECT_EQ(f.enclave().pool_buffers_out(), 0u);
    EXPECT_EQ(f.enclave().fault(), errc::ok);
}

TEST(hostile_pool_return, a_buffer_returned_twice_faults_the_channel) {
    test::hostile_host f({}, 1 << 12, pool_bytes);
    const pooled_call p = one_call(f);
    send_return(f, p.offset, p.length);
    send_return(f, p.offset, p.length);
    f.settle();
    EXPECT_TRUE(test::same_errc(f.enclave().ring_fault(), errc::fault_pool_return));
}

TEST(hostile_pool_return, forged_partial_and_overlapping_returns_fault_the_channel) {
    const std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
    struct bad {
        const char* what;
        std::uint64_t offset_delta, length;  // offset relative to the real buffer's
    };
    for (const bad& b : {bad{"another length", 0, 40'001}, bad{"a shorter length", 0, g},
                         bad{"inside the buffer", g, g}, bad{"never handed out", 8 * g, g},
                         bad{"beyond the pool", pool_bytes, g},
                         bad{"wrapping", u64_max - g + 1, 2 * g}, bad{"zero length", 0, 0}}) {
        test::hostile_host f({}, 1 << 12, pool_bytes);
        const pooled_call p = one_call(f);
        send_return(f, p.offset + b.offset_delta, b.length == 40'001 ? p.length + 1 : b.length);
        f.settle();
        EXPECT_TRUE(test::same_errc(f.enclave().ring_fault(), errc::fault_pool_return)) << b.what;
    }
}

TEST(hostile_pool_return, malformed_return_records_are_dropped_and_counted) {
    test::hostile_host f({}, 1 << 12, pool_bytes);
    const pooled_call p = one_call(f);
    std::vector<std::byte> short_one(15), long_one(24);
    f.ch.send_raw(rpc::pool_return_tag, short_one);
    f.ch.send_raw(rpc::pool_return_tag, long_one);
    f.settle();
    EXPECT_EQ(f.enclave().stats().malformed, 2u);
    EXPECT_EQ(f.enclave().fault(), errc::ok);
    EXPECT_EQ(f.enclave().pool_buffers_out(), 1u);
    (void)p;
}

TEST(hostile_pool_return, a_host_that_never_returns_buffers_starves_only_large_calls_boundedly) {
    test::hostile_host f({}, 1 << 12, pool_bytes);
    // 128 KiB of pool holds three 40 KiB calls (10 granules each); the host
    // answers them and keeps every buffer.
    std::vector<pooled_call> held;
    for (int i = 0; i < 3; ++i)
        held.push_back(one_call(f));
    EXPECT_EQ(f.enclave().pool_buffers_out(), 3u);
    // The fourth waits for a buffer, in order, and is not sent.
    auto waiting = f.start(f.enclave().call(store, std::vector<std::byte>(40'000, std::byte{4})));
    f.settle();
    EXPECT_FALSE(waiting->done());
    EXPECT_TRUE(f.ch.take_all().empty()) << "nothing sent while it waits";
    EXPECT_EQ(f.enclave().stats().pool_waits, 1u) << "reported";
    // Bounded: the default deadline ends it (30 s, swept every quarter).
    for (int k = 0; k < 6 && !waiting->done(); ++k) {
        f.advance(std::uint64_t{8} * 1'000'000'000);
        f.settle();
    }
    ASSERT_TRUE(waiting->done()) << "the wait for the pool is bounded";
    EXPECT_TRUE(test::same_errc(test::code_of(*waiting->value), errc::deadline_exceeded));
    EXPECT_EQ(f.enclave().stats().calls_timed_out, 1u);
    EXPECT_EQ(f.enclave().fault(), errc::ok) << "a stingy host is not a fault";
    EXPECT_EQ(f.enclave().pool_buffers_out(), 3u) << "nothing handed out beyond the pool";
    // Once the host returns one buffer, large calls go through it again.
    (void)f.ch.take_all();  // the cancel of the call that timed out, if any
    send_return(f, held[1].offset, held[1].length);
    f.settle();
    auto next = f.start(f.enclave().call(store, std::vector<std::byte>(40'000, std::byte{5})));
    f.settle();
    auto p = take_pooled_call(f);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->offset, held[1].offset) << "the buffer the host gave back";
    f.ch.send_reply(p->call.id, 0, test::encoded(std::uint64_t{1}));
    f.settle();
    ASSERT_TRUE(next->done());
    EXPECT_TRUE(next->value->has_value());
}
