// SPDX-License-Identifier: Apache-2.0
// Description: every failure of a call reaches its caller as an error value.
//
// A handler's error, a thrown exception, a method nobody serves and an
// overloaded server each answer the call with an error code; the server
// keeps serving afterwards and nothing is dropped silently.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "airlock/async/when_all.hh"
#include "rpc/call_checks.hh"
#include "rpc/rpc_support.hh"

namespace {

using namespace airlock;
using airlock::rpc::enclave_method;
using airlock::rpc::host_method;
using test::error_of;

constexpr host_method<1, std::uint64_t(std::uint16_t)> fail_with{"fail_with"};
constexpr host_method<2, std::uint64_t(std::uint64_t)> fragile{"fragile"};
constexpr host_method<3, std::uint64_t(std::uint64_t)> fragile_later{"fragile_later"};
constexpr host_method<4, std::string(std::uint64_t)> slow_error{"slow_error"};
constexpr host_method<5, std::uint64_t(std::uint64_t)> asks_enclave{"asks_enclave"};
constexpr host_method<6, std::uint64_t(std::uint64_t)> held{"held"};
constexpr host_method<7, void(std::uint64_t)> void_sync{"void_sync"};
constexpr host_method<8, void(std::uint64_t)> void_coroutine{"void_coroutine"};
constexpr host_method<9, void(std::uint64_t)> void_checked{"void_checked"};
constexpr host_method<10, void(std::uint64_t)> void_checked_later{"void_checked_later"};
constexpr host_method<11, void(std::uint64_t)> void_throws{"void_throws"};
// Declared by both sides but served by nobody.
constexpr host_method<12, std::uint64_t(std::uint64_t)> not_served{"not_served"};
constexpr host_method<4000, std::uint64_t(std::uint64_t)> far_beyond{"far_beyond"};
constexpr enclave_method<1, std::uint64_t(std::uint64_t)> enclave_not_served{"enclave_not_served"};

TEST(errors_as_values, a_handler_error_reaches_the_caller_unchanged) {
    test::loopback lb;
    lb.host.serve(fail_with, [](std::uint16_t code) -> expected<std::uint64_t> {
        if (code == 0) return 7;
        return unexpected(static_cast<errc>(code));
    });
    // Every code of the async, rpc and sys ranges travels as itself.
    for (const errc e :
         {errc::cancelled, errc::deadline_exceeded, errc::broken_promise, errc::rpc_unknown_method,
          errc::rpc_decode, errc::rpc_overloaded, errc::rpc_handler_failed, errc::sys_bad_result}) {
        auto r = lb.run(lb.enclave.call(fail_with, static_cast<std::uint16_t>(e)));
        EXPECT_EQ(error_of(r), e) << "handler returned " << to_string(e);
    }
    // A code outside the contract of a reply (ring faults, platform codes,
    // values no layer defines) arrives as rpc_result_out_of_contract.
    for (const std::uint16_t code : {std::uint16_t(101), std::uint16_t(125), std::uint16_t(401),
                                     std::uint16_t(299), std::uint16_t(9999)}) {
        auto r = lb.run(lb.enclave.call(fail_with, code));
        EXPECT_EQ(error_of(r), errc::rpc_result_out_of_contract)
            << "handler returned code " << code;
    }
    auto ok = lb.run(lb.enclave.call(fail_with, std::uint16_t{0}));
    ASSERT_EQ(error_of(ok), errc::ok);
    EXPECT_EQ(*ok, 7u);
    EXPECT_EQ(lb.host.stats().calls_served, 14u);
    EXPECT_EQ(lb.enclave.stats().replies_received, 14u);
    EXPECT_EQ(lb.enclave.outstanding_calls(), 0u);
}

TEST(errors_as_values, a_handler_that_throws_answers_handler_failed_and_the_server_goes_on) {
    test::loopback lb;
    lb.host.serve(fragile, [](std::uint64_t x) -> std::uint64_t {
        if (x % 3 == 0) throw std::runtime_error("multiples of three are not served");
        if (x % 3 == 1) throw 42;  // not even a std::exception
        return x * 10;
    });
    lb.host.serve(fragile_later, [&](std::uint64_t x) -> async::task<std::uint64_t> {
        (void)co_await lb.h.ex.sleep_for(100);
        if (x % 2 == 0) throw std::runtime_error("even numbers are not served either");
        co_return x * 100;
    });
    for (std::uint64_t x = 0; x < 12; ++x) {
        auto r = lb.run(lb.enclave.call(fragile, x));
        if (x % 3 == 2) {
            ASSERT_EQ(error_of(r), errc::ok) << "fragile(" << x << ")";
            EXPECT_EQ(*r, x * 10) << "fragile(" << x << ")";
        } else {
            EXPECT_EQ(error_of(r), errc::rpc_handler_failed) << "fragile(" << x << ")";
        }
        auto later = lb.run(lb.enclave.call(fragile_later, x));
        if (x % 2 == 1) {
            ASSERT_EQ(error_of(later), errc::ok) << "fragile_later(" << x << ")";
            EXPECT_EQ(*later, x * 100) << "fragile_later(" << x << ")";
        } else {
            EXPECT_EQ(error_of(later), errc::rpc_handler_failed) << "fragile_later(" << x << ")";
        }
    }
    EXPECT_EQ(lb.host.stats().calls_served, 24u);
    EXPECT_EQ(lb.host.serving(), 0u);
    EXPECT_EQ(lb.h.ex.stats().failures, 0u) << "a handler's exception escaped to the executor";
}

TEST(errors_as_values, a_method_nobody_serves_answers_unknown_method) {
    test::loopback lb;
    lb.host.serve(fragile, [](std::uint64_t x) { return x; });  // id 2: the table has ids 0..2
    lb.host.serve(held, [](std::uint64_t x) { return x; });     // id 6: 3..5 are holes
    auto hole =
        lb.run(lb.enclave.call(fail_with, std::uint16_t{1}));  // id 1, below the served ones
    EXPECT_EQ(error_of(hole), errc::rpc_unknown_method);
    auto gap = lb.run(lb.enclave.call(asks_enclave, 1));  // id 5, between them
    EXPECT_EQ(error_of(gap), errc::rpc_unknown_method);
    auto above = lb.run(lb.enclave.call(not_served, 1));  // id 12, past the end of the table
    EXPECT_EQ(error_of(above), errc::rpc_unknown_method);
    auto far = lb.run(lb.enclave.call(far_beyond, 1));
    EXPECT_EQ(error_of(far), errc::rpc_unknown_method);
    // The other direction: the enclave serves nothing at all.
    auto in = lb.run(lb.host.call(enclave_not_served, 1));
    EXPECT_EQ(error_of(in), errc::rpc_unknown_method);
    EXPECT_EQ(lb.host.stats().unknown_methods, 4u);
    EXPECT_EQ(lb.enclave.stats().unknown_methods, 1u);
    // Served methods still work.
    auto fine = lb.run(lb.enclave.call(held, 5));
    ASSERT_EQ(error_of(fine), errc::ok);
    EXPECT_EQ(*fine, 5u);
}

TEST(errors_as_values, a_coroutine_handler_that_awaits_and_then_fails) {
    test::loopback lb;
    lb.host.serve(slow_error, [&](std::uint64_t x) -> async::task<expected<std::string>> {
        (void)co_await lb.h.ex.sleep_for(1'000);
        co_await lb.h.ex.schedule();
        if (x == 0) co_return unexpected(errc::sys_bad_result);
        co_return std::string(x, 'y');
    });
    // A handler whose own call to the other side fails passes that error on.
    lb.host.serve(asks_enclave, [&](std::uint64_t x) -> async::task<expected<std::uint64_t>> {
        auto inner = co_await lb.host.call(enclave_not_served, x);
        if (!inner) co_return unexpected(inner.error());
        co_return *inner + 1;
    });
    auto bad = lb.run(lb.enclave.call(slow_error, 0));
    EXPECT_EQ(error_of(bad), errc::sys_bad_result);
    auto good = lb.run(lb.enclave.call(slow_error, 3));
    ASSERT_EQ(error_of(good), errc::ok);
    EXPECT_EQ(*good, "yyy");
    auto passed_on = lb.run(lb.enclave.call(asks_enclave, 1));
    EXPECT_EQ(error_of(passed_on), errc::rpc_unknown_method);
    EXPECT_EQ(lb.host.stats().calls_served, 3u);
}

TEST(errors_as_values, void_methods_succeed_and_fail_as_values) {
    test::loopback lb;
    std::vector<std::uint64_t> seen;
    lb.host.serve(void_sync, [&](std::uint64_t x) { seen.push_back(x); });
    lb.host.serve(void_coroutine, [&](std::uint64_t x) -> async::task<void> {
        co_await lb.h.ex.schedule();
        seen.push_back(x);
    });
    lb.host.serve(void_checked, [&](std::uint64_t x) -> expected<void> {
        if (x == 0) return unexpected(errc::sys_bad_result);
        seen.push_back(x);
        return {};
    });
    lb.host.serve(void_checked_later, [&](std::uint64_t x) -> async::task<expected<void>> {
        (void)co_await lb.h.ex.sleep_for(10);
        if (x == 0) co_return unexpected(errc::deadline_exceeded);
        seen.push_back(x);
        co_return expected<void>();
    });
    lb.host.serve(void_throws, [](std::uint64_t) -> async::task<void> {
        throw std::runtime_error("void, and still failing");
        co_return;
    });

    EXPECT_EQ(error_of(lb.run(lb.enclave.call(void_sync, 1))), errc::ok);
    EXPECT_EQ(error_of(lb.run(lb.enclave.call(void_coroutine, 2))), errc::ok);
    EXPECT_EQ(error_of(lb.run(lb.enclave.call(void_checked, 3))), errc::ok);
    EXPECT_EQ(error_of(lb.run(lb.enclave.call(void_checked, 0))), errc::sys_bad_result);
    EXPECT_EQ(error_of(lb.run(lb.enclave.call(void_checked_later, 4))), errc::ok);
    EXPECT_EQ(error_of(lb.run(lb.enclave.call(void_checked_later, 0))), errc::deadline_exceeded);
    EXPECT_EQ(error_of(lb.run(lb.enclave.call(void_throws, 5))), errc::rpc_handler_failed);
    EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3, 4}));
    EXPECT_EQ(lb.host.stats().calls_served, 7u);
}

