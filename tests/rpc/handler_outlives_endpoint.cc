// SPDX-License-Identifier: Apache-2.0
// Description: a coroutine handler (a capturing lambda) suspended when its
// endpoint is destroyed still has its captures when it resumes: the handler
// lives as long as the coroutines that run it, and finishes without
// answering through the dead endpoint.
#include <optional>
#include <string>

#include "airlock/rpc/endpoint.hh"
#include "airlock/rpc/method.hh"
#include "async/async_support.hh"
#include "support/region_fixture.hh"

using namespace airlock;

namespace {

inline constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> slow{"slow"};

}  // namespace

TEST(handler_outlives_endpoint, a_suspended_handler_keeps_its_captures_past_its_endpoint) {
    test::harness h;
    test::test_region region({1 << 14, 1 << 14});
    std::optional<rpc::endpoint<rpc::side::enclave>> enclave;
    enclave.emplace(h.ex, region.ring(0), region.ring(1), rpc::endpoint_wiring{&h.hooks, &h.bell},
                    rpc::endpoint_options{});
    rpc::endpoint<rpc::side::host> host(h.ex, region.ring(1), region.ring(0),
                                        rpc::endpoint_wiring{&h.hooks, &h.bell},
                                        rpc::endpoint_options{});
    std::string seen;
    bool finished = false;
    // The capture lives in the handler object the endpoint stores.
    enclave->serve(slow,
                   [greeting = std::string(200, 'g'), &h, &seen,
                    &finished](std::uint64_t x) -> async::task<std::uint64_t> {
                       (void)co_await h.ex.sleep_for(1'000);
                       seen = greeting;  // reads the handler object after its endpoint died
                       finished = true;
                       co_return x;
                   });
    std::optional<expected<std::uint64_t>> reply;
    h.ex.spawn([](rpc::endpoint<rpc::side::host>& ep,
                  std::optional<expected<std::uint64_t>>& out) -> async::task<void> {
        out.emplace(co_await ep.call(slow, 7));
    }(host, reply));
    h.ex.run_until([&] { return enclave->serving() == 1; });

    enclave.reset();                           // the handler is suspended in its sleep
    h.ex.run_until([&] { return finished; });  // the clock moves while idle
    EXPECT_EQ(seen, std::string(200, 'g'));
    for (int i = 0; i < 4; ++i)
        h.ex.run_once();
    EXPECT_FALSE(reply.has_value()) << "nobody could answer through the dead endpoint";
}
