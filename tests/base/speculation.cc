// SPDX-License-Identifier: Apache-2.0
// Description: index_nospec passes every in-range index through unchanged
// and turns every out-of-range one, up to 2^64 - 1, into 0.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "airlock/base/speculation.hh"

using u64 = std::uint64_t;
using airlock::index_mask_nospec;
using airlock::index_nospec;

TEST(speculation, in_range_indices_pass_through) {
    for (u64 size : {u64{1}, u64{2}, u64{7}, u64{64}, u64{1000}, u64{1} << 32}) {
        for (u64 i : {u64{0}, u64{1}, size / 2, size - 1}) {
            if (i >= size) continue;
            EXPECT_EQ(index_nospec(i, size), i) << i << " of " << size;
            EXPECT_EQ(index_mask_nospec(i, size), ~u64{0});
        }
    }
}

TEST(speculation, out_of_range_indices_become_zero) {
    constexpr u64 max = std::numeric_limits<u64>::max();
    for (u64 size : {u64{1}, u64{2}, u64{7}, u64{64}, u64{1000}, u64{1} << 32}) {
        for (u64 i : {size, size + 1, 2 * size, u64{1} << 32 | 1, u64{1} << 63, (u64{1} << 63) - 1,
                      max - 1, max}) {
            if (i < size) continue;
            EXPECT_EQ(index_nospec(i, size), 0u) << i << " of " << size;
            EXPECT_EQ(index_mask_nospec(i, size), 0u);
        }
    }
}

TEST(speculation, every_small_index_against_every_small_size) {
    for (u64 size = 1; size <= 70; ++size)
        for (u64 i = 0; i <= 140; ++i)
            EXPECT_EQ(index_nospec(i, size), i < size ? i : 0) << i << " of " << size;
}
