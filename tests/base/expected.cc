// SPDX-License-Identifier: Apache-2.0
// Description: expected<T> holds a value or an error with std::expected's
// meaning, including move-only values and expected<void>.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "airlock/base/expected.hh"

using airlock::errc;
using airlock::expected;
using airlock::unexpected;

TEST(expected, holds_a_value) {
    expected<std::string> e = std::string("hello");
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(*e, "hello");
    EXPECT_EQ(e->size(), 5u);
    EXPECT_EQ(e.value_or("x"), "hello");
}

TEST(expected, holds_an_error) {
    expected<int> e = unexpected(errc::ring_full);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error(), errc::ring_full);
    EXPECT_EQ(e.value_or(7), 7);
}

TEST(expected, moves_move_only_values) {
    expected<std::unique_ptr<int>> e = std::make_unique<int>(42);
    std::unique_ptr<int> p = std::move(e).value();
    EXPECT_EQ(*p, 42);
}

TEST(expected, void_success_and_failure) {
    expected<void> ok;
    expected<void> bad = unexpected(errc::timed_out);
    EXPECT_TRUE(ok.has_value());
    EXPECT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error(), errc::timed_out);
}

TEST(expected, value_on_error_aborts) {
    expected<int> e = unexpected(errc::ring_empty);
    EXPECT_DEATH((void)e.value(), "expected::value\\(\\) on an error");
}
