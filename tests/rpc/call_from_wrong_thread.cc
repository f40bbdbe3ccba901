// SPDX-License-Identifier: Apache-2.0
// Description: a call made through an endpoint from a thread that is not
// its executor's, or made on the owner thread and awaited on another (a
// coroutine that hopped), is refused with rpc_wrong_thread and touches
// nothing: the ring stays as it was and the endpoint goes on serving its
// own thread (release builds; a debug build aborts at the mistake).
#include <thread>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/futex_wait.hh"
#include "rpc/call_checks.hh"
#include "rpc/hostile_host.hh"

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::error_of;

TEST(call_from_wrong_thread, is_refused_and_leaves_the_ring_alone) {
#ifndef NDEBUG
    GTEST_SKIP() << "debug builds abort on this mistake (AIRLOCK_DCHECK)";
#endif
    test::hostile_host f;
    expected<std::uint64_t> result = unexpected(errc::ok);
    std::thread other([&] {
        ring::wire::doorbell bell{};
        async::executor ex(bell, platform::futex_wait_hooks::instance());
        result = async::sync_wait(ex, f.enclave().call(lookup, 5));
    });
    other.join();
    EXPECT_EQ(error_of(result), errc::rpc_wrong_thread);
    f.settle();
    EXPECT_FALSE(f.ch.take().has_value()) << "the foreign call wrote into the ring";
    EXPECT_EQ(f.enclave().stats().calls_sent, 0u);

    // The owner thread still calls as before.
    auto out = f.start(f.enclave().call(lookup, 6));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    f.ch.send_reply(c->id, 0, test::encoded(std::uint64_t{60}));
    f.settle();
    ASSERT_TRUE(out->done());
    EXPECT_EQ(**out->value, 60u);
}

TEST(call_from_wrong_thread, awaited_on_another_thread_is_refused_and_leaves_the_ring_alone) {
#ifndef NDEBUG
    GTEST_SKIP() << "debug builds abort on this mistake (AIRLOCK_DCHECK)";
#endif
    test::hostile_host f;
    auto made_here = f.enclave().call(lookup, 5);  // on the owner thread
    async::task<expected<std::uint64_t>> as_task = f.enclave().call(lookup, 7);
    expected<std::uint64_t> result = unexpected(errc::ok);
    expected<std::uint64_t> task_result = unexpected(errc::ok);
    std::thread other([&] {
        ring::wire::doorbell bell{};
        async::executor ex(bell, platform::futex_wait_hooks::instance());
        result = async::sync_wait(ex, std::move(made_here));
        task_result = async::sync_wait(ex, std::move(as_task));
    });
    other.join();
    EXPECT_EQ(error_of(result), errc::rpc_wrong_thread);
    EXPECT_EQ(error_of(task_result), errc::rpc_wrong_thread);
    f.settle();  // the calls' holds on the endpoint come back here
    EXPECT_FALSE(f.ch.take().has_value()) << "a call awaited elsewhere wrote into the ring";
    EXPECT_EQ(f.enclave().stats().calls_sent, 0u);
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);

    auto out = f.start(f.enclave().call(lookup, 6));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->args, test::encoded(std::uint64_t{6}));
    f.ch.send_reply(c->id, 0, test::encoded(std::uint64_t{60}));
    f.settle();
    ASSERT_TRUE(out->done());
    EXPECT_EQ(**out->value, 60u);
}
