// SPDX-License-Identifier: Apache-2.0
// Description: the documented ways to put a deadline on work inside a
// coroutine, `co_await ep.call(m, args).with_timeout(ns)` and `co_await
// async::with_timeout(ex, ns, some_task(args))`, with arguments that own
// heap memory (the shape gcc 12 miscompiled as a lambda), end in time with
// deadline_exceeded and free everything once (run under ASan with gcc and
// clang).
#include <string>

#include "airlock/async/deadline.hh"
#include "rpc/call_checks.hh"
#include "rpc/rpc_support.hh"

using namespace airlock;
using test::error_of;

namespace {

inline constexpr rpc::host_method<1, std::string(std::string)> slow_echo{"slow_echo"};

async::task<expected<std::string>> fetch(test::loopback& lb, std::string key) {
    co_return co_await lb.enclave.call(slow_echo, key);
}

async::task<std::vector<errc>> deadlines(test::loopback& lb) {
    std::vector<errc> out;
    const std::string name(100, 'n');  // owns heap memory
    expected<std::string> a = co_await lb.enclave.call(slow_echo, name).with_timeout(1'000);
    out.push_back(error_of(a));
    expected<std::string> b =
        co_await async::with_timeout(lb.h.ex, 1'000, fetch(lb, name + "-suffix"));
    out.push_back(error_of(b));
    expected<std::string> c = co_await lb.enclave.call(slow_echo, name).with_timeout(1'000'000);
    out.push_back(c ? errc::ok : c.error());
    co_return out;
}

}  // namespace

TEST(deadline_shapes, calls_and_tasks_under_a_deadline_end_in_time) {
    test::loopback lb;
    test::gate slow(lb.h.ex);
    int started = 0;
    lb.host.serve(slow_echo, [&](std::string s) -> async::task<std::string> {
        if (++started <= 2) (void)co_await slow.wait();  // the first two never answer in time
        co_return s;
    });
    const std::vector<errc> got = lb.run(deadlines(lb));
    EXPECT_EQ(got, (std::vector<errc>{errc::deadline_exceeded, errc::deadline_exceeded, errc::ok}));
    EXPECT_EQ(lb.host.stats().cancels_received, 2u) << "the host was told both times";
    slow.open();
    for (int i = 0; i < 8; ++i)
        lb.h.ex.run_once();
    EXPECT_EQ(lb.enclave.outstanding_calls(), 0u);
    // The deadlines' timers are gone; the endpoint's sweep of calls under its
    // default deadline stops at its next round, with nothing left to watch.
    lb.h.hooks.now += rpc::endpoint_options{}.default_call_timeout_ns;
    for (int i = 0; i < 2; ++i)
        lb.h.ex.run_once();
    EXPECT_EQ(lb.h.ex.timers_armed(), 0u);
}
