// SPDX-License-Identifier: Apache-2.0
// Description: a host that calls the enclave with argument bytes that do
// not decode as the declared types (every strict prefix of a valid
// encoding, a byte after it, bool and bounded-enum bytes outside their
// values, an optional's flag other than 0 or 1, string and vector lengths
// beyond the message up to 2^64 - 1), for every type the codec has built in,
// gets one error reply per call, rpc_decode, under its call id; no handler
// runs, nothing crashes, and the channel goes on. Seeded random argument
// bytes get a value or rpc_decode, never anything else (HOSTILE-INPUTS #10,
// #11, #19 for the arguments of calls the enclave serves).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "rpc/hostile_host.hh"

namespace args_test {

enum class shade : std::uint8_t { red, green, blue };
enum class loose : std::uint32_t { a, b };  // unbounded: every value decodes
struct point {
    std::int32_t x;
    std::int32_t y;
};

}  // namespace args_test

template <>
struct airlock::rpc::enum_traits<args_test::shade> {
    static constexpr bool bounded = true;
    static constexpr args_test::shade min = args_test::shade::red;
    static constexpr args_test::shade max = args_test::shade::blue;
};
template <>
inline constexpr bool airlock::rpc::copy_as_bytes<args_test::point> = true;

namespace {

using namespace airlock;
using namespace args_test;
using bytes = std::vector<std::byte>;

template <std::uint32_t Id, class... Args>
constexpr rpc::enclave_method<Id, std::uint64_t(Args...)> takes{"takes"};

std::uint64_t splitmix(std::uint64_t& s) {
    std::uint64_t z = (s += 0x9E37'79B9'7F4A'7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBull;
    return z ^ (z >> 31);
}

bytes u64_bytes(std::uint64_t v) {
    bytes out;
    test::put_u64(out, v);
    return out;
}
bytes join(bytes a, const bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}
bytes some(std::initializer_list<int> v) {
    bytes out;
    for (int b : v)
        out.push_back(static_cast<std::byte>(b));
    return out;
}

class argument_calls {
  public:
    argument_calls() { serve_all(); }

    // Sends a call of method `method` with `args` and returns the reply's
    // code, checking that exactly one reply came under the call's id.
    errc call(std::uint64_t method, const bytes& args) {
        const std::uint64_t id = next_id_++;
        f_.ch.send_call(id, method, args);
        f_.settle();
        auto r = f_.ch.take_reply();
        if (!r) return errc::broken_promise;
        EXPECT_EQ(r->id, id) << "the reply must carry the host's call id";
        EXPECT_FALSE(f_.ch.take().has_value()) << "more than one reply to a call";
        return static_cast<errc>(r->code);
    }

    // Every input in `bad` is answered rpc_decode and runs no handler.
    void expect_refused(std::uint64_t method, const std::vector<bytes>& bad, const char* type) {
        const std::uint64_t handled = handled_;
        for (std::size_t i = 0; i < bad.size(); ++i)
            EXPECT_TRUE(test::same_errc(call(method, bad[i]), errc::rpc_decode))
                << type << ", hostile input " << i << " of " << bad.size() << " (" << bad[i].size()
                << " bytes)";
        EXPECT_EQ(handled_, handled) << type << ": a handler ran on arguments that do not decode";
    }

    // Every strict prefix of `valid`, and `valid` with a byte after it,
    // are refused; `valid` itself is served.
    void expect_exact(std::uint64_t method, const bytes& valid, std::vector<bytes> more,
                      const char* type) {
        for (std::size_t n = 0; n < valid.size(); ++n)
            more.emplace_back(valid.begin(), valid.begin() + static_cast<std::ptrdiff_t>(n));
        more.push_back(join(valid, some({0})));
        expect_refused(method, more, type);
        const std::uint64_t handled = handled_;
        EXPECT_TRUE(test::same_errc(call(method, valid), errc::ok)) << type << ": a valid call";
        EXPECT_EQ(handled_, handled + 1) << type;
    }

    // `n` seeded random inputs of 0..48 bytes: each a value or rpc_decode.
    void expect_random_answered(std::uint64_t method, std::uint64_t seed, const char* type) {
        std::uint64_t s = seed;
        std::uint64_t values = 0;
        const std::uint64_t handled = handled_;
        for (int i = 0; i < 150; ++i) {
            bytes in(splitmix(s) % 49);
            for (auto& b : in) {
                // Small bytes often, so flags, lengths and enum values are near their limits.
                const std::uint64_t r = splitmix(s);
                b = static_cast<std::byte>(r % 4 == 0 ? r >> 8 : (r >> 8) % 4);
            }
            const errc e = call(method, in);
            EXPECT_TRUE(e == errc::ok || e == errc::rpc_decode)
                << type << ": random input " << i << " answered " << to_string(e);
            values += e == errc::ok ? 1 : 0;
        }
        EXPECT_EQ(handled_ - handled, values) << type << ": a handler per value, none besides";
    }

    [[nodiscard]] test::hostile_host& host() { return f_; }

  private:
    template <std::uint32_t Id, class... Args>
    void serve_one() {
        f_.enclave().serve(takes<Id, Args...>, [this](const auto&...) {
            ++handled_;
            return std::uint64_t{1};
        });
    }
    void serve_all();

    test::hostile_host f_;
    std::uint64_t next_id_ = 1;
    std::uint64_t handled_ = 0;
};

// The methods, one per built-in type (and one with several arguments).
constexpr std::uint32_t m_bool = 1, m_u8 = 2, m_u16 = 3, m_u32 = 4, m_u64 = 5, m_i64 = 6,
                        m_double = 7, m_shade = 8, m_loose = 9, m_byte = 10, m_point = 11,
                        m_string = 12, m_bytes = 13, m_u64s = 14, m_strings = 15, m_opt = 16,
                        m_opt_string = 17, m_array = 18, m_pair = 19, m_tuple = 20, m_borrowed = 21,
                        m_span = 22, m_several = 23, m_nested = 24;

void argument_calls::serve_all() {
    serve_one<m_bool, bool>();
    serve_one<m_u8, std::uint8_t>();
    serve_one<m_u16, std::uint16_t>();
    serve_one<m_u32, std::uint32_t>();
    serve_one<m_u64, std::uint64_t>();
    serve_one<m_i64, std::int64_t>();
    serve_one<m_double, double>();
    serve_one<m_shade, shade>();
    serve_one<m_loose, loose>();
    serve_one<m_byte, std::byte>();
    serve_one<m_point, point>();
    serve_one<m_string, std::string>();
    serve_one<m_bytes, std::vector<std::byte>>();
    serve_one<m_u64s, std::vector<std::uint64_t>>();
    serve_one<m_strings, std::vector<std::string>>();
    serve_one<m_opt, std::optional<std::uint64_t>>();
    serve_one<m_opt_string, std::optional<std::string>>();
    serve_one<m_array, std::array<std::uint32_t, 4>>();
    serve_one<m_pair, std::pair<std::uint64_t, std::string>>();
    serve_one<m_tuple, std::tuple<bool, std::uint16_t, std::string>>();
    serve_one<m_borrowed, rpc::borrowed_bytes>();
    serve_one<m_span, std::span<const std::byte>>();
    serve_one<m_several, std::uint64_t, std::string, bool>();
    serve_one<m_nested, std::vector<std::optional<std::vector<std::string>>>>();
}

// A length word claiming `n` elements, then `tail`.
bytes claims(std::uint64_t n, const bytes& tail = some({'a', 'b', 'c'})) {
    return join(u64_bytes(n), tail);
}
const std::vector<std::uint64_t> huge_lengths = {4,
                                                 std::uint64_t{1} << 32,
                                                 std::uint64_t{1} << 61,
                                                 std::uint64_t{1} << 63,
                                                 ~std::uint64_t{0} - 7,
                                                 ~std::uint64_t{0}};
std::vector<bytes> every_huge_length(const bytes& tail = some({'a', 'b', 'c'})) {
    std::vector<bytes> out;
    for (std::uint64_t n : huge_lengths)
        out.push_back(claims(n, tail));
    return out;
}
std::vector<bytes> plus(std::vector<bytes> a, std::initializer_list<bytes> b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

TEST(hostile_call_arguments, scalars_that_do_not_decode_are_answered_rpc_decode) {
    argument_calls c;
    using test::encoded;
    c.expect_exact(m_bool, encoded(true), {some({2}), some({0xff}), some({0x10})}, "bool");
    c.expect_exact(m_u8, encoded(std::uint8_t{7}), {}, "uint8");
    c.expect_exact(m_u16, encoded(std::uint16_t{0x1234}), {}, "uint16");
    c.expect_exact(m_u32, encoded(std::uint32_t{0x12345678}), {}, "uint32");
    c.expect_exact(m_u64, encoded(std::uint64_t{42}), {}, "uint64");
    c.expect_exact(m_i64, encoded(std::int64_t{-42}), {}, "int64");
    c.expect_exact(m_double, encoded(2.5), {}, "double");
    c.expect_exact(m_shade, encoded(shade::blue), {some({3}), some({0x80}), some({0xff})},
                   "bounded enum");
    c.expect_exact(m_loose, encoded(loose::b), {}, "unbounded enum");
    c.expect_exact(m_byte, encoded(std::byte{9}), {}, "std::byte");
    c.expect_exact(m_point, encoded(point{-1, 2}), {}, "copy_as_bytes struct");
    EXPECT_TRUE(test::same_errc(c.host().enclave().fault(), errc::ok));
}

TEST(hostile_call_arguments, strings_and_containers_that_do_not_decode_are_answered_rpc_decode) {
    argument_calls c;
    using test::encoded;
    c.expect_exact(m_string, encoded(std::string("abc")), every_huge_length(), "std::string");
    c.expect_exact(m_bytes, encoded(some({1, 2, 3})), every_huge_length(),
                   "std::vector<std::byte>");
    c.expect_exact(m_u64s, encoded(std::vector<std::uint64_t>{1, 2}),
                   every_huge_length(u64_bytes(1)), "std::vector<uint64_t>");
    c.expect_exact(m_strings, encoded(std::vector<std::string>{"a", ""}),
                   plus(every_huge_length(),
                        {claims(1, claims(~std::uint64_t{0})), claims(2, claims(1, some({'a'})))}),
                   "std::vector<std::string>");
    c.expect_exact(m_opt, encoded(std::optional<std::uint64_t>{5}),
                   {join(some({2}), u64_bytes(5)), join(some({0xff}), u64_bytes(5)), some({0, 0})},
                   "std::optional<uint64_t>");
    c.expect_exact(
        m_opt_string, encoded(std::optional<std::string>{"xy"}),
        {join(some({7}), claims(2, some({'x', 'y'}))), join(some({1}), claims(~std::uint64_t{0}))},
        "std::optional<std::string>");
    c.expect_exact(m_array, encoded(std::array<std::uint32_t, 4>{1, 2, 3, 4}), {},
                   "std::array<uint32_t, 4>");
    c.expect_exact(m_pair, encoded(std::pair<std::uint64_t, std::string>{1, "pq"}),
                   {join(u64_bytes(1), claims(~std::uint64_t{0}))}, "std::pair");
    c.expect_exact(m_tuple, encoded(std::tuple<bool, std::uint16_t, std::string>{true, 3, "t"}),
                   {join(some({2, 3, 0}), claims(1, some({'t'})))}, "std::tuple");
    c.expect_exact(m_borrowed, encoded(some({4, 5})), every_huge_length(), "borrowed_bytes");
    c.expect_exact(m_span, encoded(some({4, 5})), every_huge_length(),
                   "std::span<const std::byte>");
    c.expect_exact(m_several, encoded(std::uint64_t{1}, std::string("s"), false),
                   {join(join(u64_bytes(1), claims(1, some({'s'}))), some({2}))},
                   "(uint64_t, std::string, bool)");
    c.expect_exact(m_nested,
                   encoded(std::vector<std::optional<std::vector<std::string>>>{
                       std::nullopt, std::vector<std::string>{"n"}}),
                   {claims(2, join(some({0, 3}), claims(1, claims(1, some({'n'}))))),
                    claims(~std::uint64_t{0}, some({0})),
                    claims(1, join(some({1}), claims(~std::uint64_t{0})))},
                   "std::vector<std::optional<std::vector<std::string>>>");
    EXPECT_TRUE(test::same_errc(c.host().enclave().fault(), errc::ok));
    EXPECT_EQ(c.host().enclave().serving(), 0u);
}

TEST(hostile_call_arguments, random_argument_bytes_get_a_value_or_rpc_decode) {
    argument_calls c;
    for (std::uint32_t m = m_bool; m <= m_nested; ++m)
        c.expect_random_answered(m, 20261205 + m, ("method " + std::to_string(m)).c_str());
    EXPECT_TRUE(test::same_errc(c.host().enclave().fault(), errc::ok));
    EXPECT_EQ(c.host().enclave().stats().malformed, 0u);
}

}  // namespace