// One call, recording when its result arrived relative to the others.
async::task<expected<std::uint64_t>> call_and_note(test::loopback& lb, std::uint64_t x,
                                                   std::vector<std::uint64_t>& order,
                                                   std::vector<std::size_t>& serving_then) {
    auto r = co_await lb.enclave.call(held, x);
    order.push_back(x);
    serving_then.push_back(lb.host.serving());
    co_return r;
}

TEST(errors_as_values, an_overloaded_server_answers_overloaded_and_drops_nothing) {
    constexpr std::size_t max_serving = 4;
    rpc::endpoint_options options;
    options.max_serving = max_serving;
    test::loopback lb(1 << 14, options);
    test::gate busy(lb.h.ex);
    std::size_t started = 0;
    lb.host.serve(held, [&](std::uint64_t x) -> async::task<std::uint64_t> {
        ++started;
        (void)co_await busy.wait();
        co_return x + 1000;
    });
    // One more call than the server runs at once; when the last of them is
    // answered, open the gate so the others finish too.
    std::vector<std::uint64_t> order;
    std::vector<std::size_t> serving_then;
    auto calls = [&]() -> async::task<std::vector<expected<std::uint64_t>>> {
        std::vector<async::task<expected<std::uint64_t>>> tasks;
        for (std::uint64_t x = 0; x <= max_serving; ++x)
            tasks.push_back(call_and_note(lb, x, order, serving_then));
        auto opener = [&]() -> async::task<void> {
            while (order.empty())
                co_await lb.h.ex.schedule();
            busy.open();
        };
        auto [results, unused] =
            co_await async::when_all_settled(async::when_all_settled(std::move(tasks)), opener());
        (void)unused;
        co_return std::move(results);
    };
    auto results = lb.run(calls());

    ASSERT_EQ(results.size(), max_serving + 1);
    for (std::uint64_t x = 0; x < max_serving; ++x) {
        ASSERT_EQ(error_of(results[x]), errc::ok) << "call " << x;
        EXPECT_EQ(*results[x], x + 1000) << "call " << x;
    }
    EXPECT_EQ(error_of(results[max_serving]), errc::rpc_overloaded) << "the call past max_serving";
    // The refusal came back at once, while the others were still being served.
    ASSERT_EQ(order.size(), max_serving + 1);
    EXPECT_EQ(order.front(), max_serving) << "first result to arrive";
    EXPECT_EQ(serving_then.front(), max_serving) << "handlers running when the refusal arrived";
    EXPECT_EQ(started, max_serving);
    EXPECT_EQ(lb.host.stats().overloaded, 1u);
    EXPECT_EQ(lb.host.stats().calls_served, max_serving);
    EXPECT_EQ(lb.host.serving(), 0u);
    EXPECT_EQ(lb.enclave.stats().replies_received, max_serving + 1) << "every call was answered";
    EXPECT_EQ(lb.enclave.stats().replies_dropped, 0u);

    // With room again, the server takes calls as before.
    auto again = lb.run([&]() -> async::task<expected<std::uint64_t>> {
        co_return co_await lb.enclave.call(held, 77);
    }());
    ASSERT_EQ(error_of(again), errc::ok);
    EXPECT_EQ(*again, 1077u);
}

}  // namespace
