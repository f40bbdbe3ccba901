// SPDX-License-Identifier: Apache-2.0
#pragma once
// The calls of the hello_enclave example, declared once: both the enclave
// code and the host code include this header. No EDL, no code generator.

#include <cstdint>
#include <string>

#include <airlock/rpc/method.hh>

namespace hello {

// The enclave calls the host (an ocall): the host knows the greeting.
inline constexpr airlock::rpc::host_method<1, std::string(std::string)> greeting{"greeting"};

// The host calls the enclave (an ecall): the enclave keeps a secret count.
inline constexpr airlock::rpc::enclave_method<1, std::uint64_t(std::string)> greet_and_count{
    "greet_and_count"};

}  // namespace hello
