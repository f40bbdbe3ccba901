// SPDX-License-Identifier: Apache-2.0
// Description: the measured synchronous transition of the process platform
// is a real round trip into the enclave process (it answers value + 1, call
// after call); sim has only the modelled one and says so.
#include <gtest/gtest.h>

#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

void program(platform::enclave_thread&) {}

TEST(process_transition, round_trips_reach_the_enclave_process) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(::airlock::platform::platform_kind::process);
    auto e = platform::enclave::create(test::process_config(), program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60), "measured transition");
    for (std::uint64_t v = 0; v < 2000; v += 7) {
        auto r = (*e)->transition_round_trip(v);
        ASSERT_TRUE(r.has_value()) << to_string(r.error());
        ASSERT_EQ(*r, v + 1);
    }
}

TEST(process_transition, sim_has_only_the_modelled_transition) {
    platform::enclave_config config;
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    auto r = (*e)->transition_round_trip(1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), errc::platform_unavailable);
}

}  // namespace
