// SPDX-License-Identifier: Apache-2.0
// Description: the enclave reads the host's clocks from the link's words
// without a round trip, close to the host's own clocks; a clock word that
// goes backwards or stays torn faults the clock; random bytes come from the
// CPU and differ between calls.
#include <gtest/gtest.h>
#include <time.h>

#include <array>

#include "airlock/platform/enclave.hh"
#include "airlock/platform/futex_wait.hh"
#include "airlock/ring/shared_memory.hh"
#include "airlock/sys/clock.hh"
#include "airlock/sys/random.hh"
#include "airlock/sys/service.hh"
#include "sys/link_words.hh"

namespace {

using namespace airlock;
using ring::shared;

using test::link_words;

std::uint64_t now(clockid_t id) {
    return test::host_clock_ns(id);
}

TEST(sys_clock, the_service_keeps_the_clock_words_current) {
    link_words w;
    auto svc = sys::service::start({w.link}, platform::futex_wait_hooks::instance());
    ASSERT_TRUE(svc.has_value()) << to_string(svc.error());
    sys::clock c(w.link);
    auto m = c.monotonic_ns();
    auto r = c.realtime_ns();
    ASSERT_TRUE(m.has_value() && r.has_value());
    // The words were written no later than now: ordering only, no timing.
    EXPECT_LE(*m, now(CLOCK_MONOTONIC));
    EXPECT_LE(*r, now(CLOCK_REALTIME));
    EXPECT_GT(*m, 0u);
    EXPECT_GT(*r, std::uint64_t{1'600'000'000} * 1'000'000'000) << "a realtime after 2020";
    std::uint64_t last = *m;
    for (int i = 0; i < 1000; ++i) {
        auto again = c.monotonic_ns();
        ASSERT_TRUE(again.has_value());
        EXPECT_GE(*again, last);
        last = *again;
    }
}

TEST(sys_clock, a_clock_that_goes_backwards_faults) {
    link_words w;
    sys::clock c(w.link);
    w.write(2, 5'000, 7'000);
    auto a = c.monotonic_ns();
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(*a, 5'000u);
    w.write(4, 4'000, 8'000);
    auto b = c.monotonic_ns();
    ASSERT_FALSE(b.has_value());
    EXPECT_EQ(b.error().code, errc::sys_bad_clock);
    w.write(6, 9'000, 9'000);
    EXPECT_FALSE(c.realtime_ns().has_value()) << "the fault is sticky";
}

TEST(sys_clock, a_clock_that_stays_torn_faults) {
    link_words w;
    sys::clock c(w.link);
    w.write(3, 5'000, 7'000);  // odd: the host never finishes writing
    auto a = c.realtime_ns();
    ASSERT_FALSE(a.has_value());
    EXPECT_EQ(a.error().code, errc::sys_bad_clock);
}

TEST(sys_random, bytes_come_from_the_cpu) {
    std::array<std::byte, 64> a{}, b{};
    auto ra = sys::random_bytes(a);
    if (!ra) GTEST_SKIP() << "no RDRAND on this CPU";
    ASSERT_TRUE(sys::random_bytes(b).has_value());
    EXPECT_NE(a, b);
    std::array<std::byte, 13> odd{};
    EXPECT_TRUE(sys::random_bytes(odd).has_value());
    auto u = sys::random_u64();
    auto v = sys::random_u64();
    ASSERT_TRUE(u.has_value() && v.has_value());
    EXPECT_NE(*u, *v);
}

}  // namespace
