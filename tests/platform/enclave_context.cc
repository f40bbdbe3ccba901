// SPDX-License-Identifier: Apache-2.0
// Description: an enclave program with a context: the context is built once
// inside the enclave from the settings the host passed as bytes, every
// enclave thread's program gets the same one, its handlers share its state,
// a constructor that throws makes create fail with enclave_context_failed,
// and plain programs still work; on sim and process.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"

namespace {

using namespace airlock;
using platform::platform_kind;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> add_to_total{"add_to_total"};
constexpr rpc::enclave_method<2, std::uint64_t()> limit{"limit"};
constexpr rpc::enclave_method<3, std::uint64_t()> programs_run{"programs_run"};

struct vault_settings {
    std::uint64_t limit;
    std::uint64_t start;
    bool fail;
};

// Shared by every enclave thread: atomics, since they serve at once.
struct vault_state {
    explicit vault_state(const vault_settings& s) : limit(s.limit), total(s.start) {
        if (s.fail) throw std::runtime_error("bad settings");
    }
    std::uint64_t limit;
    std::atomic<std::uint64_t> total;
    std::atomic<std::uint64_t> programs{0};
};

void vault_program(platform::enclave_thread& t, vault_state& state) {
    state.programs.fetch_add(1);
    t.host.serve(add_to_total, [&state](std::uint64_t x) { return state.total += x; });
    t.host.serve(limit, [&state] { return state.limit; });
    t.host.serve(programs_run, [&state] { return state.programs.load(); });
}

void plain_program(platform::enclave_thread& t) {
    t.host.serve(limit, [] { return std::uint64_t{7}; });
}

class enclave_context : public ::testing::TestWithParam<platform_kind> {
  protected:
    platform::enclave_config config(std::size_t threads) const {
        platform::enclave_config c = test::process_config(threads);
        c.platform = GetParam();
        return c;
    }
    // One host_channel per channel for the life of the enclave.
    template <class M>
    std::uint64_t call(platform::enclave& e, std::size_t channel, const M& m, auto... args) {
        if (channels_.size() <= channel) channels_.resize(channel + 1);
        if (!channels_[channel]) channels_[channel] = e.open_channel(channel);
        auto& ch = *channels_[channel];
        auto r = async::sync_wait(ch.executor(), ch.endpoint().call(m, args...));
        EXPECT_TRUE(r.has_value()) << to_string(r.error());
        return r ? *r : 0;
    }
    // Executors on one thread end in the reverse order of their making.
    void close_channels() {
        while (!channels_.empty())
            channels_.pop_back();
    }
    std::vector<std::unique_ptr<platform::host_channel>> channels_;
};

TEST_P(enclave_context, one_context_built_from_the_settings_is_shared_by_every_thread) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    const vault_settings settings{.limit = 1000, .start = 5, .fail = false};
    auto e = platform::enclave::create<vault_state>(config(3), settings, &vault_program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    EXPECT_EQ(call(**e, 0, limit), 1000u);
    EXPECT_EQ(call(**e, 0, programs_run), 3u);  // one context, three programs
    // State written through one thread's handler is seen through another's.
    EXPECT_EQ(call(**e, 0, add_to_total, std::uint64_t{10}), 15u);
    EXPECT_EQ(call(**e, 1, add_to_total, std::uint64_t{20}), 35u);
    EXPECT_EQ(call(**e, 2, add_to_total, std::uint64_t{1}), 36u);
    close_channels();  // before the enclave
}

TEST_P(enclave_context, a_context_that_cannot_be_built_fails_create_with_a_reason) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    const vault_settings settings{.limit = 1, .start = 0, .fail = true};
    auto e = platform::enclave::create<vault_state>(config(2), settings, &vault_program);
    ASSERT_FALSE(e.has_value());
    EXPECT_EQ(e.error(), errc::enclave_context_failed);
}

TEST_P(enclave_context, plain_programs_still_work) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    auto e = platform::enclave::create(config(1), &plain_program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    EXPECT_EQ(call(**e, 0, limit), 7u);
    close_channels();
}

INSTANTIATE_TEST_SUITE_P(platforms, enclave_context,
                         ::testing::Values(platform_kind::sim, platform_kind::process),
                         [](const auto& p) { return test::platform_name(p.param); });

}  // namespace
