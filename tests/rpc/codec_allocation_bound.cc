// SPDX-License-Identifier: Apache-2.0
// Description: a claimed element count cannot make the decoder allocate more
// than a small multiple of the input, even for element types that are large
// in memory and short on the wire (HOSTILE-INPUTS #19).
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "airlock/rpc/codec.hh"
#include "rpc/allocation_probe.hh"

namespace {

using namespace airlock::rpc;

// `size` bytes: a count of 2^60 elements, then zeros.
std::vector<std::byte> claim_of(std::size_t size) {
    std::vector<std::byte> in(size);
    const std::uint64_t count = std::uint64_t{1} << 60;
    std::memcpy(in.data(), &count, sizeof count);
    return in;
}

template <class T>
std::size_t largest_allocation_decoding(const std::vector<std::byte>& in, bool& decoded) {
    std::tuple<std::vector<T>> out;
    airlock::test::allocation_probe probe;
    decoded = decode_exactly(in, out);
    return probe.largest();
}

TEST(codec_allocation_bound, minimum_sizes_follow_the_wire_format) {
    static_assert(min_encoded_size<std::uint32_t> == 4);
    static_assert(min_encoded_size<std::string> == 8);
    static_assert(min_encoded_size<std::optional<std::uint64_t>> == 1);
    static_assert(min_encoded_size<std::array<std::string, 100>> == 800);
    static_assert(min_encoded_size<std::pair<std::uint16_t, std::string>> == 10);
    static_assert(min_encoded_size<std::tuple<std::uint8_t, std::uint64_t>> == 9);
}

TEST(codec_allocation_bound, strings_of_a_64_kib_message) {
    const auto in = claim_of(64 * 1024);
    bool decoded = true;
    const std::size_t largest =
        largest_allocation_decoding<std::array<std::string, 100>>(in, decoded);
    EXPECT_FALSE(decoded) << "2^60 elements cannot be in 64 KiB";
    // In memory an array of 100 strings is 3200 bytes and on the wire at
    // least 800: the reservation stays within a few times the input.
    EXPECT_LE(largest, 4 * in.size() + sizeof(std::array<std::string, 100>))
        << "a count read from input reserved " << largest << " bytes";
}

TEST(codec_allocation_bound, optionals_that_are_one_byte_on_the_wire) {
    const auto in = claim_of(4096);
    bool decoded = true;
    const std::size_t largest =
        largest_allocation_decoding<std::optional<std::array<std::uint64_t, 64>>>(in, decoded);
    EXPECT_FALSE(decoded);
    EXPECT_LE(largest, 4 * in.size() + sizeof(std::optional<std::array<std::uint64_t, 64>>));
}

TEST(codec_allocation_bound, an_honest_count_reserves_once_within_the_documented_bound) {
    // 256 KiB of absent optionals: each one byte on the wire, 520 in memory.
    using element = std::optional<std::array<std::uint64_t, 64>>;
    const std::uint64_t count = 256 * 1024;
    std::vector<std::byte> in(8 + count);  // zeros: every element absent
    std::memcpy(in.data(), &count, sizeof count);
    std::tuple<std::vector<element>> out;
    std::size_t largest = 0;
    std::size_t allocations = 0;
    {
        const airlock::test::allocation_probe probe;
        ASSERT_TRUE(decode_exactly(in, out));
        largest = probe.largest();
        allocations = probe.count();
    }
    EXPECT_EQ(std::get<0>(out).size(), count);
    EXPECT_EQ(allocations, 1u) << "the vector grew instead of reserving once";
    EXPECT_LE(largest, sizeof(element) / min_encoded_size<element> * in.size())
        << "sizeof(T) / min_encoded_size<T> times the input is the documented bound";
}

TEST(codec_allocation_bound, honest_vectors_still_decode) {
    std::vector<std::array<std::string, 3>> v(50, {"a", "bb", "ccc"});
    std::vector<std::byte> buf;
    writer w(buf);
    encode(w, v);
    std::tuple<std::vector<std::array<std::string, 3>>> out;
    ASSERT_TRUE(decode_exactly(buf, out));
    EXPECT_EQ(std::get<0>(out), v);
}

}  // namespace
