// SPDX-License-Identifier: Apache-2.0
// Description: the liveness check both platforms run, on an injected clock: an idle channel is
// never stalled, however long; a call left unread with no progress is, once the bound has passed;
// any progress restarts the clock.
#include <gtest/gtest.h>

#include <cstdint>

#include "../../src/platform/enclave_internal.hh"
#include "airlock/platform/enclave.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

constexpr std::uint64_t bound = 1'000'000'000;

// One channel's two rings, and the words the check reads.
struct channel_rings {
    test::test_region region{{4096, 4096}};
    ring::wire::ring_control& in() {
        return *region.region().ring(platform::host_to_enclave_ring(0)).control;
    }
    ring::wire::ring_control& out() {
        return *region.region().ring(platform::enclave_to_host_ring(0)).control;
    }
};

TEST(liveness_check, an_idle_channel_is_never_stalled) {
    channel_rings r;
    platform::detail::liveness_check check(1);
    for (std::uint64_t now = 1; now < 100 * bound; now += bound / 2)
        EXPECT_FALSE(check.check(r.region.region(), now, bound).has_value()) << now;
}

TEST(liveness_check, a_call_left_unread_without_progress_is_a_stall_after_the_bound) {
    channel_rings r;
    platform::detail::liveness_check check(1);
    ring::shared::store_release(r.in().tail, 64);  // a call the enclave has not read
    EXPECT_FALSE(check.check(r.region.region(), 10, bound).has_value());
    EXPECT_FALSE(check.check(r.region.region(), 10 + bound - 1, bound).has_value());
    const auto s = check.check(r.region.region(), 10 + bound, bound);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->channel, 0u);
    EXPECT_EQ(s->for_ns, bound);
}

TEST(liveness_check, progress_either_way_restarts_the_clock) {
    channel_rings r;
    platform::detail::liveness_check check(1);
    ring::shared::store_release(r.in().tail, 128);
    EXPECT_FALSE(check.check(r.region.region(), 10, bound).has_value());
    ring::shared::store_release(r.in().head, 64);  // the enclave read a call
    EXPECT_FALSE(check.check(r.region.region(), 10 + bound, bound).has_value());
    ring::shared::store_release(r.out().tail, 64);  // and answered it
    EXPECT_FALSE(check.check(r.region.region(), 10 + 2 * bound, bound).has_value());
    EXPECT_TRUE(check.check(r.region.region(), 10 + 3 * bound, bound).has_value());
}

}  // namespace
