// Description: the tokenizer and number parsers accept exactly what memcached 1.6 accepts.
#include <gtest/gtest.h>

#include <string>

#include "text.hh"

using namespace airlock::kv;

TEST(KvText, TokenizeSplitsOnSpacesOnly) {
    token_list t;
    tokenize("get  a\tb  c ", t);
    ASSERT_EQ(t.count, 4u);
    EXPECT_EQ(t.word[0], "get");
    EXPECT_EQ(t.word[1], "a\tb");
    EXPECT_EQ(t.word[2], "c");
    EXPECT_TRUE(t.word[3].empty());
    EXPECT_FALSE(t.has_rest);
}

TEST(KvText, TokenizeStopsAtNulAndKeepsTheRestBeyondTheLimit) {
    token_list t;
    tokenize(std::string_view("set a\0b 0", 9), t);
    ASSERT_EQ(t.count, 3u);
    EXPECT_EQ(t.word[1], "a");
    std::string line = "get";
    for (int i = 0; i < 30; ++i)
        line += " k" + std::to_string(i);
    tokenize(line, t);
    EXPECT_EQ(t.count, max_tokens);
    EXPECT_EQ(t.word[22], "k21");
    EXPECT_TRUE(t.has_rest);
    EXPECT_EQ(t.rest.substr(0, 3), "k22");
}

TEST(KvText, NumbersFollowSafeStrto) {
    std::uint64_t u = 0;
    EXPECT_TRUE(parse_u64("18446744073709551615", u));
    EXPECT_EQ(u, UINT64_MAX);
    EXPECT_FALSE(parse_u64("18446744073709551616", u));
    EXPECT_FALSE(parse_u64("-1", u));
    EXPECT_TRUE(parse_u64("+7", u));
    EXPECT_EQ(u, 7u);
    EXPECT_TRUE(parse_u64("12\r\n", u));
    EXPECT_FALSE(parse_u64("12a", u));
    EXPECT_FALSE(parse_u64("", u));
    std::int32_t i = 0;
    EXPECT_TRUE(parse_i32("-5", i));
    EXPECT_EQ(i, -5);
    EXPECT_TRUE(parse_i32("2147483648", i));  // truncated, as memcached's safe_strtol
    EXPECT_EQ(i, INT32_MIN);
    EXPECT_FALSE(parse_i32("9223372036854775808", i));
    EXPECT_TRUE(parse_i32("2147483647", i));
    std::uint32_t f = 0;
    EXPECT_TRUE(parse_u32("4294967296", f));  // truncated, as on LP64 memcached
    EXPECT_EQ(f, 0u);
}
