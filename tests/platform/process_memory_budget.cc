// SPDX-License-Identifier: Apache-2.0
// Description: the enclave cannot allocate past its memory budget: the
// allocation fails inside the enclave (bad_alloc, answered as a value), the
// enclave goes on serving, and allocations within the budget still work; a
// handler that lets the bad_alloc escape (plain or coroutine) answers its
// caller enclave_memory_exhausted as a value and the enclave goes on; a
// bad_alloc that escapes a noexcept function ends the enclave with
// enclave_memory_exhausted.
#include <gtest/gtest.h>

#include <memory>
#include <new>
#include <string>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/task.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

// Allocates and touches `bytes` in the enclave; false when that fails.
constexpr rpc::enclave_method<1, bool(std::uint64_t)> try_allocate{"try_allocate"};
// The same where no exception may leave (std::terminate when it fails).
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> allocate_noexcept{
    "allocate_noexcept"};

// The same as a handler that catches nothing: the bad_alloc leaves it.
constexpr rpc::enclave_method<3, std::uint64_t(std::uint64_t)> allocate{"allocate"};
// And as a coroutine handler, after a suspension.
constexpr rpc::enclave_method<4, std::uint64_t(std::uint64_t)> allocate_later{"allocate_later"};

std::uint64_t touch(std::uint64_t bytes) {
    std::vector<std::byte> v(bytes, std::byte{1});
    return static_cast<std::uint64_t>(v[bytes - 1]);
}

std::uint64_t touch_noexcept(std::uint64_t bytes) noexcept {
    std::vector<std::byte> v(bytes, std::byte{1});
    return static_cast<std::uint64_t>(v[bytes - 1]);
}

void program(platform::enclave_thread& t) {
    t.host.serve(try_allocate, [](std::uint64_t bytes) {
        try {
            auto* p = new std::byte[bytes];
            for (std::uint64_t i = 0; i < bytes; i += 4096)
                p[i] = std::byte{1};
            // The compiler may not elide an allocation whose address escapes.
            asm volatile("" : : "r"(p) : "memory");
            delete[] p;
            return true;
        } catch (const std::bad_alloc&) {
            return false;
        }
    });
    t.host.serve(allocate_noexcept, [](std::uint64_t bytes) { return touch_noexcept(bytes); });
    t.host.serve(allocate, [](std::uint64_t bytes) { return touch(bytes); });
    t.host.serve(allocate_later, [&t](std::uint64_t bytes) -> async::task<std::uint64_t> {
        co_await t.executor.schedule();  // resumes in a later round
        co_return touch(bytes);
    });
}

// A process enclave running `program` with a 16 MiB memory budget; skipped
// where the budget cannot be measured.
class process_memory_budget : public testing::Test {
  protected:
    void SetUp() override {
        AIRLOCK_SKIP_PROCESS_UNDER_TSAN(::airlock::platform::platform_kind::process);
        if (test::sanitized_build)
            GTEST_SKIP()
                << "a sanitizer's allocator maps its own memory: the fixed heap is glibc's";
        platform::enclave_config config = test::process_config();
        config.enclave_memory = std::size_t{16} << 20;
        auto created = platform::enclave::create(config, program);
        ASSERT_TRUE(created.has_value()) << to_string(created.error());
        e = std::move(*created);
    }

    std::unique_ptr<platform::enclave> e;
};

TEST_F(process_memory_budget, allocation_past_the_budget_fails_inside_the_enclave) {
    test::watchdog dog(std::chrono::seconds(60), "memory budget");
    auto ch = e->open_channel(0);
    auto call = [&](std::uint64_t bytes) {
        return async::sync_wait(ch->executor(), ch->endpoint().call(try_allocate, bytes));
    };
    auto small = call(std::uint64_t{1} << 20);
    ASSERT_TRUE(small.has_value()) << to_string(small.error());
    EXPECT_TRUE(*small) << "1 MiB fits in a 16 MiB budget";
    auto big = call(std::uint64_t{64} << 20);
    ASSERT_TRUE(big.has_value()) << to_string(big.error()) << " " << e->diagnostic();
    EXPECT_FALSE(*big) << "64 MiB does not";
    auto again = call(std::uint64_t{1} << 20);
    ASSERT_TRUE(again.has_value()) << to_string(again.error());
    EXPECT_TRUE(*again) << "the enclave goes on";
    EXPECT_EQ(e->failure(), errc::ok) << e->diagnostic();
}

TEST_F(process_memory_budget, a_handler_that_runs_out_answers_memory_exhausted_as_a_value) {
    test::watchdog dog(std::chrono::seconds(60), "a handler out of memory");
    auto ch = e->open_channel(0);
    auto& ep = ch->endpoint();
    auto check = [&](const auto& method) {
        auto small = async::sync_wait(ch->executor(), ep.call(method, 4096));
        ASSERT_TRUE(small.has_value()) << method.name << ": " << to_string(small.error());
        EXPECT_EQ(*small, 1u) << method.name;
        auto big = async::sync_wait(ch->executor(), ep.call(method, std::uint64_t{64} << 20));
        ASSERT_FALSE(big.has_value()) << method.name << ": 64 MiB fit in a 16 MiB budget";
        EXPECT_EQ(big.error(), errc::enclave_memory_exhausted)
            << method.name << ": " << to_string(big.error()) << " " << e->diagnostic();
        auto again = async::sync_wait(ch->executor(), ep.call(method, 4096));
        ASSERT_TRUE(again.has_value()) << method.name << ": " << to_string(again.error());
        EXPECT_EQ(*again, 1u) << method.name << ": the enclave goes on";
    };
    check(allocate);
    check(allocate_later);
    EXPECT_EQ(ep.ring_fault(), errc::ok) << to_string(ep.ring_fault());
    EXPECT_EQ(e->failure(), errc::ok) << e->diagnostic();
}

TEST_F(process_memory_budget, an_uncaught_bad_alloc_is_reported_as_the_budget_running_out) {
    test::watchdog dog(std::chrono::seconds(60), "an uncaught bad_alloc");
    auto ch = e->open_channel(0);
    auto& ep = ch->endpoint();
    auto small = async::sync_wait(ch->executor(), ep.call(allocate_noexcept, 4096));
    ASSERT_TRUE(small.has_value()) << to_string(small.error());
    auto big =
        async::sync_wait(ch->executor(), ep.call(allocate_noexcept, std::uint64_t{64} << 20));
    ASSERT_FALSE(big.has_value());
    EXPECT_EQ(big.error(), errc::rpc_channel_faulted) << to_string(big.error());
    EXPECT_EQ(ep.ring_fault(), errc::enclave_memory_exhausted) << to_string(ep.ring_fault());
    EXPECT_EQ(e->failure(), errc::enclave_memory_exhausted) << to_string(e->failure());
    const std::string why = e->diagnostic();
    EXPECT_NE(why.find("ran out of its memory budget"), std::string::npos) << why;
    EXPECT_NE(why.find("uncaught std::bad_alloc"), std::string::npos) << why;
    EXPECT_EQ(why.find("forbids"), std::string::npos) << why;
}

}  // namespace
