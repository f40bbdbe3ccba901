// SPDX-License-Identifier: Apache-2.0
#pragma once
// examples/vault/vault_calls.hh: the calls of the vault service, compiled by
// its enclave program and its host alike.
//
// The vault keeps byte values under string keys inside the enclave. The host
// calls put/get/erase/list/stats (ecalls); the enclave asks the host for a
// timestamp on each put and hands it a sealed snapshot to persist every
// `persist_every` puts (ocalls).
//
// Thread contract: constexpr descriptors only.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <airlock/rpc/method.hh>

namespace vault {

// Counters, copied as bytes: five 8-byte fields, no padding.
struct stats {
    std::uint64_t puts;
    std::uint64_t gets;
    std::uint64_t erases;
    std::uint64_t keys;
    std::uint64_t snapshots;  // sealed snapshots the host acknowledged
};

}  // namespace vault

// Opted in before any method names it (the declaration checks it).
template <>
inline constexpr bool airlock::rpc::copy_as_bytes<vault::stats> = true;

namespace vault {

// What the host gives the enclave at creation (crosses as bytes).
struct settings {
    std::uint64_t persist_every;   // a sealed snapshot every this many puts
    std::uint64_t snapshot_bytes;  // a snapshot's size: the sealed image is padded to it
    std::uint64_t max_keys;
    std::uint64_t seal_key;  // stands in for a key only the enclave would hold
};

// Ecalls: the host calls, the enclave serves.
inline constexpr airlock::rpc::enclave_method<1, std::uint64_t(std::string, std::vector<std::byte>)>
    put{"put"};  // answers the put's timestamp
inline constexpr airlock::rpc::enclave_method<2, std::optional<std::vector<std::byte>>(std::string)>
    get{"get"};
inline constexpr airlock::rpc::enclave_method<3, bool(std::string)> erase{"erase"};
inline constexpr airlock::rpc::enclave_method<4, std::vector<std::string>()> list{"list"};
inline constexpr airlock::rpc::enclave_method<5, stats()> get_stats{"stats"};

// Ocalls: the enclave calls, the host serves.
inline constexpr airlock::rpc::host_method<1, std::uint64_t()> timestamp{"timestamp"};
inline constexpr airlock::rpc::host_method<2, void(std::span<const std::byte>)> persist{"persist"};

}  // namespace vault
