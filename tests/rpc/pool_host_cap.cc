// SPDX-License-Identifier: Apache-2.0
// Description: the host streams a message above endpoint_options::host_pool_max through the ring
// when the enclave has nothing else of the host's to read, and pools it otherwise; it pools a
// message up to the cap (calls and replies alike); the enclave's sends have no cap.
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

inline constexpr rpc::enclave_method<1, std::uint64_t(std::span<const std::byte>)> sum_enclave{
    "sum_enclave"};
inline constexpr rpc::enclave_method<2, std::vector<std::byte>(std::uint64_t)> make_enclave{
    "make_enclave"};
inline constexpr rpc::host_method<1, std::vector<std::byte>(std::uint64_t)> make_host{"make_host"};

std::uint64_t sum_of(std::span<const std::byte> bytes) {
    return std::accumulate(
        bytes.begin(), bytes.end(), std::uint64_t{0},
        [](std::uint64_t a, std::byte b) { return a + std::to_integer<int>(b); });
}

// Encoded bytes of a call or reply whose one value is `n` bytes.
std::size_t encoded_bytes(std::size_t n) {
    const std::vector<std::byte> v(n);
    rpc::writer count(rpc::writer::counting);
    rpc::codec<std::span<const std::byte>>::encode(count, std::span<const std::byte>(v));
    return rpc::message_header_bytes + count.size();
}

// The cap: a message carrying exactly 100,000 bytes pools, one carrying
// 100,008 (the next size that encodes longer) streams.
constexpr std::size_t at_cap = 100'000;
constexpr std::size_t above_cap = 100'008;

rpc::endpoint_options capped() {
    return {.max_message = std::size_t{1} << 20,
            .pool_threshold = std::size_t{32} << 10,
            .host_pool_max = encoded_bytes(at_cap)};
}

struct capped_loopback : test::loopback {
    capped_loopback() : test::loopback(1 << 14, capped(), std::size_t{1} << 20) {
        enclave.serve(sum_enclave, [](std::vector<std::byte> b) { return sum_of(b); });
        enclave.serve(make_enclave, [](std::uint64_t n) { return test::pattern(n, n); });
        host.serve(make_host, [](std::uint64_t n) { return test::pattern(n, n); });
    }
    // Lets the last pool returns arrive.
    void settle() {
        for (int i = 0; i < 16; ++i)
            (void)h.ex.run_once();
    }
};

}  // namespace

TEST(pool_host_cap, the_sizes_straddle_the_cap) {
    ASSERT_LT(encoded_bytes(at_cap), encoded_bytes(above_cap));
    ASSERT_GE(encoded_bytes(at_cap), capped().pool_threshold);
}

TEST(pool_host_cap, a_host_call_up_to_the_cap_pools_and_a_larger_one_streams) {
    capped_loopback lb;
    const std::vector<std::byte> small = test::pattern(at_cap, 1);
    auto r = lb.run(lb.host.call(sum_enclave, small));
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(*r, sum_of(small));
    EXPECT_EQ(lb.host.stats().pooled_sent, 1u) << "a call at the cap goes through the pool";
    EXPECT_EQ(lb.enclave.stats().pooled_received, 1u);

    const std::vector<std::byte> large = test::pattern(above_cap, 2);
    auto s = lb.run(lb.host.call(sum_enclave, large));
    ASSERT_TRUE(s) << to_string(s.error());
    EXPECT_EQ(*s, sum_of(large));
    EXPECT_EQ(lb.host.stats().pooled_sent, 1u) << "a call above the cap streams";
    EXPECT_EQ(lb.host.stats().pool_capped, 1u);
    EXPECT_EQ(lb.enclave.stats().pooled_received, 1u);
    // Streamed by choice, not because the pool was short of room.
    EXPECT_EQ(lb.host.stats().pool_fallbacks, 0u);
    EXPECT_EQ(lb.host.stats().pool_waits, 0u);
    lb.settle();
    EXPECT_EQ(lb.host.pool_buffers_out(), 0u);
    EXPECT_EQ(lb.enclave.fault(), errc::ok);
}

TEST(pool_host_cap, a_host_reply_above_the_cap_streams) {
    capped_loopback lb;
    auto r = lb.run(lb.enclave.call(make_host, std::uint64_t{at_cap}));
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(*r, test::pattern(at_cap, at_cap));
    EXPECT_EQ(lb.host.stats().pooled_sent, 1u);

    auto s = lb.run(lb.enclave.call(make_host, std::uint64_t{above_cap}));
    ASSERT_TRUE(s) << to_string(s.error());
    EXPECT_EQ(*s, test::pattern(above_cap, above_cap));
    EXPECT_EQ(lb.host.stats().pooled_sent, 1u) << "the larger reply streamed";
    EXPECT_EQ(lb.host.stats().pool_capped, 1u);
    EXPECT_EQ(lb.enclave.stats().pooled_received, 1u);
    EXPECT_EQ(lb.host.stats().pool_fallbacks, 0u);
    EXPECT_EQ(lb.enclave.fault(), errc::ok);
}

TEST(pool_host_cap, the_enclave_pools_above_the_cap) {
    // The host reads what the enclave pools in place: no copy to overlap,
    // so the enclave side ignores host_pool_max.
    capped_loopback lb;
    for (std::size_t n : {above_cap, std::size_t{600'000}}) {
        auto r = lb.run(lb.host.call(make_enclave, std::uint64_t{n}));
        ASSERT_TRUE(r) << to_string(r.error());
        EXPECT_EQ(*r, test::pattern(n, n));
    }
    EXPECT_EQ(lb.enclave.stats().pooled_sent, 2u);
    EXPECT_EQ(lb.enclave.stats().pool_capped, 0u);
    EXPECT_EQ(lb.host.stats().pooled_received, 2u);
    lb.settle();
    EXPECT_EQ(lb.enclave.pool_buffers_out(), 0u);
    EXPECT_EQ(lb.host.fault(), errc::ok);
}

TEST(pool_host_cap, a_large_call_pools_while_the_enclave_has_more_to_read) {
    // Two calls above the cap at once: the first finds the enclave idle and
    // streams; the second is sent while the first's last fragment waits in
    // the ring, so the enclave has work to overlap it with: it pools.
    capped_loopback lb;
    const std::vector<std::byte> a = test::pattern(above_cap, 4);
    const std::vector<std::byte> b = test::pattern(above_cap, 5);
    std::vector<async::task<expected<std::uint64_t>>> calls;
    calls.push_back(lb.host.call(sum_enclave, a));
    calls.push_back(lb.host.call(sum_enclave, b));
    auto results = lb.run(async::when_all(std::move(calls)));
    ASSERT_TRUE(results[0]) << to_string(results[0].error());
    ASSERT_TRUE(results[1]) << to_string(results[1].error());
    EXPECT_EQ(*results[0], sum_of(a));
    EXPECT_EQ(*results[1], sum_of(b));
    EXPECT_EQ(lb.host.stats().pool_capped, 1u);
    EXPECT_EQ(lb.host.stats().pooled_sent, 1u);
    EXPECT_EQ(lb.enclave.stats().pooled_received, 1u);
    lb.settle();
    EXPECT_EQ(lb.host.pool_buffers_out(), 0u);
}
