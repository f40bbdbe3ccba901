// SPDX-License-Identifier: Apache-2.0
// Description: every built-in codec type, and a user type through the opt-in
// hook, survives encode then decode unchanged.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "airlock/rpc/codec.hh"
#include "airlock/rpc/method.hh"

namespace {

enum class color : std::uint8_t { red, green, blue };

struct point {  // no padding, every bit pattern valid: opts in to a byte copy
    std::int32_t x;
    std::int32_t y;
};

struct padded {  // has padding: must opt in, and does
    std::uint8_t a;
    std::uint64_t b;
};

}  // namespace

// Every bit pattern of two int32s is a point: it may be copied as bytes.
template <>
inline constexpr bool airlock::rpc::copy_as_bytes<point> = true;

template <>
struct airlock::rpc::codec<padded> {
    static void encode(writer& w, const padded& p) {
        rpc::encode(w, p.a);
        rpc::encode(w, p.b);
    }
    static bool decode(reader& r, padded& p) { return rpc::decode(r, p.a) && rpc::decode(r, p.b); }
};

namespace {

using namespace airlock::rpc;

template <class T>
T roundtrip(const T& in) {
    std::vector<std::byte> buf;
    writer w(buf);
    encode(w, in);
    std::tuple<T> out;
    EXPECT_TRUE(decode_exactly(buf, out)) << "decode failed for " << typeid(T).name();
    return std::get<0>(out);
}

TEST(codec_roundtrip, scalars) {
    EXPECT_EQ(roundtrip(true), true);
    EXPECT_EQ(roundtrip(false), false);
    EXPECT_EQ(roundtrip<std::uint8_t>(0xab), 0xab);
    EXPECT_EQ(roundtrip<std::int16_t>(-12345), -12345);
    EXPECT_EQ(roundtrip<std::uint32_t>(0xdeadbeef), 0xdeadbeefu);
    EXPECT_EQ(roundtrip<std::int64_t>(INT64_MIN), INT64_MIN);
    EXPECT_EQ(roundtrip(3.25), 3.25);
    EXPECT_EQ(roundtrip(1.5f), 1.5f);
    EXPECT_EQ(roundtrip(color::blue), color::blue);
    EXPECT_EQ(roundtrip(std::byte{0x7f}), std::byte{0x7f});
}

TEST(codec_roundtrip, strings_and_containers) {
    EXPECT_EQ(roundtrip(std::string()), "");
    EXPECT_EQ(roundtrip(std::string("enclave\0host", 12)), std::string("enclave\0host", 12));
    const std::vector<std::byte> bytes{std::byte{1}, std::byte{2}, std::byte{3}};
    EXPECT_EQ(roundtrip(bytes), bytes);
    const std::vector<std::uint64_t> words{1, 2, UINT64_MAX};
    EXPECT_EQ(roundtrip(words), words);
    const std::vector<std::string> names{"a", "", "ccc"};
    EXPECT_EQ(roundtrip(names), names);
    EXPECT_EQ(roundtrip(std::optional<int>()), std::nullopt);
    EXPECT_EQ(roundtrip(std::optional<int>(5)), 5);
    const std::array<std::string, 2> pair_of{"x", "y"};
    EXPECT_EQ(roundtrip(pair_of), pair_of);
    const std::tuple<int, std::string, bool> t{7, "seven", true};
    EXPECT_EQ(roundtrip(t), t);
    const std::pair<std::string, int> p{"k", 9};
    EXPECT_EQ(roundtrip(p), p);
    const std::vector<bool> flags{true, false, true};
    EXPECT_EQ(roundtrip(flags), flags);
}

template <class T>
std::vector<std::byte> encoded(const T& in) {
    std::vector<std::byte> buf;
    writer w(buf);
    encode(w, in);
    return buf;
}

// A zero-length array has no elements and so no bytes on the wire, whatever
// sizeof says of it in memory (1 in libstdc++), and data() may be null.
TEST(codec_roundtrip, zero_length_arrays) {
    EXPECT_EQ(encoded(std::array<std::uint32_t, 0>{}).size(), 0u);
    EXPECT_EQ(encoded(std::array<std::byte, 0>{}).size(), 0u);
    EXPECT_EQ(encoded(std::array<std::string, 0>{}).size(), 0u);
    EXPECT_EQ(roundtrip(std::array<std::uint32_t, 0>{}), (std::array<std::uint32_t, 0>{}));
    EXPECT_EQ(roundtrip(std::array<std::byte, 0>{}), (std::array<std::byte, 0>{}));
    EXPECT_EQ(roundtrip(std::array<double, 0>{}), (std::array<double, 0>{}));
    EXPECT_EQ(roundtrip(std::array<std::string, 0>{}), (std::array<std::string, 0>{}));

    // Between other values it takes no room and leaves its neighbours intact.
    const std::tuple<std::uint16_t, std::array<std::uint64_t, 0>, std::uint16_t> t{7, {}, 9};
    EXPECT_EQ(encoded(t).size(), 4u);
    EXPECT_EQ(roundtrip(t), t);

    // Its smallest encoding is 0 bytes, so a vector of elements holding one
    // still decodes as long as its bytes allow, not fewer.
    EXPECT_EQ((min_encoded_size<std::array<std::uint32_t, 0>>), 0u);
    using holder = std::pair<std::array<std::uint32_t, 0>, std::uint32_t>;
    EXPECT_EQ(min_encoded_size<holder>, 4u);
    const std::vector<holder> held{{{}, 1}, {{}, 2}, {{}, 3}};
    EXPECT_EQ(encoded(held).size(), 8u + 3 * 4);
    EXPECT_EQ(roundtrip(held), held);

    // Bytes where a zero-length array stands are trailing bytes: malformed.
    const std::vector<std::byte> one_byte{std::byte{0x5a}};
    std::tuple<std::array<std::uint32_t, 0>> out;
    EXPECT_FALSE(decode_exactly(one_byte, out));
    std::tuple<std::array<std::byte, 0>> out_bytes;
    EXPECT_FALSE(decode_exactly(one_byte, out_bytes));
    std::tuple<std::array<std::uint32_t, 0>> from_nothing;
    EXPECT_TRUE(decode_exactly(std::span<const std::byte>(), from_nothing));
}

TEST(codec_roundtrip, structs_without_padding_and_opt_in_types) {
    const point pt = roundtrip(point{-3, 4});
    EXPECT_EQ(pt.x, -3);
    EXPECT_EQ(pt.y, 4);
    const padded pd = roundtrip(padded{9, 1ull << 40});
    EXPECT_EQ(pd.a, 9);
    EXPECT_EQ(pd.b, 1ull << 40);
    std::vector<std::byte> buf;
    writer w(buf);
    encode(w, padded{1, 2});
    EXPECT_EQ(buf.size(), 9u) << "opt-in codec writes fields, never padding bytes";
}

TEST(codec_roundtrip, encodable_concept) {
    static_assert(encodable<point>);
    static_assert(encodable<padded>);
    static_assert(encodable<std::vector<std::optional<std::string>>>);
    struct has_padding {
        std::uint8_t a;
        std::uint32_t b;
    };
    static_assert(!encodable<has_padding>, "a struct is encoded only once it opts in");
}

TEST(codec_roundtrip, method_descriptor_types) {
    static constexpr host_method<3, std::string(std::span<const std::byte>, std::string_view)>
        store{"store"};
    static_assert(decltype(store)::id == 3);
    static_assert(decltype(store)::dir == direction::enclave_to_host);
    static_assert(std::is_same_v<decltype(store)::arguments,
                                 std::tuple<std::vector<std::byte>, std::string>>);
    EXPECT_EQ(store.name, "store");
}

}  // namespace
