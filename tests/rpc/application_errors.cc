// SPDX-License-Identifier: Apache-2.0
// Description: a method declared to return `expected<T, E>` with the
// application's own error type (an enum, a struct) carries its value or its
// error across the boundary both ways, encoded like any other value and apart
// from the transport's errc; a result whose bytes are malformed, or whose
// error is outside its enum's bounds, arrives as rpc_decode.
#include <cstdint>
#include <string>
#include <vector>

#include "rpc/hostile_host.hh"
#include "rpc/rpc_support.hh"

namespace app {

// An application's error enum, bounded: only these values decode.
enum class lookup_error : std::uint8_t { not_found = 1, forbidden = 2, busy = 3 };

// An application's error struct with a member that owns memory: its own codec.
struct quota_error {
    std::string tenant;
    std::uint64_t limit = 0;
    std::uint64_t asked = 0;
    friend bool operator==(const quota_error&, const quota_error&) = default;
};

// An error struct whose every bit pattern is valid: copied as bytes.
struct retry_after {
    std::uint64_t ns;
    std::uint32_t attempt;
    std::uint32_t reason;
    friend bool operator==(const retry_after&, const retry_after&) = default;
};

}  // namespace app

template <>
struct airlock::rpc::enum_traits<app::lookup_error> {
    static constexpr bool bounded = true;
    static constexpr app::lookup_error min = app::lookup_error::not_found;
    static constexpr app::lookup_error max = app::lookup_error::busy;
};

template <>
struct airlock::rpc::codec<app::quota_error> {
    static void encode(writer& w, const app::quota_error& e) {
        rpc::encode(w, e.tenant);
        rpc::encode(w, e.limit);
        rpc::encode(w, e.asked);
    }
    static bool decode(reader& r, app::quota_error& e) {
        return rpc::decode(r, e.tenant) && rpc::decode(r, e.limit) && rpc::decode(r, e.asked);
    }
};

template <>
inline constexpr bool airlock::rpc::copy_as_bytes<app::retry_after> = true;

