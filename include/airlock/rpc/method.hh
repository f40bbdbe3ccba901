// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/rpc/method.hh: a typed call, declared once in a header that both
// sides compile. This replaces EDL files and the edger8r code generator.
//
//   // calls.hh, included by enclave and host code alike
//   inline constexpr airlock::rpc::host_method<1, std::string(std::uint64_t)>
//       read_config{"read_config"};          // the enclave calls the host (an ocall)
//   inline constexpr airlock::rpc::enclave_method<1, std::uint64_t(std::string)>
//       checksum{"checksum"};                // the host calls the enclave (an ecall)
//
// Each direction has its own id space; an id names one method for the life
// of the protocol. Calling or serving a method in the wrong direction does not
// compile, with a sentence naming the direction; an argument or result type
// that cannot travel (no codec, or a struct with padding, alone or inside a
// vector, optional, array, pair, tuple or expected) is rejected where the
// method is declared, with a sentence naming copy_as_bytes.
// Argument and result types must be encodable (rpc/codec.hh); a byte span or
// string_view parameter arrives at the handler as an owning vector/string.
//
// Thread contract: constexpr descriptors only.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "airlock/rpc/codec.hh"

namespace airlock::rpc {

// Which side serves a method.
enum class direction : std::uint8_t {
    enclave_to_host = 1,  // served by the host (the enclave calls out: an ocall)
    host_to_enclave = 2,  // served by the enclave (the host calls in: an ecall)
};

// How a parameter type travels and arrives: views become owners.
template <class T>
struct arrival {
    using type = std::remove_cvref_t<T>;
};
template <>
struct arrival<std::span<const std::byte>> {
    using type = std::vector<std::byte>;
};
template <>
struct arrival<std::string_view> {
    using type = std::string;
};
template <class T>
using arrival_t = typename arrival<std::remove_cvref_t<T>>::type;

template <std::uint32_t Id, class Signature, direction Dir>
struct method;

namespace detail {

// Checked where a method is declared, so that a type that cannot travel is
// named there with the reason, not deep inside serve or call.
template <class T>
struct travels {
    static constexpr bool padded_struct = std::is_class_v<T> && std::is_trivially_copyable_v<T> &&
                                          !std::has_unique_object_representations_v<T>;
    static_assert(encodable<T> || !padded_struct,
                  "a method's result or argument is (or holds) a struct with padding and no codec: "
                  "it cannot opt in to copy_as_bytes, because its padding bytes would carry "
                  "private memory across the boundary; make the padding explicit members (then "
                  "opt in with copy_as_bytes<S> = true) or specialize codec<S> (rpc/codec.hh)");
    static_assert(encodable<T> || padded_struct || !std::is_trivially_copyable_v<T> ||
                      !std::is_class_v<T>,
                  "a method's result or argument is a struct with no codec: a trivially copyable "
                  "struct without padding opts in with copy_as_bytes<S> = true, any other type "
                  "specializes codec<S> (rpc/codec.hh)");
    static_assert(encodable<T> || std::is_class_v<T>,
                  "a method's result or argument type has no codec (rpc/codec.hh)");
    static constexpr bool value = encodable<T>;
};
template <>
struct travels<void> {
    static constexpr bool value = true;
};
// The containers codec.hh encodes travel when their elements do. Their
// codecs are declared for any element, so without these a padded struct
// inside a vector (say) would pass the declaration and fail only in serve
// or call: here the element is checked, with the sentence above.
template <class... Ts>
struct travels_all {
    static constexpr bool value = (travels<std::remove_cv_t<Ts>>::value && ...);
};
template <class T, class A>
struct travels<std::vector<T, A>> : travels_all<T> {};
template <class T>
struct travels<std::optional<T>> : travels_all<T> {};
template <class T, std::size_t N>
struct travels<std::array<T, N>> : travels_all<T> {};
template <class A, class B>
struct travels<std::pair<A, B>> : travels_all<A, B> {};
template <class... Ts>
struct travels<std::tuple<Ts...>> : travels_all<Ts...> {};
template <class T, class E>
struct travels<expected<T, E>> : travels_all<T, E> {};

}  // namespace detail

// `method<Id, R(Args...), Dir>` describes one call: its id, name, argument
// and result types and the direction it travels.
template <std::uint32_t Id, class R, class... Args, direction Dir>
struct method<Id, R(Args...), Dir> {
    static constexpr std::uint32_t id = Id;
    static constexpr direction dir = Dir;
    using result_type = R;
    // What the caller's arguments are encoded as (views stay views).
    using parameters = std::tuple<std::remove_cvref_t<Args>...>;
    // What the handler receives (after decoding into private memory).
    using arguments = std::tuple<arrival_t<Args>...>;

    static_assert(detail::travels<std::remove_cvref_t<R>>::value &&
                      (detail::travels<arrival_t<Args>>::value && ...),
                  "every argument and the result of a method must be encodable");
    static_assert(!holds_borrowed_v<R>,
                  "a method's result cannot be or hold borrowed_bytes: the caller would get a view "
                  "of a receive buffer that is reused at once; return std::vector<std::byte>");

    std::string_view name;

    constexpr explicit method(std::string_view n) noexcept : name(n) {}
};

template <std::uint32_t Id, class Signature>
using host_method = method<Id, Signature, direction::enclave_to_host>;
template <std::uint32_t Id, class Signature>
using enclave_method = method<Id, Signature, direction::host_to_enclave>;

template <class M>
concept method_descriptor = requires {
    { M::id } -> std::convertible_to<std::uint32_t>;
    { M::dir } -> std::convertible_to<direction>;
    typename M::result_type;
    typename M::arguments;
};

}  // namespace airlock::rpc
