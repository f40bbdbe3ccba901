// SPDX-License-Identifier: Apache-2.0
// Description: an endpoint that hands its channel over (endpoint_base::
// hand_over) leaves the next endpoint of its side where it stopped: what the
// peer sent and the last one did not read is read by the next; a reply to
// the last one's call is dropped as stale, never taken for a new call's; a
// pool buffer the peer gives back late is taken back; a message half
// streamed is abandoned and the next goes through; a call in flight is
// cancelled at the peer, a call being served is answered broken_promise,
// and a faulted channel stays faulted. (A second host channel
// used to start its rings at zero: its first call was never seen and it
// read the last one's reply again.)
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "airlock/async/event.hh"
#include "airlock/base/error.hh"
#include "rpc/rpc_support.hh"

namespace {

using namespace airlock;
using airlock::async::task;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> plus_one{"plus_one"};
// Answers with the argument's size once the test opens the gate.
constexpr rpc::enclave_method<2, std::uint64_t(std::vector<std::byte>)> gated_size{"gated_size"};
constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> host_twice{"host_twice"};

constexpr std::size_t ring_bytes = std::size_t{1} << 14;
constexpr std::size_t pool_bytes = std::size_t{1} << 20;

template <class T>
void expect_broken_promise(const expected<T>& r) {
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::broken_promise) << to_string(r.error());
}

// The host endpoint comes and goes; the enclave's stays. The first host
// endpoint is built before the enclave's, so in each round it polls first:
// what the enclave writes in a round waits in the ring until the next.
struct handover_fixture {
    handover_fixture() : region({ring_bytes, ring_bytes}, 0, {pool_bytes, pool_bytes}) {
        open_host(nullptr);
        enclave.emplace(
            h.ex, region.ring(test::enclave_to_host_ring), region.ring(test::host_to_enclave_ring),
            rpc::endpoint_wiring{&h.hooks, &h.bell, region.pool(test::enclave_to_host_ring),
                                 region.pool(test::host_to_enclave_ring)},
            rpc::endpoint_options{});
        enclave->serve(plus_one, [](std::uint64_t x) { return x + 1; });
        enclave->serve(gated_size,
                       [this](std::vector<std::byte> v) -> task<expected<std::uint64_t>> {
                           (void)co_await gate.wait();
                           co_return v.size();
                       });
    }
    void open_host(rpc::endpoint_handover* left) {
        host.emplace(
            h.ex, region.ring(test::host_to_enclave_ring), region.ring(test::enclave_to_host_ring),
            rpc::endpoint_wiring{&h.hooks, &h.bell, region.pool(test::host_to_enclave_ring),
                                 region.pool(test::enclave_to_host_ring)},
            rpc::endpoint_options{}, left);
    }
    // Replaces the host endpoint by one that goes on from its handover.
    void reopen_host() {
        rpc::endpoint_handover left = host->hand_over();
        host.reset();
        open_host(&left);
    }
    // Starts `t` on the executor; its result lands in the optional returned.
    template <class T>
    std::shared_ptr<std::optional<T>> start(task<T> t) {
        auto out = std::make_shared<std::optional<T>>();
        h.ex.spawn([](task<T> inner, std::shared_ptr<std::optional<T>> o) -> task<void> {
            o->emplace(co_await std::move(inner));
        }(std::move(t), out));
        return out;
    }
    template <async::awaitable A>
    requires(!async::detail::is_task_v<std::remove_cvref_t<A>>) auto start(A&& operation) {
        return start(async::as_task(std::forward<A>(operation)));
    }
    // Runs the executor until what `start` returned has its result.
    template <class T>
    T& wait(const std::shared_ptr<std::optional<T>>& out) {
        h.ex.run_until([&] { return out->has_value(); });
        return **out;
    }
    // Runs the executor until `operation` completes and returns its result.
    template <class A>
    auto run(A&& operation) {
        return std::move(wait(start(std::forward<A>(operation))));
    }

