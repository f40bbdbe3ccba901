// SPDX-License-Identifier: Apache-2.0
// Description: a call made and then dropped without being awaited gives its
// pooled buffer back: later calls allocate nothing.
#include "airlock/async/sync_wait.hh"
#include "rpc/allocation_probe.hh"
#include "rpc/rpc_support.hh"

using namespace airlock;

namespace {

inline constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> lookup{"lookup"};

async::task<std::uint64_t> calls(test::loopback& lb, int n) {
    std::uint64_t sum = 0;
    for (int i = 0; i < n; ++i) {
        { auto dropped = lb.enclave.call(lookup, 1); }  // never awaited
        auto r = co_await lb.enclave.call(lookup, 2);
        sum += r ? *r : 0;
    }
    co_return sum;
}

}  // namespace

TEST(dropped_call_buffer, a_dropped_call_returns_its_buffer_to_the_pool) {
    test::loopback lb;
    lb.host.serve(lookup, [](std::uint64_t x) { return x + 1; });
    EXPECT_EQ(lb.run(calls(lb, 64)), 64u * 3);  // warm: pools and frames filled
    std::size_t allocations = 0;
    {
        const test::allocation_probe probe;
        EXPECT_EQ(lb.run(calls(lb, 1'000)), 1'000u * 3);
        allocations = probe.count();
    }
    EXPECT_EQ(allocations, 0u) << "calls allocated after dropped calls (a buffer leaked)";
}
