// SPDX-License-Identifier: Apache-2.0
// Description: a call large enough for the buffer pool is encoded when it reaches the ring,
// straight into the pool: queued large calls hold no encoded copies, a temporary argument is
// kept alive, and a call that must stream after all is encoded then (or fails alone).
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "airlock/async/when_all.hh"
#include "rpc/allocation_probe.hh"
#include "rpc/rpc_support.hh"
#include "support/region_fixture.hh"

using namespace airlock;

namespace {

inline constexpr rpc::host_method<1, std::uint64_t(rpc::borrowed_bytes, std::uint64_t)> digest{
    "digest"};
inline constexpr rpc::host_method<2, std::uint64_t(std::span<const std::byte>)> sum_span{
    "sum_span"};

std::uint64_t sum_of(std::span<const std::byte> bytes) {
    return std::accumulate(
        bytes.begin(), bytes.end(), std::uint64_t{0},
        [](std::uint64_t a, std::byte b) { return a + std::to_integer<int>(b); });
}

const rpc::endpoint_options options{.max_message = std::size_t{1} << 20,
                                    .pool_threshold = std::size_t{32} << 10};

struct fixture : test::loopback {
    explicit fixture(std::size_t pool_bytes) : test::loopback(1 << 16, options, pool_bytes) {
        host.serve(digest, [](rpc::borrowed_bytes b, std::uint64_t salt) {
            return sum_of(b.span()) + salt;
        });
        host.serve(sum_span, [](std::vector<std::byte> b) { return sum_of(b); });
    }
};

}  // namespace

TEST(pool_deferred_encoding, queued_large_calls_hold_no_encoded_copy) {
    fixture f(std::size_t{8} << 20);
    const std::vector<std::byte> argument = test::pattern(256 << 10, 1);
    const std::uint64_t want = sum_of(argument);
    std::vector<async::task<expected<std::uint64_t>>> calls;
    std::size_t largest = 0;
    {
        const test::allocation_probe probe;
        for (std::uint64_t i = 0; i < 16; ++i)
            calls.push_back(f.enclave.call(digest, argument, i));
        largest = probe.largest();
    }
    // Encoding at once would have made sixteen buffers of 256 KiB; what is
    // allocated is the kept arguments and coroutine frames.
    EXPECT_LT(largest, argument.size() / 8) << "a call was encoded when it was made";
    auto results = f.run(async::when_all_settled(std::move(calls)));
    for (std::uint64_t i = 0; i < results.size(); ++i) {
        ASSERT_TRUE(results[i]) << to_string(results[i].error());
        EXPECT_EQ(*results[i], want + i);
    }
    EXPECT_EQ(f.enclave.stats().pooled_sent, 16u);
}

TEST(pool_deferred_encoding, a_temporary_argument_lives_until_the_call_is_sent) {
    fixture f(std::size_t{1} << 20);
    // The vector dies at the end of this statement; the call is awaited later.
    async::task<expected<std::uint64_t>> call = f.enclave.call(sum_span, test::pattern(100'000, 2));
    std::vector<std::byte> scribble(100'000, std::byte{0xee});  // reuses the freed memory, perhaps
    auto r = f.run(std::move(call));
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(*r, sum_of(test::pattern(100'000, 2)));
    EXPECT_EQ(f.enclave.stats().pooled_sent, 1u);
}

TEST(pool_deferred_encoding, calls_that_find_the_pool_full_wait_for_returned_buffers) {
    // 64 KiB of pool: one 40 KiB call at a time; the others wait, in
    // order, for the host to return the buffer, and go through the pool too.
    fixture f(std::size_t{64} << 10);
    const std::vector<std::byte> argument = test::pattern(40'000, 3);
    std::vector<async::task<expected<std::uint64_t>>> calls;
    for (std::uint64_t i = 0; i < 4; ++i)
        calls.push_back(f.enclave.call(digest, argument, i));
    auto results = f.run(async::when_all(std::move(calls)));
    for (std::uint64_t i = 0; i < results.size(); ++i) {
        ASSERT_TRUE(results[i]) << to_string(results[i].error());
        EXPECT_EQ(*results[i], sum_of(argument) + i);
    }
    const auto& s = f.enclave.stats();
    EXPECT_EQ(s.pooled_sent, 4u);
    EXPECT_EQ(s.pool_fallbacks, 0u);
    EXPECT_GE(s.pool_waits, 1u);
}

TEST(pool_deferred_encoding, a_call_larger_than_the_pool_is_encoded_then_and_streamed) {
    fixture f(std::size_t{32} << 10);
    const std::vector<std::byte> argument = test::pattern(40'000, 5);
    auto r = f.run(f.enclave.call(digest, argument, std::uint64_t{3}));
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(*r, sum_of(argument) + 3);
    EXPECT_EQ(f.enclave.stats().pooled_sent, 0u);
    EXPECT_EQ(f.enclave.stats().pool_fallbacks, 1u);
}

TEST(pool_deferred_encoding, no_memory_to_stream_a_call_fails_that_call_only) {
    // Larger than the pool, so it must stream, and no buffer may grow to
    // hold its encoding.
    fixture f(std::size_t{32} << 10);
    const std::vector<std::byte> argument = test::pattern(40'000, 4);
    expected<std::uint64_t> r = unexpected(errc::broken_promise);
    {
        const test::allocation_ceiling ceiling(32 << 10);
        r = f.run(f.enclave.call(digest, argument, std::uint64_t{0}));
    }
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::enclave_memory_exhausted);
    EXPECT_EQ(f.enclave.fault(), errc::ok) << "one call failed, not the channel";
    auto again = f.run(f.enclave.call(digest, argument, std::uint64_t{9}));
    ASSERT_TRUE(again) << to_string(again.error());
    EXPECT_EQ(*again, sum_of(argument) + 9);
}
