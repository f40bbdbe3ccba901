// SPDX-License-Identifier: Apache-2.0
// Description: on both platforms an enclave pages five times its cache
// through a backing store in enclave_config::untrusted_memory; on `process`
// that is inside the sealed enclave (no system call: RDRAND key, libsodium
// started before the fork), with data larger than the enclave's whole heap;
// a byte the host flips in its own mapping of the store is caught.
#include <gtest/gtest.h>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/suvm/s_ptr.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

constexpr std::size_t cache = std::size_t{4} << 20;
constexpr std::uint64_t data = std::uint64_t{20} << 20;  // 5x the cache, more than the heap

suvm::space_options options() {
    suvm::space_options o;
    o.size = data;
    o.cache_bytes = cache;
    return o;
}

// Writes a pattern over the whole space, then reads it back: 0, or the
// errc of the first failure, or 1 for wrong data.
constexpr rpc::enclave_method<1, std::uint64_t()> round_trip{"round_trip"};
// Reads the whole space again: 0, or the errc of the first failure.
constexpr rpc::enclave_method<2, std::uint64_t()> read_all{"read_all"};

std::span<std::byte> g_store;          // the enclave's mapping (per process)
std::unique_ptr<suvm::space> g_space;  // made on the first call

std::uint64_t code(errc e) {
    return static_cast<std::uint64_t>(e);
}

void program(platform::enclave_thread& t) {
    g_store = t.untrusted_memory;
    t.host.serve(round_trip, []() -> std::uint64_t {
        auto s = suvm::space::create(options(), g_store);
        if (!s) return code(s.error());
        g_space = std::move(*s);
        auto a = suvm::s_array<std::uint64_t>::allocate(*g_space, data / 8);
        if (!a) return code(a.error());
        suvm::s_ptr<std::uint64_t> p = a->begin();
        for (std::uint64_t i = 0; i < a->size(); ++i, ++p)
            if (auto r = p.store(i * 0x9E3779B97F4A7C15ULL); !r) return code(r.error());
        suvm::s_ptr<const std::uint64_t> q = a->begin();
        for (std::uint64_t i = 0; i < a->size(); ++i, ++q) {
            auto v = q.load();
            if (!v) return code(v.error());
            if (*v != i * 0x9E3779B97F4A7C15ULL) return 1;
        }
        return 0;
    });
    t.host.serve(read_all, []() -> std::uint64_t {
        std::vector<std::byte> page(g_space->page_size());
        for (std::uint64_t at = 0; at < data; at += page.size())
            if (auto r = g_space->read(at, page); !r) return code(r.error());
        return 0;
    });
}

class process_paging : public ::testing::TestWithParam<platform::platform_kind> {};

TEST_P(process_paging, five_times_the_cache_and_a_flipped_byte) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config = test::process_config();
    config.platform = GetParam();
    config.enclave_memory = std::size_t{16} << 20;
    config.untrusted_memory = suvm::space::store_size(options()).value();
    auto e = platform::enclave::create(config, program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    ASSERT_GE((*e)->untrusted_memory().size(), config.untrusted_memory);
    test::watchdog dog(std::chrono::seconds(120), "process_paging");
    auto ch = (*e)->open_channel(0);
    auto call = [&](const auto& method) {
        auto r = async::sync_wait(ch->executor(), ch->endpoint().call(method));
        EXPECT_TRUE(r.has_value()) << to_string(r.error()) << " " << (*e)->diagnostic();
        return r.value_or(~0ull);
    };
    EXPECT_EQ(call(round_trip), 0u) << (*e)->diagnostic();
    EXPECT_EQ(call(read_all), 0u);
    // The host flips one byte of a sealed page, in its own mapping.
    (*e)->untrusted_memory()[suvm::slot_bytes(4096) * 3 + 17] ^= std::byte{4};
    EXPECT_EQ(call(read_all), code(errc::suvm_fault_integrity));
    EXPECT_EQ((*e)->failure(), errc::ok) << (*e)->diagnostic();
}

INSTANTIATE_TEST_SUITE_P(platforms, process_paging,
                         ::testing::Values(platform::platform_kind::sim,
                                           platform::platform_kind::process),
                         [](const auto& param_info) {
                             return test::platform_name(param_info.param);
                         });

}  // namespace
