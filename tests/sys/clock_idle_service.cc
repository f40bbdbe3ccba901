// SPDX-License-Identifier: Apache-2.0
// Description: an idle sys service stops ticking (no wake-ups while nobody
// asks) and marks the clock stale; the next reading rings it and gets
// words written after it asked. A stale mark nobody answers is read as it
// is, after a bounded wait, and is not asked about again.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "airlock/platform/futex_wait.hh"
#include "airlock/sys/clock.hh"
#include "airlock/sys/service.hh"
#include "sys/link_words.hh"

namespace {

using namespace airlock;
using test::link_words;

TEST(sys_clock_idle, an_idle_service_stops_ticking_and_a_reading_wakes_it) {
    link_words w;
    ring::wait_hooks& hooks = platform::futex_wait_hooks::instance();
    sys::service_options o;
    o.tick_ns = 200'000;
    o.tickless_after = 4;
    auto svc = sys::service::start({w.link}, hooks, o);
    ASSERT_TRUE(svc.has_value()) << to_string(svc.error());
    sys::service& s = **svc;
    test::watchdog dog(std::chrono::seconds(60), "an idle service");
    while (s.stats().tickless_sleeps == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));

    // Ticking every 0.2 ms it would sleep about 100 times in 20 ms.
    const std::uint64_t sleeps = s.stats().sleeps;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_LE(s.stats().sleeps, sleeps + 1) << "a tickless service does not wake by itself";

    // Every word now was written before this instant.
    const std::uint64_t asked_at = test::host_clock_ns(CLOCK_MONOTONIC);
    sys::clock c(w.link, &hooks);
    auto m = c.monotonic_ns();
    ASSERT_TRUE(m.has_value()) << to_string(m.error());
    EXPECT_GE(*m, asked_at) << "the reading waited for words written after it asked";
}

TEST(sys_clock_idle, a_stale_clock_nobody_refreshes_is_read_as_it_is) {
    link_words w;
    sys::clock c(w.link, &platform::futex_wait_hooks::instance());
    test::watchdog dog(std::chrono::seconds(60), "a stale clock");
    w.write(4 | sys::wire::clock_stale, 5'000, 7'000);
    auto a = c.monotonic_ns();
    ASSERT_TRUE(a.has_value()) << to_string(a.error());
    EXPECT_EQ(*a, 5'000u);
    auto b = c.realtime_ns();  // the same stale sequence: read at once
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(*b, 7'000u);
    w.write(6, 6'000, 8'000);
    auto later = c.monotonic_ns();
    ASSERT_TRUE(later.has_value());
    EXPECT_EQ(*later, 6'000u);
    EXPECT_EQ(c.fault(), errc::ok);
}

}  // namespace
