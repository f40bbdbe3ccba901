// SPDX-License-Identifier: Apache-2.0
// Description: every errc has a distinct name, converts to std::error_code,
// and only the fault group is sticky.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "airlock/base/error.hh"

using airlock::errc;

TEST(errors, every_code_has_a_unique_name) {
    std::set<std::string> names;
    int named = 0;
    for (int v = 0; v < 1000; ++v) {
        const auto name = airlock::to_string(static_cast<errc>(v));
        if (name == "unknown_airlock_error") continue;
        ++named;
        EXPECT_TRUE(names.insert(std::string(name)).second) << "duplicate name " << name;
    }
    EXPECT_GE(named, 30);
    EXPECT_EQ(airlock::to_string(errc::ring_full), "ring_full");
}

TEST(errors, converts_to_error_code) {
    std::error_code ec = errc::fault_tail_rewound;
    EXPECT_EQ(ec.category().name(), std::string("airlock"));
    EXPECT_EQ(ec.value(), 121);
    EXPECT_EQ(ec.message(), "fault_tail_rewound");
}

TEST(errors, only_faults_are_sticky) {
    EXPECT_TRUE(airlock::is_fault(errc::fault_record_header));
    EXPECT_TRUE(airlock::is_fault(errc::rpc_channel_faulted));
    EXPECT_FALSE(airlock::is_fault(errc::ring_full));
    EXPECT_FALSE(airlock::is_fault(errc::ring_empty));
    EXPECT_FALSE(airlock::is_fault(errc::region_bad_magic));
}
