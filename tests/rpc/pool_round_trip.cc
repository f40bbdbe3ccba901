// SPDX-License-Identifier: Apache-2.0
// Description: large arguments and results cross through the buffer pools both ways, written
// once and announced by a pooled record; every buffer comes back.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "airlock/async/when_all.hh"
#include "rpc/rpc_support.hh"
#include "support/region_fixture.hh"

using namespace airlock;

namespace {

// Returns its argument reversed: a large argument and a large result.
inline constexpr rpc::host_method<1, std::vector<std::byte>(std::vector<std::byte>)> reverse_host{
    "reverse_host"};
inline constexpr rpc::enclave_method<1, std::vector<std::byte>(std::vector<std::byte>)>
    reverse_enclave{"reverse_enclave"};
// A large argument read where it lies (a synchronous handler).
inline constexpr rpc::host_method<2, std::uint64_t(rpc::borrowed_bytes)> sum_host{"sum_host"};
inline constexpr rpc::enclave_method<2, std::uint64_t(rpc::borrowed_bytes)> sum_enclave{
    "sum_enclave"};

std::vector<std::byte> reversed(std::vector<std::byte> v) {
    std::reverse(v.begin(), v.end());
    return v;
}
std::uint64_t sum_of(std::span<const std::byte> bytes) {
    return std::accumulate(
        bytes.begin(), bytes.end(), std::uint64_t{0},
        [](std::uint64_t a, std::byte b) { return a + std::to_integer<int>(b); });
}

constexpr std::size_t pool_bytes = std::size_t{1} << 20;
// No cap on what the host pools: every size here crosses through a pool
// (pool_host_cap.cc tests the cap).
const rpc::endpoint_options options{.max_message = std::size_t{1} << 20,
                                    .pool_threshold = std::size_t{32} << 10,
                                    .host_pool_max = ~std::size_t{0}};

// Lets the last pool returns arrive.
void settle(test::loopback& lb) {
    for (int i = 0; i < 16; ++i)
        (void)lb.h.ex.run_once();
}

struct pooled_loopback : test::loopback {
    pooled_loopback() : test::loopback(1 << 14, options, pool_bytes) {
        host.serve(reverse_host, reversed);
        host.serve(sum_host, [](std::span<const std::byte> b) { return sum_of(b); });
        enclave.serve(reverse_enclave, reversed);
        enclave.serve(sum_enclave, [](std::span<const std::byte> b) { return sum_of(b); });
    }
};

}  // namespace

TEST(pool_round_trip, enclave_calls_with_large_arguments_and_results) {
    pooled_loopback lb;
    for (std::size_t n : {std::size_t{40'000}, std::size_t{100'000}, std::size_t{600'000}}) {
        const std::vector<std::byte> argument = test::pattern(n, n);
        auto r = lb.run(lb.enclave.call(reverse_host, argument));
        ASSERT_TRUE(r) << to_string(r.error());
        EXPECT_EQ(*r, reversed(argument)) << n << " bytes";
        auto s = lb.run(lb.enclave.call(sum_host, argument));
        ASSERT_TRUE(s) << to_string(s.error());
        EXPECT_EQ(*s, sum_of(argument)) << n << " bytes";
    }
    // Each call went out through the enclave's pool and each large result
    // came back through the host's: 3 + 3 calls, 3 results.
    EXPECT_EQ(lb.enclave.stats().pooled_sent, 6u);
    EXPECT_EQ(lb.host.stats().pooled_received, 6u);
    EXPECT_EQ(lb.host.stats().pooled_sent, 3u);
    EXPECT_EQ(lb.enclave.stats().pooled_received, 3u);
    EXPECT_EQ(lb.enclave.stats().pool_fallbacks + lb.host.stats().pool_fallbacks, 0u);
    settle(lb);
    EXPECT_EQ(lb.enclave.pool_buffers_out(), 0u);
    EXPECT_EQ(lb.host.pool_buffers_out(), 0u);
    EXPECT_EQ(lb.enclave.fault(), errc::ok);
    EXPECT_EQ(lb.host.fault(), errc::ok);
}

TEST(pool_round_trip, host_calls_with_large_arguments_and_results) {
    pooled_loopback lb;
    for (std::size_t n : {std::size_t{32 << 10}, std::size_t{300'001}}) {
        const std::vector<std::byte> argument = test::pattern(n, n + 1);
        auto r = lb.run(lb.host.call(reverse_enclave, argument));
        ASSERT_TRUE(r) << to_string(r.error());
        EXPECT_EQ(*r, reversed(argument)) << n << " bytes";
        auto s = lb.run(lb.host.call(sum_enclave, argument));
        ASSERT_TRUE(s) << to_string(s.error());
        EXPECT_EQ(*s, sum_of(argument));
    }
    EXPECT_EQ(lb.host.stats().pooled_sent, 4u);
    EXPECT_EQ(lb.enclave.stats().pooled_received, 4u);
    EXPECT_EQ(lb.enclave.stats().pooled_sent, 2u) << "the two reversed results";
    settle(lb);
    EXPECT_EQ(lb.enclave.pool_buffers_out(), 0u);
    EXPECT_EQ(lb.host.pool_buffers_out(), 0u);
    EXPECT_EQ(lb.enclave.fault(), errc::ok);
}

TEST(pool_round_trip, messages_below_the_threshold_stay_in_the_ring) {
    pooled_loopback lb;
    // 20,000 bytes of argument: a call of 20,024 encoded bytes, streamed.
    const std::vector<std::byte> argument = test::pattern(20'000, 3);
    auto r = lb.run(lb.enclave.call(sum_host, argument));
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, sum_of(argument));
    EXPECT_EQ(lb.enclave.stats().pooled_sent, 0u);
}

TEST(pool_round_trip, many_calls_in_flight_reuse_every_buffer) {
    pooled_loopback lb;
    const std::vector<std::byte> argument = test::pattern(64 << 10, 9);
    const std::uint64_t want = sum_of(argument);
    auto many = [&]() -> async::task<std::size_t> {
        std::vector<async::task<expected<std::uint64_t>>> calls;
        for (int i = 0; i < 64; ++i)
            calls.push_back(lb.enclave.call(sum_host, argument));
        std::size_t right = 0;
        for (auto& r : co_await async::when_all(std::move(calls)))
            right += r && *r == want ? 1 : 0;
        co_return right;
    };
    for (int round = 0; round < 4; ++round)
        EXPECT_EQ(lb.run(many()), 64u) << "round " << round;
    // Sixty-four 64 KiB calls do not fit a 1 MiB pool at once: the rest
    // streamed; none was lost and every pooled buffer came back.
    const auto& s = lb.enclave.stats();
    EXPECT_EQ(s.pooled_sent + s.pool_fallbacks, 256u);
    EXPECT_GT(s.pooled_sent, 0u);
    EXPECT_EQ(lb.host.stats().pooled_received, s.pooled_sent);
    settle(lb);
    EXPECT_EQ(lb.enclave.pool_buffers_out(), 0u);
    EXPECT_EQ(lb.enclave.fault(), errc::ok);
}
