// SPDX-License-Identifier: Apache-2.0
// Description: geometries outside the capacity and count limits are refused everywhere.
#include <cstdint>
#include <cstring>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::aligned_memory;

namespace {

// Every entry point must refuse a bad geometry the same way, and format must
// not touch the memory it was given.
void expect_refused(const region_geometry& g, const char* what) {
    EXPECT_EQ(region::required_size(g).error(), errc::invalid_argument) << what;
    aligned_memory mem(8192);
    std::memset(mem.data(), 0x5A, mem.size());
    EXPECT_EQ(region::format(mem.span(), g).error(), errc::invalid_argument) << what;
    for (std::size_t i = 0; i < mem.size(); ++i)
        if (mem.data()[i] != std::byte{0x5A}) {
            ADD_FAILURE() << what << ": format wrote byte " << i << " of a refused region";
            break;
        }
    EXPECT_EQ(region::attach(mem.span(), g).error(), errc::invalid_argument) << what;
}

}  // namespace

TEST(region_geometry_limits, capacity_not_a_power_of_two) {
    for (std::size_t c : {std::size_t{257}, std::size_t{384}, std::size_t{1000}, std::size_t{4095},
                          std::size_t{3} << 20, (std::size_t{1} << 31) - 8}) {
        SCOPED_TRACE(c);
        expect_refused({{c}, 0}, "non power of two");
    }
}

TEST(region_geometry_limits, capacity_too_small) {
    for (std::size_t c : {std::size_t{0}, std::size_t{1}, std::size_t{8}, std::size_t{64},
                          wire::min_ring_capacity / 2}) {
        SCOPED_TRACE(c);
        expect_refused({{c}, 0}, "below min_ring_capacity");
    }
}

TEST(region_geometry_limits, capacity_too_large) {
    for (std::size_t c :
         {wire::max_ring_capacity * 2, std::size_t{1} << 40, std::size_t{1} << 63}) {
        SCOPED_TRACE(c);
        expect_refused({{c}, 0}, "above max_ring_capacity");
    }
}

TEST(region_geometry_limits, one_bad_ring_among_good_ones) {
    expect_refused({{256, 1024, 300, 4096}, 1}, "third ring bad");
    expect_refused({{256, 128}, 0}, "second ring too small");
}

TEST(region_geometry_limits, capacity_bounds_themselves_are_accepted) {
    auto small = region::required_size({{wire::min_ring_capacity}, 0});
    ASSERT_TRUE(small) << to_string(small.error());
    auto large = region::required_size({{wire::max_ring_capacity}, 0});
    ASSERT_TRUE(large) << to_string(large.error());
    EXPECT_GT(*large, wire::max_ring_capacity);
    EXPECT_EQ(*large % 4096, 0u);
}

TEST(region_geometry_limits, too_many_rings) {
    const std::vector<std::size_t> at_limit(max_rings, wire::min_ring_capacity);
    auto ok = region::required_size({at_limit, 0});
    ASSERT_TRUE(ok) << "max_rings rings must be accepted: " << to_string(ok.error());
    std::vector<std::size_t> over = at_limit;
    over.push_back(wire::min_ring_capacity);
    expect_refused({over, 0}, "max_rings + 1 rings");
}

TEST(region_geometry_limits, too_many_doorbells) {
    ASSERT_TRUE(region::required_size({{256}, max_doorbells}));
    expect_refused({{256}, max_doorbells + 1}, "max_doorbells + 1 doorbells");
    expect_refused({{256}, std::size_t{1} << 60}, "absurd doorbell count");
}

TEST(region_geometry_limits, largest_counts_format_and_attach) {
    const region_geometry g{std::vector<std::size_t>(max_rings, wire::min_ring_capacity),
                            max_doorbells};
    aligned_memory mem(region::required_size(g).value());
    auto host = region::format(mem.span(), g);
    ASSERT_TRUE(host) << to_string(host.error());
    auto peer = region::attach(mem.span(), g);
    ASSERT_TRUE(peer) << to_string(peer.error());
    EXPECT_EQ(peer->ring_count(), max_rings);
    EXPECT_EQ(peer->doorbell_count(), max_doorbells);
    // The last ring works and ends inside the memory.
    const ring_view last = peer->ring(max_rings - 1);
    EXPECT_LE(reinterpret_cast<std::byte*>(last.data) + last.capacity, mem.data() + mem.size());
    ring_producer p(host->ring(max_rings - 1));
    ring_consumer c(last);
    ASSERT_TRUE(p.try_send(7, test::pattern(100, 7)));
    auto m = c.try_receive();
    ASSERT_TRUE(m);
    EXPECT_TRUE(test::is_pattern(m->bytes, 100, 7));
}

TEST(region_geometry_limits, no_rings_is_a_valid_region) {
    const region_geometry g{{}, 0};
    aligned_memory mem(region::required_size(g).value());
    ASSERT_TRUE(region::format(mem.span(), g));
    auto peer = region::attach(mem.span(), g);
    ASSERT_TRUE(peer);
    EXPECT_EQ(peer->ring_count(), 0u);
}