    // Neither side has faulted.
    void expect_healthy() const {
        EXPECT_EQ(host->fault(), errc::ok) << to_string(host->fault());
        EXPECT_EQ(enclave->fault(), errc::ok) << to_string(enclave->fault());
    }

    test::harness h;
    test::test_region region;
    async::async_event gate;
    std::optional<rpc::endpoint<rpc::side::host>> host;
    std::optional<rpc::endpoint<rpc::side::enclave>> enclave;
};

TEST(endpoint_handover, the_next_endpoint_answers_its_first_call_right) {
    handover_fixture f;
    for (std::uint64_t round = 0; round < 5; ++round) {
        auto r = f.run(f.host->call(plus_one, 10 * round));
        ASSERT_TRUE(r.has_value()) << to_string(r.error());
        EXPECT_EQ(*r, 10 * round + 1) << "round " << round;
        f.reopen_host();
    }
    EXPECT_EQ(f.enclave->stats().calls_served, 5u);
    EXPECT_EQ(f.host->stats().replies_dropped, 0u);
    f.expect_healthy();
}

TEST(endpoint_handover, a_late_reply_is_dropped) {
    handover_fixture f;
    // The enclave answers in the round after the host endpoint polled: the
    // reply waits in the ring when the host hands over.
    auto last = f.start(f.host->call(plus_one, 5));
    f.h.ex.run_until([&] { return f.enclave->stats().calls_served == 1; });
    f.reopen_host();
    const auto& done = f.wait(last);
    expect_broken_promise(done);

    auto r = f.run(f.host->call(plus_one, 41));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, 42u) << "not the last endpoint's 6";
    EXPECT_EQ(f.host->stats().replies_dropped, 1u);
    EXPECT_EQ(f.host->stats().replies_received, 1u);
    f.expect_healthy();
}

