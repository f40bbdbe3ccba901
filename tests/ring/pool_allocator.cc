// SPDX-License-Identifier: Apache-2.0
// Description: the sender's pool bookkeeping hands out granule runs and takes back only what it
// gave.
#include <cstdint>
#include <vector>

#include "airlock/ring/buffer_pool.hh"
#include "support/region_fixture.hh"

using namespace airlock;
using namespace airlock::ring;

namespace {

constexpr std::uint64_t g = wire::pool_granule;

struct pool_fixture {
    explicit pool_fixture(std::size_t bytes) : region({256}, 0, {bytes}), pool(region.pool(0)) {}
    test::test_region region;
    pool_allocator pool;
};

}  // namespace

TEST(pool_allocator, buffers_are_granule_runs_that_do_not_overlap) {
    pool_fixture f(16 * g);
    auto a = f.pool.try_allocate(1);
    auto b = f.pool.try_allocate(g + 1);
    auto c = f.pool.try_allocate(3 * g);
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(a->offset, 0u);
    EXPECT_EQ(b->offset, g) << "a takes one granule";
    EXPECT_EQ(c->offset, 3 * g) << "b takes two";
    EXPECT_EQ(b->length, g + 1);
    EXPECT_EQ(f.pool.outstanding(), 3u);
}

TEST(pool_allocator, an_exhausted_pool_says_no_until_a_buffer_returns) {
    pool_fixture f(8 * g);
    auto a = f.pool.try_allocate(4 * g);
    auto b = f.pool.try_allocate(4 * g);
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(f.pool.try_allocate(1)) << "every granule is out";
    EXPECT_FALSE(f.pool.try_allocate(9 * g)) << "larger than the pool";
    EXPECT_FALSE(f.pool.try_allocate(0));
    ASSERT_TRUE(f.pool.release(a->offset, a->length));
    auto c = f.pool.try_allocate(4 * g);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->offset, a->offset) << "the run a left";
}

TEST(pool_allocator, out_of_order_returns_free_their_own_runs) {
    pool_fixture f(6 * g);
    auto a = f.pool.try_allocate(2 * g);
    auto b = f.pool.try_allocate(2 * g);
    auto c = f.pool.try_allocate(2 * g);
    ASSERT_TRUE(a && b && c);
    ASSERT_TRUE(f.pool.release(b->offset, b->length));
    EXPECT_FALSE(f.pool.try_allocate(3 * g)) << "only two granules are free, b's";
    auto d = f.pool.try_allocate(2 * g);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->offset, b->offset);
}

TEST(pool_allocator, release_takes_back_only_an_outstanding_buffer_exactly) {
    pool_fixture f(8 * g);
    auto a = f.pool.try_allocate(2 * g + 100);
    ASSERT_TRUE(a);
    struct bad {
        const char* what;
        std::uint64_t offset, length;
    };
    for (const bad& x :
         {bad{"another length", a->offset, a->length + 1},
          bad{"the rounded length", a->offset, 3 * g},
          bad{"inside it (overlapping)", a->offset + g, g},
          bad{"unaligned", a->offset + 8, a->length}, bad{"never handed out", 5 * g, g},
          bad{"beyond the pool", 8 * g, g}, bad{"far beyond", ~std::uint64_t{0} - g + 1, g},
          bad{"zero length", a->offset, 0}}) {
        EXPECT_FALSE(f.pool.release(x.offset, x.length)) << x.what;
        EXPECT_EQ(f.pool.outstanding(), 1u) << x.what << " changed nothing";
    }
    EXPECT_TRUE(f.pool.release(a->offset, a->length));
    EXPECT_FALSE(f.pool.release(a->offset, a->length)) << "returned twice";
    EXPECT_EQ(f.pool.outstanding(), 0u);
}

TEST(pool_allocator, a_full_cycle_of_many_buffers_leaves_the_pool_empty) {
    pool_fixture f(64 * g);
    std::vector<pool_allocator::buffer> out;
    std::uint64_t seed = 7;
    for (int round = 0; round < 2000; ++round) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        if ((seed >> 60) < 9 || out.empty()) {
            if (auto b = f.pool.try_allocate(1 + (seed >> 33) % (9 * g))) out.push_back(*b);
        } else {
            const std::size_t k = (seed >> 20) % out.size();
            ASSERT_TRUE(f.pool.release(out[k].offset, out[k].length)) << "round " << round;
            out.erase(out.begin() + static_cast<std::ptrdiff_t>(k));
        }
        // No two outstanding buffers share a granule.
        std::vector<bool> used(64, false);
        for (const auto& b : out) {
            for (std::uint64_t at = b.offset / g; at < (b.offset + b.length + g - 1) / g; ++at) {
                ASSERT_FALSE(used[at]) << "granule " << at << " handed out twice";
                used[at] = true;
            }
        }
    }
    for (const auto& b : out)
        ASSERT_TRUE(f.pool.release(b.offset, b.length));
    EXPECT_EQ(f.pool.outstanding(), 0u);
    EXPECT_TRUE(f.pool.try_allocate(64 * g)) << "the whole pool is free again";
}