namespace {

using namespace airlock;
using app::lookup_error;
using app::quota_error;
using app::retry_after;
using test::error_of;

// Served by the enclave (the host calls them).
inline constexpr rpc::enclave_method<1, expected<std::uint64_t, lookup_error>(std::string)> find{
    "find"};
inline constexpr rpc::enclave_method<2, expected<void, lookup_error>(std::uint64_t)> remove{
    "remove"};
inline constexpr rpc::enclave_method<3, expected<std::string, retry_after>(std::uint64_t)> poll{
    "poll"};
// Served by the host (the enclave calls them).
inline constexpr rpc::host_method<4, expected<std::vector<std::string>, quota_error>(std::uint64_t)>
    reserve{"reserve"};
inline constexpr rpc::host_method<5, expected<std::uint64_t, lookup_error>(std::uint64_t)> fetch{
    "fetch"};

template <class T>
std::vector<std::byte> encoded(const T& v) {
    std::vector<std::byte> out;
    rpc::writer w(out);
    rpc::encode(w, v);
    return out;
}

TEST(application_errors, values_and_errors_are_encoded_like_any_value) {
    using found = expected<std::uint64_t, lookup_error>;
    // A flag byte (1: value, 0: error), then the value or the error.
    EXPECT_EQ(encoded(found(7)), test::encoded(true, std::uint64_t{7}));
    EXPECT_EQ(encoded(found(unexpected(lookup_error::busy))),
              test::encoded(false, std::uint8_t{3}));
    const quota_error q{"tenant-7", 100, 1000};
    using reserved = expected<std::vector<std::string>, quota_error>;
    EXPECT_EQ(encoded(reserved(unexpected(q))), test::encoded(false, q));
    EXPECT_EQ(encoded(expected<void, lookup_error>()), test::encoded(true));

    // And each decodes back to what was encoded.
    std::tuple<found> value;
    ASSERT_TRUE(rpc::decode_exactly(encoded(found(7)), value));
    ASSERT_TRUE(std::get<0>(value).has_value());
    EXPECT_EQ(*std::get<0>(value), 7u);
    std::tuple<found> error;
    ASSERT_TRUE(rpc::decode_exactly(encoded(found(unexpected(lookup_error::not_found))), error));
    ASSERT_FALSE(std::get<0>(error).has_value());
    EXPECT_EQ(std::get<0>(error).error(), lookup_error::not_found);
    std::tuple<reserved> out;
    ASSERT_TRUE(rpc::decode_exactly(encoded(reserved(unexpected(q))), out));
    ASSERT_FALSE(std::get<0>(out).has_value());
    EXPECT_EQ(std::get<0>(out).error(), q);
}

TEST(application_errors, values_and_errors_cross_both_ways) {
    test::loopback lb;
    // Enclave handlers, synchronous and coroutine.
    lb.enclave.serve(find, [](std::string key) -> expected<std::uint64_t, lookup_error> {
        if (key == "present") return 42;
        if (key == "secret") return unexpected(lookup_error::forbidden);
        return unexpected(lookup_error::not_found);
    });
    lb.enclave.serve(remove, [](std::uint64_t k) -> async::task<expected<void, lookup_error>> {
        if (k == 0) co_return unexpected(lookup_error::not_found);
        co_return expected<void, lookup_error>();
    });
    lb.enclave.serve(poll,
                     [&lb](std::uint64_t n) -> async::task<expected<std::string, retry_after>> {
                         (void)co_await lb.h.ex.schedule();
                         if (n == 0) co_return unexpected(retry_after{5'000, 2, 9});
                         co_return std::string(n, 'p');
                     });
    // Host handlers.
    lb.host.serve(reserve, [](std::uint64_t n) -> expected<std::vector<std::string>, quota_error> {
        if (n > 100) return unexpected(quota_error{"tenant-7", 100, n});
        return std::vector<std::string>(n, "slot");
    });
    // A handler that fails at the transport level: the outer expected's error.
    lb.host.serve(fetch, [](std::uint64_t) -> expected<expected<std::uint64_t, lookup_error>> {
        return unexpected(errc::rpc_overloaded);
    });

    // Host calls, enclave answers.
    const auto present = lb.run(lb.host.call(find, std::string("present")));
    ASSERT_EQ(error_of(present), errc::ok) << "the call itself succeeded";
    ASSERT_TRUE(present->has_value());
    EXPECT_EQ(**present, 42u);
    const auto secret = lb.run(lb.host.call(find, std::string("secret")));
    ASSERT_EQ(error_of(secret), errc::ok);
    ASSERT_FALSE(secret->has_value());
    EXPECT_EQ(secret->error(), lookup_error::forbidden);
    const auto absent = lb.run(lb.host.call(find, std::string("absent")));
    ASSERT_EQ(error_of(absent), errc::ok);
    ASSERT_FALSE(absent->has_value());
    EXPECT_EQ(absent->error(), lookup_error::not_found);
    const auto removed = lb.run(lb.host.call(remove, std::uint64_t{1}));
    ASSERT_EQ(error_of(removed), errc::ok);
    EXPECT_TRUE(removed->has_value());
    const auto not_removed = lb.run(lb.host.call(remove, std::uint64_t{0}));
    ASSERT_EQ(error_of(not_removed), errc::ok);
    ASSERT_FALSE(not_removed->has_value());
    EXPECT_EQ(not_removed->error(), lookup_error::not_found);
    const auto polled = lb.run(lb.host.call(poll, std::uint64_t{3}));
    ASSERT_EQ(error_of(polled), errc::ok);
    ASSERT_TRUE(polled->has_value());
    EXPECT_EQ(**polled, "ppp");
    const auto later = lb.run(lb.host.call(poll, std::uint64_t{0}));
    ASSERT_EQ(error_of(later), errc::ok);
    ASSERT_FALSE(later->has_value());
    EXPECT_EQ(later->error(), (retry_after{5'000, 2, 9}));

    // Enclave calls, host answers.
    const auto granted = lb.run(lb.enclave.call(reserve, std::uint64_t{2}));
    ASSERT_EQ(error_of(granted), errc::ok);
    ASSERT_TRUE(granted->has_value());
    EXPECT_EQ(**granted, (std::vector<std::string>{"slot", "slot"}));
    const auto refused = lb.run(lb.enclave.call(reserve, std::uint64_t{1000}));
    ASSERT_EQ(error_of(refused), errc::ok);
    ASSERT_FALSE(refused->has_value());
    EXPECT_EQ(refused->error(), (quota_error{"tenant-7", 100, 1000}));
    const auto overloaded = lb.run(lb.enclave.call(fetch, std::uint64_t{1}));
    EXPECT_EQ(error_of(overloaded), errc::rpc_overloaded) << "the transport's error stays outside";

    EXPECT_EQ(lb.enclave.fault(), errc::ok);
    EXPECT_EQ(lb.host.fault(), errc::ok);
}

// Runs the enclave's call of `m` that the host answers, success code, with
// `result` as the bytes of the application's expected; returns the outcome.
template <class M>
expected<typename M::result_type> answered_with(test::hostile_host& f, const M& m,
                                                std::span<const std::byte> result) {
    auto out = f.start(f.enclave().call(m, std::uint64_t{1}));
    f.settle();
    auto c = f.ch.take_call();
    if (!c) return unexpected(errc::broken_promise);
    f.ch.send_reply(c->id, 0, result);
    f.settle();
    EXPECT_TRUE(out->done()) << "the caller did not resume";
    if (!out->done()) return unexpected(errc::broken_promise);
    return std::move(*out->value);
}

TEST(application_errors, malformed_error_bytes_from_the_host_are_rpc_decode) {
    test::hostile_host f;
    // expected<uint64_t, lookup_error>: a flag that is not a bool; an error
    // outside the enum's bounds (0, 4, 0xff); no error byte; a value cut
    // short; trailing bytes after an error or a value; nothing at all.
    for (const std::vector<std::byte>& bad :
         {test::bytes_of({2}), test::bytes_of({0xff, 1}), test::bytes_of({0, 0}),
          test::bytes_of({0, 4}), test::bytes_of({0, 0xff}), test::bytes_of({0}),
          test::bytes_of({1, 1, 2, 3}), test::bytes_of({0, 1, 0}),
          test::bytes_of({1, 7, 0, 0, 0, 0, 0, 0, 0, 0}), test::bytes_of({})}) {
        const auto got = answered_with(f, fetch, bad);
        EXPECT_TRUE(test::same_errc(error_of(got), errc::rpc_decode))
            << "result of " << bad.size() << " bytes";
    }
    // expected<vector<string>, quota_error>: a tenant name longer than the
    // bytes that remain, a huge one, an error struct cut short.
    auto long_name = test::encoded(false, std::uint64_t{50});
    long_name.resize(long_name.size() + 10);
    auto huge_name = test::encoded(false, ~std::uint64_t{0});
    auto cut = test::encoded(false, quota_error{"t", 1, 2});
    cut.pop_back();
    for (const std::vector<std::byte>& bad : {long_name, huge_name, cut}) {
        const auto got = answered_with(f, reserve, bad);
        EXPECT_TRUE(test::same_errc(error_of(got), errc::rpc_decode));
    }
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok)) << "a bad result is one call's";

    // Well-formed answers still arrive, error and value.
    const auto busy = answered_with(f, fetch, test::encoded(false, std::uint8_t{3}));
    ASSERT_TRUE(test::same_errc(error_of(busy), errc::ok));
    ASSERT_FALSE(busy->has_value());
    EXPECT_EQ(busy->error(), lookup_error::busy);
    const auto over = answered_with(f, reserve, test::encoded(false, quota_error{"t", 1, 2}));
    ASSERT_TRUE(test::same_errc(error_of(over), errc::ok));
    ASSERT_FALSE(over->has_value());
    EXPECT_EQ(over->error(), (quota_error{"t", 1, 2}));
    const auto value = answered_with(f, fetch, test::encoded(true, std::uint64_t{99}));
    ASSERT_TRUE(test::same_errc(error_of(value), errc::ok));
    ASSERT_TRUE(value->has_value());
    EXPECT_EQ(**value, 99u);
}

}  // namespace
