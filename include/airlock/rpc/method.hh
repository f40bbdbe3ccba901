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
// of the protocol. Calling a method in the wrong direction does not compile.
// Argument and result types must be encodable (rpc/codec.hh); a byte span or
// string_view parameter arrives at the handler as an owning vector/string.
//
// Thread contract: constexpr descriptors only.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
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