TEST(endpoint_handover, a_late_pool_return_is_taken_back) {
    handover_fixture f;
    // A pooled argument (above the pool threshold) to a call that waits at
    // the gate: the enclave gives the buffer back at once, in the round
    // after the host endpoint polled.
    auto last = f.start(f.host->call(gated_size, std::vector<std::byte>(20'000)));
    f.h.ex.run_until([&] { return f.enclave->serving() == 1; });
    ASSERT_EQ(f.host->pool_buffers_out(), 1u) << "the return is still in the ring";
    f.reopen_host();
    const auto& done = f.wait(last);
    expect_broken_promise(done);

    auto r = f.run(f.host->call(plus_one, 41));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, 42u);
    EXPECT_EQ(f.host->pool_buffers_out(), 0u) << "the late return freed the buffer";
    f.expect_healthy();
}

TEST(endpoint_handover, what_the_peer_sent_meanwhile_is_read_by_the_next) {
    handover_fixture f;
    ASSERT_TRUE(f.run(f.host->call(plus_one, 1)).has_value());
    rpc::endpoint_handover left = f.host->hand_over();
    f.host.reset();
    // The enclave calls the host while no host endpoint exists.
    auto answer = f.start(f.enclave->call(host_twice, 21));
    f.h.ex.run_until([&] { return f.enclave->stats().calls_sent == 1; });
    f.open_host(&left);
    f.host->serve(host_twice, [](std::uint64_t x) { return 2 * x; });
    const auto& done = f.wait(answer);
    ASSERT_TRUE(done.has_value()) << to_string(done.error());
    EXPECT_EQ(*done, 42u);
    EXPECT_EQ(f.host->stats().calls_served, 1u);
}

TEST(endpoint_handover, a_message_half_streamed_is_abandoned_and_the_next_goes_through) {
    handover_fixture f;
    // Above host_pool_max with the enclave idle: the argument streams
    // through the 16 KiB ring, and a few rounds move only part of it.
    auto last = f.start(f.host->call(gated_size, std::vector<std::byte>(900'000)));
    for (int i = 0; i < 4; ++i)
        (void)f.h.ex.run_once();
    ASSERT_FALSE(last->has_value());
    ASSERT_EQ(f.host->stats().pool_capped, 1u) << "the argument streams";
    f.reopen_host();
    const auto& done = f.wait(last);
    EXPECT_FALSE(done.has_value());
    auto r = f.run(f.host->call(plus_one, 99));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, 100u);
    EXPECT_EQ(f.enclave->stats().calls_served, 1u) << "the abandoned call never reached a handler";
    f.expect_healthy();
}

TEST(endpoint_handover, a_faulted_channel_stays_faulted) {
    handover_fixture f;
    f.host->fail(errc::enclave_died);
    f.reopen_host();
    EXPECT_EQ(f.host->fault(), errc::rpc_channel_faulted);
    EXPECT_EQ(f.host->ring_fault(), errc::enclave_died) << to_string(f.host->ring_fault());
    auto r = f.run(f.host->call(plus_one, 1));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::rpc_channel_faulted) << to_string(r.error());
    EXPECT_EQ(f.enclave->stats().calls_served, 0u) << "nothing reached the enclave";
}

TEST(endpoint_handover, a_call_the_host_was_serving_is_answered_broken_promise) {
    handover_fixture f;
    async::async_event host_gate;
    f.host->serve(host_twice, [&](std::uint64_t x) -> task<expected<std::uint64_t>> {
        (void)co_await host_gate.wait();
        co_return 2 * x;
    });
    auto answer = f.start(f.enclave->call(host_twice, 21));
    f.h.ex.run_until([&] { return f.host->serving() == 1; });
    f.reopen_host();  // the handler is cancelled with the endpoint it ran for
    const auto& done = f.wait(answer);
    expect_broken_promise(done);
    f.host->serve(host_twice, [](std::uint64_t x) { return 2 * x; });
    auto second = f.run(f.enclave->call(host_twice, 4));
    ASSERT_TRUE(second.has_value()) << to_string(second.error());
    EXPECT_EQ(*second, 8u);
}

TEST(endpoint_handover, a_call_in_flight_is_cancelled_at_the_peer) {
    handover_fixture f;
    auto last = f.start(f.host->call(gated_size, std::vector<std::byte>(16)));
    f.h.ex.run_until([&] { return f.enclave->serving() == 1; });
    f.reopen_host();
    for (int round = 0; round < 20 && f.enclave->serving() != 0; ++round)
        (void)f.h.ex.run_once();
    ASSERT_EQ(f.enclave->serving(), 0u) << "the gated handler was cancelled";
    EXPECT_EQ(f.enclave->stats().cancels_received, 1u);
    EXPECT_EQ(f.host->stats().cancels_sent, 0u) << "the cancel was the last endpoint's";
    const auto& done = f.wait(last);
    EXPECT_EQ(done.error(), errc::broken_promise) << to_string(done.error());
    // A cancelled call is not answered; the channel goes on.
    auto r = f.run(f.host->call(plus_one, 1));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, 2u);
    EXPECT_EQ(f.host->stats().replies_dropped, 0u);
}

TEST(endpoint_handover, an_endpoint_destroyed_after_its_calls_let_go_touches_nothing_of_them) {
    // A call in flight holds the endpoint's lifeline; after the handover it
    // resumes (broken_promise) and lets go, the last holder, before the
    // handed-over endpoint is destroyed (ASan: a use after free of the
    // lifeline in the destructor, then a double delete, before the fix).
    handover_fixture f;
    auto last = f.start(f.host->call(gated_size, std::vector<std::byte>(16)));
    f.h.ex.run_until([&] { return f.enclave->serving() == 1; });
    rpc::endpoint_handover left = f.host->hand_over();
    expect_broken_promise(f.wait(last));
    for (int round = 0; round < 20; ++round)
        (void)f.h.ex.run_once();  // the call's frame goes
    f.host.reset();
    f.open_host(&left);
    auto r = f.run(f.host->call(plus_one, 1));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, 2u);
}

}  // namespace
