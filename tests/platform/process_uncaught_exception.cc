// SPDX-License-Identifier: Apache-2.0
// Description: an exception that reaches std::terminate inside the sealed
// enclave ends it with a report naming the exception, not a forbidden
// system call, and fails its channels with enclave_died. (An uncaught
// std::bad_alloc: process_memory_budget.cc.)
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

[[noreturn, gnu::noinline]] void give_up() {
    throw std::runtime_error("the handler gave up");
}

// The exception cannot leave: std::terminate.
void give_up_noexcept() noexcept {
    give_up();
}

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> echo{"echo"};
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> give_up_call{"give_up"};

void program(platform::enclave_thread& t) {
    t.host.serve(echo, [](std::uint64_t x) { return x; });
    t.host.serve(give_up_call, [](std::uint64_t) -> std::uint64_t {
        give_up_noexcept();
        return 0;
    });
}

TEST(process_uncaught_exception, the_report_names_the_exception) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(::airlock::platform::platform_kind::process);
    auto e = platform::enclave::create(test::process_config(), program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60), "a call that ends the enclave");
    auto ch = (*e)->open_channel(0);
    auto& ep = ch->endpoint();
    ASSERT_TRUE(async::sync_wait(ch->executor(), ep.call(echo, 1)).has_value());
    auto r = async::sync_wait(ch->executor(), ep.call(give_up_call, 0));
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::rpc_channel_faulted) << to_string(r.error());
    EXPECT_EQ(ep.ring_fault(), errc::enclave_died) << to_string(ep.ring_fault());
    EXPECT_EQ((*e)->failure(), errc::enclave_died) << to_string((*e)->failure());
    const std::string why = (*e)->diagnostic();
    EXPECT_NE(why.find("called std::terminate"), std::string::npos) << why;
    EXPECT_NE(why.find("uncaught exception: the handler gave up"), std::string::npos) << why;
    EXPECT_EQ(why.find("forbids"), std::string::npos) << why;
}

}  // namespace
