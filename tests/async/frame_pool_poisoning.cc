// SPDX-License-Identifier: Apache-2.0
// Description: under AddressSanitizer a pooled frame block is poisoned once
// freed and unpoisoned when handed out again, so a use of a destroyed
// coroutine frame is reported (skipped in builds without ASan).
#include "airlock/async/frame_pool.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

#if AIRLOCK_ASAN

TEST(frame_pool_poisoning, a_freed_block_is_poisoned_and_a_reused_one_is_not) {
    test::harness h;
    void* frame = async::detail::allocate_frame(200);
    EXPECT_FALSE(__asan_address_is_poisoned(frame));
    EXPECT_FALSE(__asan_address_is_poisoned(static_cast<char*>(frame) + 199));
    frame_pool::deallocate(frame);
    EXPECT_TRUE(__asan_address_is_poisoned(frame));
    EXPECT_TRUE(__asan_address_is_poisoned(static_cast<char*>(frame) + 199));
    void* again = async::detail::allocate_frame(200);
    EXPECT_EQ(again, frame) << "the pool reuses the block it freed last";
    EXPECT_FALSE(__asan_address_is_poisoned(again));
    frame_pool::deallocate(again);
}

TEST(frame_pool_poisoning, using_a_destroyed_frame_is_reported) {
    EXPECT_DEATH(
        {
            test::harness h;
            auto* p = static_cast<volatile char*>(async::detail::allocate_frame(64));
            frame_pool::deallocate(const_cast<char*>(p));
            p[8] = 1;  // a write into a destroyed frame
        },
        "use-after-poison");
}

#else

TEST(frame_pool_poisoning, needs_address_sanitizer) {
    GTEST_SKIP() << "frame poisoning exists only in AddressSanitizer builds";
}

#endif
