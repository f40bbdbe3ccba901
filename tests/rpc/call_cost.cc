// SPDX-License-Identifier: Apache-2.0
// rpc_call_cost: a probe for instruction counts, not a test. Runs `calls`
// typed calls (0-byte argument, 8-byte result) through the loopback harness,
// both endpoints on one thread, with `in_flight` caller coroutines, and
// checks every result. Under callgrind the difference between `calls` and 0
// calls, divided by `calls`, is the cost of one call on both sides:
//
//   valgrind --tool=callgrind build/release/tests/rpc/rpc_call_cost 20000 128
//   valgrind --tool=callgrind build/release/tests/rpc/rpc_call_cost 0 128
//
// A third argument sets endpoint_options::default_call_timeout_ns (0: the
// default deadline off), to see what watching calls under it costs.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "airlock/async/when_all.hh"
#include "rpc/rpc_support.hh"

namespace {

using namespace airlock;
using work_signature = std::uint64_t(std::span<const std::byte>, std::uint64_t);
constexpr rpc::host_method<1, work_signature> work{"work"};

std::uint64_t serve(const std::vector<std::byte>& argument, std::uint64_t id) {
    return id ^ argument.size();
}

async::task<void> caller(rpc::endpoint<rpc::side::enclave>& ep, std::uint64_t& next,
                         std::uint64_t total) {
    while (next < total) {
        const std::uint64_t id = next++;
        auto r = co_await ep.call(work, std::span<const std::byte>{}, id);
        if (!r || *r != id) std::abort();
    }
}

async::task<int> drive(rpc::endpoint<rpc::side::enclave>& ep, std::uint64_t total,
                       std::uint64_t in_flight) {
    std::uint64_t next = 0;
    std::vector<async::task<void>> callers;
    for (std::uint64_t i = 0; i < in_flight; ++i)
        callers.push_back(caller(ep, next, total));
    co_await async::when_all(std::move(callers));
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint64_t calls = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000;
    const std::uint64_t in_flight = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
    if (in_flight == 0 || in_flight > 256) {
        std::fprintf(stderr,
                     "usage: rpc_call_cost [calls] [in_flight, 1-256] [default_call_timeout_ns]\n");
        return 2;
    }
    rpc::endpoint_options options;
    if (argc > 3) options.default_call_timeout_ns = std::strtoull(argv[3], nullptr, 10);
    test::loopback channel(std::size_t{1} << 18, options);
    channel.host.serve(work, serve);
    (void)channel.run(drive(channel.enclave, calls, in_flight));
    std::printf("%llu calls, %llu in flight\n", static_cast<unsigned long long>(calls),
                static_cast<unsigned long long>(in_flight));
    return 0;
}
