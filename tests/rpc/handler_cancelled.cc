// SPDX-License-Identifier: Apache-2.0
// Description: when a caller gives up on a call (its token is cancelled, or
// its deadline passes), the other side is told and the coroutine handler's
// token is cancelled, so it stops at its next wait and sends no reply; a host
// that abandons more calls than the enclave serves at once cannot pin its
// handlers: new calls are still served, never answered rpc_overloaded.
#include <cstdint>
#include <optional>
#include <vector>

#include "airlock/async/event.hh"
#include "airlock/async/when_all.hh"
#include "rpc/call_checks.hh"
#include "rpc/rpc_support.hh"

using namespace airlock;
using test::error_of;

namespace {

// Enclave methods (the host calls them).
inline constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> wait_in_enclave{
    "wait_in_enclave"};
inline constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> answer{"answer"};
// A host method (the enclave calls it).
inline constexpr rpc::host_method<3, std::uint64_t(std::uint64_t)> wait_on_host{"wait_on_host"};

// What a handler saw when its wait ended.
struct handler_log {
    std::size_t started = 0;
    std::size_t ended = 0;
    std::size_t token_cancelled = 0;  // its token parameter said cancelled
    std::size_t wait_cancelled = 0;   // its wait ended with errc::cancelled
};

// A handler that takes its call's token and waits for an event nobody sets:
// only its caller giving up can end it.
auto waiting_handler(async::async_event& never, handler_log& log) {
    return [&never, &log](const async::cancellation_token& token,
                          std::uint64_t x) -> async::task<std::uint64_t> {
        ++log.started;
        const expected<void> woke = co_await never.wait();
        ++log.ended;
        if (token.is_cancellation_requested()) ++log.token_cancelled;
        if (!woke && woke.error() == errc::cancelled) ++log.wait_cancelled;
        co_return x;
    };
}

template <rpc::side S, class M>
async::task<void> call_under(rpc::endpoint<S>& ep, const M& m, async::cancellation_token token,
                             std::uint64_t x, std::optional<expected<std::uint64_t>>& out) {
    out.emplace(co_await ep.call(std::move(token), m, x));
}

template <rpc::side S, class M>
async::task<errc> call_with_timeout(rpc::endpoint<S>& ep, const M& m, std::uint64_t x,
                                    std::uint64_t timeout_ns) {
    const expected<std::uint64_t> r = co_await ep.call(m, x).with_timeout(timeout_ns);
    co_return error_of(r);
}

TEST(handler_cancelled, the_callers_token_cancels_the_handlers_token) {
    test::loopback lb;
    async::async_event never;
    handler_log log;
    lb.enclave.serve(wait_in_enclave, waiting_handler(never, log));

    async::cancellation_source give_up;
    std::optional<expected<std::uint64_t>> result;
    lb.h.ex.spawn(call_under(lb.host, wait_in_enclave, give_up.token(), 7, result));
    lb.h.ex.run_until([&] { return lb.enclave.serving() == 1; });
    ASSERT_EQ(log.started, 1u);
    EXPECT_EQ(log.ended, 0u) << "the handler waits while its caller does";

    (void)give_up.request_cancellation();
    lb.h.ex.run_until([&] { return result.has_value() && lb.enclave.serving() == 0; });
    EXPECT_EQ(error_of(*result), errc::cancelled);
    EXPECT_EQ(lb.host.stats().cancels_sent, 1u) << "the enclave was told";
    EXPECT_EQ(lb.enclave.stats().cancels_received, 1u);
    EXPECT_EQ(log.ended, 1u);
    EXPECT_EQ(log.token_cancelled, 1u) << "the handler's token parameter was cancelled";
    EXPECT_EQ(log.wait_cancelled, 1u) << "its wait, which took no token, ended cancelled";
    for (int i = 0; i < 4; ++i)
        lb.h.ex.run_once();
    EXPECT_EQ(lb.host.stats().replies_received, 0u) << "a cancelled handler sends no reply";
    EXPECT_EQ(lb.host.stats().replies_dropped, 0u);
    EXPECT_EQ(lb.host.outstanding_calls(), 0u);
}

TEST(handler_cancelled, a_passed_deadline_cancels_the_handler_both_ways) {
    test::loopback lb;
    async::async_event never;
    handler_log in_enclave;
    handler_log on_host;
    lb.enclave.serve(wait_in_enclave, waiting_handler(never, in_enclave));
    lb.host.serve(wait_on_host, waiting_handler(never, on_host));

    EXPECT_EQ(lb.run(call_with_timeout(lb.host, wait_in_enclave, 1, 10'000)),
              errc::deadline_exceeded);
    EXPECT_EQ(lb.run(call_with_timeout(lb.enclave, wait_on_host, 2, 10'000)),
              errc::deadline_exceeded);
    lb.h.ex.run_until([&] { return lb.enclave.serving() == 0 && lb.host.serving() == 0; });

    for (const handler_log* log : {&in_enclave, &on_host}) {
        EXPECT_EQ(log->started, 1u);
        EXPECT_EQ(log->ended, 1u);
        EXPECT_EQ(log->token_cancelled, 1u);
        EXPECT_EQ(log->wait_cancelled, 1u);
    }
    EXPECT_EQ(lb.host.stats().cancels_sent, 1u);
    EXPECT_EQ(lb.enclave.stats().cancels_received, 1u);
    EXPECT_EQ(lb.enclave.stats().cancels_sent, 1u);
    EXPECT_EQ(lb.host.stats().cancels_received, 1u);
}

TEST(handler_cancelled, abandoned_calls_beyond_max_serving_do_not_pin_the_enclave) {
    test::loopback lb;
    async::async_event never;
    handler_log log;
    lb.enclave.serve(wait_in_enclave, waiting_handler(never, log));
    lb.enclave.serve(answer,
                     [](std::uint64_t x) -> async::task<std::uint64_t> { co_return x + 1; });

    // Batches of calls that wait together and are all abandoned at their
    // deadline; together more than the enclave runs at once.
    const std::size_t max_serving = rpc::endpoint_options{}.max_serving;
    constexpr std::size_t batch = 100;
    const std::size_t batches = max_serving / batch + 2;
    std::size_t overloaded = 0;
    std::size_t timed_out = 0;
    for (std::size_t b = 0; b < batches; ++b) {
        std::vector<async::task<errc>> calls;
        for (std::size_t i = 0; i < batch; ++i)
            calls.push_back(call_with_timeout(lb.host, wait_in_enclave, b * batch + i, 10'000));
        const std::vector<errc> got = lb.run(async::when_all(std::move(calls)));
        for (const errc e : got) {
            if (e == errc::rpc_overloaded) ++overloaded;
            if (e == errc::deadline_exceeded) ++timed_out;
        }
        lb.h.ex.run_until([&] { return lb.enclave.serving() == 0; });
    }
    const std::size_t abandoned = batches * batch;
    ASSERT_GT(abandoned, max_serving);
    EXPECT_EQ(overloaded, 0u);
    EXPECT_EQ(timed_out, abandoned);
    EXPECT_EQ(log.started, abandoned) << "every abandoned call reached its handler";
    EXPECT_EQ(log.token_cancelled, abandoned) << "and every handler was cancelled";
    EXPECT_EQ(lb.enclave.stats().cancels_received, abandoned);
    EXPECT_EQ(lb.enclave.stats().overloaded, 0u);

    // The enclave still serves.
    const expected<std::uint64_t> after = lb.run(lb.host.call(answer, 41));
    ASSERT_EQ(error_of(after), errc::ok);
    EXPECT_EQ(*after, 42u);
    EXPECT_EQ(lb.host.outstanding_calls(), 0u);
}

}  // namespace
