// SPDX-License-Identifier: Apache-2.0
// Description: malformed encodings are rejected without over-reading or
// over-allocating: truncation, trailing bytes, huge lengths, bad bools and
// out-of-range enums (HOSTILE-INPUTS #10, #11, #19).
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "airlock/rpc/codec.hh"

namespace {

enum class mode : std::uint16_t { read = 1, write = 2 };

}  // namespace

template <>
struct airlock::rpc::enum_traits<mode> {
    static constexpr bool bounded = true;
    static constexpr mode min = mode::read;
    static constexpr mode max = mode::write;
};

namespace {

using namespace airlock::rpc;

std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v)
        out.push_back(static_cast<std::byte>(b));
    return out;
}

template <class T>
std::vector<std::byte> encoded(const T& v) {
    std::vector<std::byte> buf;
    writer w(buf);
    encode(w, v);
    return buf;
}

TEST(codec_hostile, bool_accepts_only_zero_and_one) {
    std::tuple<bool> out;
    EXPECT_TRUE(decode_exactly(bytes_of({1}), out));
    EXPECT_FALSE(decode_exactly(bytes_of({2}), out));
    EXPECT_FALSE(decode_exactly(bytes_of({0xff}), out));
}

TEST(codec_hostile, bounded_enum_rejects_values_outside_its_range) {
    std::tuple<mode> out;
    EXPECT_TRUE(decode_exactly(encoded(std::uint16_t{2}), out));
    EXPECT_FALSE(decode_exactly(encoded(std::uint16_t{0}), out));
    EXPECT_FALSE(decode_exactly(encoded(std::uint16_t{3}), out));
}

TEST(codec_hostile, truncated_input_fails_at_every_cut) {
    const auto full =
        encoded(std::tuple<std::string, std::vector<std::uint32_t>, int>{"hello", {1, 2, 3}, 42});
    std::tuple<std::string, std::vector<std::uint32_t>, int> out;
    ASSERT_TRUE(decode_exactly(full, out));
    for (std::size_t cut = 0; cut < full.size(); ++cut) {
        EXPECT_FALSE(decode_exactly(std::span(full).first(cut), out)) << "cut at " << cut;
    }
}

TEST(codec_hostile, trailing_bytes_are_malformed) {
    auto buf = encoded(std::uint32_t{5});
    buf.push_back(std::byte{0});
    std::tuple<std::uint32_t> out;
    EXPECT_FALSE(decode_exactly(buf, out));
}

TEST(codec_hostile, huge_lengths_fail_before_allocating) {
    // A length of 2^60 elements with 8 bytes behind it must not allocate.
    std::vector<std::byte> buf;
    writer w(buf);
    w.put_u64(1ull << 60);
    w.put_u64(0);
    std::tuple<std::string> s;
    EXPECT_FALSE(decode_exactly(buf, s));
    std::tuple<std::vector<std::uint64_t>> v;
    EXPECT_FALSE(decode_exactly(buf, v));
    std::tuple<std::vector<std::string>> vs;
    EXPECT_FALSE(decode_exactly(buf, vs));
    std::tuple<std::vector<std::vector<std::byte>>> vv;
    EXPECT_FALSE(decode_exactly(buf, vv));
}

TEST(codec_hostile, random_bytes_never_crash) {
    // Seeded and bounded: every outcome is a clean accept or reject.
    std::mt19937_64 rng(20261121);
    std::tuple<std::vector<std::string>, std::optional<std::vector<std::uint16_t>>, bool, mode> out;
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::vector<std::byte> buf(rng() % 64);
        for (auto& b : buf)
            b = static_cast<std::byte>(rng() % 4 == 0 ? 0 : rng());
        accepted += decode_exactly(buf, out) ? 1 : 0;
    }
    EXPECT_LT(accepted, 20000);
}

}  // namespace
