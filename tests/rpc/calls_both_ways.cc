// SPDX-License-Identifier: Apache-2.0
// Description: the enclave calls the host and the host calls the enclave,
// with results, void methods, owned and view arguments, and handlers that
// are coroutines calling the other side before they answer.
#include <string>
#include <vector>

#include "rpc/rpc_support.hh"

namespace {

using namespace airlock;
using airlock::rpc::enclave_method;
using airlock::rpc::host_method;

// The declarations both sides compile.
constexpr host_method<1, std::uint64_t(std::uint64_t, std::uint64_t)> add{"add"};
constexpr host_method<2, std::string(std::string_view)> shout{"shout"};
constexpr host_method<3, void(std::uint64_t)> note{"note"};
constexpr host_method<4, std::uint64_t(std::span<const std::byte>)> byte_sum{"byte_sum"};
constexpr enclave_method<1, std::uint64_t(std::uint64_t)> twice_plus_host{"twice_plus_host"};

TEST(calls_both_ways, enclave_calls_host) {
    test::loopback lb;
    lb.host.serve(add, [](std::uint64_t a, std::uint64_t b) { return a + b; });
    lb.host.serve(shout, [](std::string s) {
        for (char& c : s)
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
    });
    std::uint64_t noted = 0;
    lb.host.serve(note, [&](std::uint64_t v) { noted = v; });
    lb.host.serve(byte_sum, [](std::vector<std::byte> v) {
        std::uint64_t sum = 0;
        for (std::byte b : v)
            sum += std::to_integer<std::uint64_t>(b);
        return sum;
    });

    auto sum = lb.run(lb.enclave.call(add, 40, 2));
    ASSERT_TRUE(sum.has_value()) << to_string(sum.error());
    EXPECT_EQ(*sum, 42u);
    auto loud = lb.run(lb.enclave.call(shout, "quiet please"));
    ASSERT_TRUE(loud.has_value());
    EXPECT_EQ(*loud, "QUIET PLEASE");
    auto v = lb.run(lb.enclave.call(note, 7));
    EXPECT_TRUE(v.has_value());
    EXPECT_EQ(noted, 7u);
    const std::vector<std::byte> bytes(100, std::byte{3});
    auto s = lb.run(lb.enclave.call(byte_sum, std::span<const std::byte>(bytes)));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(*s, 300u);
    EXPECT_EQ(lb.enclave.stats().calls_sent, 4u);
    EXPECT_EQ(lb.host.stats().calls_served, 4u);
}

TEST(calls_both_ways, host_calls_enclave_whose_handler_calls_the_host) {
    test::loopback lb;
    lb.host.serve(add, [](std::uint64_t a, std::uint64_t b) { return a + b; });
    // A coroutine handler in the enclave: it asks the host before answering.
    lb.enclave.serve(twice_plus_host, [&](std::uint64_t x) -> async::task<expected<std::uint64_t>> {
        auto from_host = co_await lb.enclave.call(add, x, 1000);
        if (!from_host) co_return unexpected(from_host.error());
        co_return 2 * x + *from_host;
    });
    auto r = lb.run(lb.host.call(twice_plus_host, 5));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, 2 * 5 + 1005u);
}

TEST(calls_both_ways, many_calls_in_flight_from_many_coroutines) {
    test::loopback lb;
    lb.host.serve(add, [](std::uint64_t a, std::uint64_t b) { return a + b; });
    constexpr int coroutines = 50;
    constexpr int calls_each = 40;
    std::uint64_t total = 0;
    int finished = 0;
    for (int c = 0; c < coroutines; ++c) {
        lb.h.ex.spawn(
            [](test::loopback& l, int id, std::uint64_t& sum, int& fin) -> async::task<void> {
                for (int i = 0; i < calls_each; ++i) {
                    auto r = co_await l.enclave.call(add, std::uint64_t(id), std::uint64_t(i));
                    if (r) sum += *r;
                }
                ++fin;
            }(lb, c, total, finished));
    }
    lb.h.ex.run_until([&] { return finished == coroutines; });
    std::uint64_t expect = 0;
    for (int c = 0; c < coroutines; ++c)
        for (int i = 0; i < calls_each; ++i)
            expect += std::uint64_t(c + i);
    EXPECT_EQ(total, expect);
    EXPECT_EQ(lb.enclave.outstanding_calls(), 0u);
}

}  // namespace
