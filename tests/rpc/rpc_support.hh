// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/rpc/rpc_support.hh: a loopback channel for rpc tests.
//
// `loopback` puts an enclave endpoint and a host endpoint on one executor,
// over a region with one ring each way, so a test drives whole call flows
// on one thread, deterministically (manual clock, no spinning). Both
// endpoints poll in every round, like two executors that never sleep.

#include <gtest/gtest.h>

#include <memory>

#include "airlock/rpc/endpoint.hh"
#include "async/async_support.hh"
#include "support/region_fixture.hh"

namespace airlock::test {

inline constexpr std::size_t enclave_to_host_ring = 0;
inline constexpr std::size_t host_to_enclave_ring = 1;

struct loopback {
    // `pool_bytes` non-zero: a buffer pool of that size each way (pool 0
    // the enclave's, pool 1 the host's), ring/buffer_pool.hh.
    explicit loopback(std::size_t ring_capacity = 1 << 14, rpc::endpoint_options options = {},
                      std::size_t pool_bytes = 0)
        : region({ring_capacity, ring_capacity}, 0,
                 pool_bytes == 0 ? std::vector<std::size_t>{}
                                 : std::vector<std::size_t>{pool_bytes, pool_bytes}),
          enclave(h.ex, region.ring(enclave_to_host_ring), region.ring(host_to_enclave_ring),
                  {&h.hooks, &h.bell, region.pool(enclave_to_host_ring),
                   region.pool(host_to_enclave_ring)},
                  options),
          host(h.ex, region.ring(host_to_enclave_ring), region.ring(enclave_to_host_ring),
               {&h.hooks, &h.bell, region.pool(host_to_enclave_ring),
                region.pool(enclave_to_host_ring)},
               options) {}

    // Runs the executor until `t` completes and returns its result.
    template <class T>
    T run(async::task<T> t) {
        std::optional<T> out;
        bool done = false;
        h.ex.spawn([](async::task<T> inner, std::optional<T>& o, bool& d) -> async::task<void> {
            o.emplace(co_await std::move(inner));
            d = true;
        }(std::move(t), out, done));
        h.ex.run_until([&] { return done; });
        return std::move(*out);
    }
    // The same for an rpc call (or anything else that stands for a task).
    template <async::awaitable A>
    requires(!async::detail::is_task_v<std::remove_cvref_t<A>>) auto run(A&& operation) {
        return run(async::as_task(std::forward<A>(operation)));
    }

    harness h;
    test_region region;
    rpc::endpoint<rpc::side::enclave> enclave;
    rpc::endpoint<rpc::side::host> host;
};

}  // namespace airlock::test
