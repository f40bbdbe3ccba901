// SPDX-License-Identifier: Apache-2.0
// Description: a borrowed_bytes argument reaches a synchronous handler as a view of the receive
// buffer: the right bytes, no allocation per call, bounds checked.
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "rpc/allocation_probe.hh"
#include "rpc/rpc_support.hh"

using namespace airlock;

namespace {

// The sum of every byte, and the length.
inline constexpr rpc::host_method<1, std::uint64_t(rpc::borrowed_bytes, std::uint64_t)> digest{
    "digest"};

std::uint64_t sum_of(std::span<const std::byte> bytes) {
    return std::accumulate(
        bytes.begin(), bytes.end(), std::uint64_t{0},
        [](std::uint64_t a, std::byte b) { return a + std::to_integer<int>(b); });
}

std::vector<std::byte> bytes_of(std::size_t n) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>(i * 31 + 7);
    return v;
}

async::task<std::uint64_t> calls(test::loopback& lb, std::span<const std::byte> argument, int n) {
    std::uint64_t total = 0;
    for (int i = 0; i < n; ++i) {
        auto r = co_await lb.enclave.call(digest, argument, std::uint64_t(i));
        total += r ? *r : 0;
    }
    co_return total;
}

}  // namespace

TEST(borrowed_bytes, the_handler_sees_the_callers_bytes) {
    test::loopback lb(1 << 16, {.max_message = 1 << 20});
    std::size_t seen = 0;
    lb.host.serve(digest, [&](std::span<const std::byte> b, std::uint64_t salt) {
        seen = b.size();
        return sum_of(b) + salt;
    });
    for (const std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{4096},
                                std::size_t{100'000}}) {  // one record, and streamed fragments
        const std::vector<std::byte> argument = bytes_of(n);
        EXPECT_EQ(lb.run(calls(lb, argument, 1)), sum_of(argument)) << n << " bytes";
        EXPECT_EQ(seen, n);
    }
    // A vector passes as well as a span.
    auto r = lb.run(lb.enclave.call(digest, bytes_of(10), std::uint64_t{5}));
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(*r, sum_of(bytes_of(10)) + 5);
}

TEST(borrowed_bytes, the_handler_side_allocates_nothing_per_call) {
    test::loopback lb(1 << 16, {.max_message = 1 << 20});
    lb.host.serve(
        digest, [](rpc::borrowed_bytes b, std::uint64_t salt) { return sum_of(b.span()) + salt; });
    const std::vector<std::byte> argument = bytes_of(8000);
    const std::uint64_t want = 64 * sum_of(argument) + 64 * 63 / 2;
    EXPECT_EQ(lb.run(calls(lb, argument, 64)), want);  // warm: pools and frames filled
    std::size_t largest = 0;
    {
        const test::allocation_probe probe;
        EXPECT_EQ(lb.run(calls(lb, argument, 64)), want);
        largest = probe.largest();
    }
    // An owning argument would allocate 8,000 bytes for every call.
    EXPECT_LT(largest, argument.size()) << "an argument was copied into a new buffer";
}

TEST(borrowed_bytes, a_length_beyond_the_message_is_a_decode_error) {
    test::loopback lb;
    bool ran = false;
    lb.host.serve(digest, [&](rpc::borrowed_bytes, std::uint64_t) {
        ran = true;
        return std::uint64_t{0};
    });
    // What a hostile caller sends: a length of 2^40 in front of 8 bytes.
    constexpr rpc::host_method<1, std::uint64_t(std::uint64_t, std::uint64_t)> forged{"digest"};
    auto r = lb.run(lb.enclave.call(forged, std::uint64_t{1} << 40, std::uint64_t{1}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::rpc_decode);
    EXPECT_FALSE(ran);
}
