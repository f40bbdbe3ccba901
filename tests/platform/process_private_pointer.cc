// SPDX-License-Identifier: Apache-2.0
// Description: a pointer to enclave-private memory handed to the host is
// useless there, as on hardware: on process the address is not mapped in
// the host, or maps the host's own memory, which does not hold the
// enclave's bytes. (On sim the same pointer works: the test shows the
// difference the process platform makes.)
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using platform::platform_kind;

constexpr std::size_t secret_bytes = 4096;
// Fills a fresh private enclave buffer with the pattern of `nonce` and
// returns its address.
constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> secret_address{"secret_address"};

// The pattern is computed from a nonce the host picks per run, not stored:
// no copy of it lies in the host's memory (an earlier sim run in this
// process, say, or the heap the enclave process inherited at its fork) for
// the comparison to find by accident.
std::byte secret_byte(std::size_t i, std::uint64_t nonce) {
    return static_cast<std::byte>(((i * 131 + 17) ^ (i >> 3) ^ (nonce >> (i % 57))) & 0xff);
}

// Enclave memory: the buffers stay alive until the process ends.
std::vector<std::unique_ptr<std::byte[]>> secrets;

void program(platform::enclave_thread& t) {
    t.host.serve(secret_address, [](std::uint64_t nonce) {
        auto& secret = secrets.emplace_back(new std::byte[secret_bytes]);
        for (std::size_t i = 0; i < secret_bytes; ++i)
            secret[i] = secret_byte(i, nonce);
        return reinterpret_cast<std::uint64_t>(secret.get());
    });
}

// Reads whatever the host has at `address` (on `process`, memory of the
// host's own that may be a free or redzone block of ASan's heap): the read
// is the point of the test, so it is not instrumented.
__attribute__((no_sanitize("address"))) bool holds_the_secret(std::uintptr_t address,
                                                              std::uint64_t nonce) {
    const auto* p = reinterpret_cast<const std::byte*>(address);
    for (std::size_t i = 0; i < secret_bytes; ++i)
        if (p[i] != secret_byte(i, nonce)) return false;
    return true;
}

class private_pointer : public ::testing::TestWithParam<platform_kind> {};

TEST_P(private_pointer, the_host_does_not_see_enclave_memory_through_it) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config = test::process_config();
    config.platform = GetParam();
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60), "private pointer");
    auto ch = (*e)->open_channel(0);
    const std::uint64_t nonce = std::random_device{}() * 0x9E3779B97F4A7C15ull | 1;
    auto a = async::sync_wait(ch->executor(), ch->endpoint().call(secret_address, nonce));
    ASSERT_TRUE(a.has_value()) << to_string(a.error());
    const auto address = static_cast<std::uintptr_t>(*a);
    const bool mapped = test::readable_in_this_process(address, secret_bytes);
    if (GetParam() == platform_kind::sim) {
        ASSERT_TRUE(mapped);
        EXPECT_TRUE(holds_the_secret(address, nonce)) << "sim shares one address space";
        return;
    }
    // Only read the address when the host maps it readable: the host's own
    // memory, then, which must not hold the enclave's bytes.
    EXPECT_FALSE(mapped && holds_the_secret(address, nonce))
        << "the host reads the enclave's private bytes at " << std::hex << address;
}

INSTANTIATE_TEST_SUITE_P(platforms, private_pointer,
                         ::testing::Values(platform_kind::sim, platform_kind::process),
                         [](const auto& p) { return test::platform_name(p.param); });

}  // namespace
