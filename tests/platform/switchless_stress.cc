// SPDX-License-Identifier: Apache-2.0
// Description: several caller threads make thousands of switchless calls at
// once over every pool shape; each call runs exactly once (on a worker or
// through the fallback), sees its caller's data and returns its own result.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "airlock/platform/switchless.hh"
#include "support/region_fixture.hh"

using namespace airlock::platform;
using airlock::test::watchdog;

namespace {

struct shape {
    std::size_t workers;
    std::size_t slots;
    std::uint32_t retries_before_fallback;
    std::uint32_t retries_before_sleep;
    std::string name;
};

std::string shape_name(const testing::TestParamInfo<shape>& info) {
    return info.param.name;
}

class switchless_stress : public testing::TestWithParam<shape> {};

}  // namespace

TEST_P(switchless_stress, every_call_runs_once_with_its_result) {
    const shape& p = GetParam();
    watchdog dog(std::chrono::seconds(240), "switchless_stress." + p.name);
    const tsc_clock clock(1.0);
    modelled_transition regular(0, clock);
    switchless_options o;
    o.fallback = &regular;
    o.retries_before_fallback = p.retries_before_fallback;
    o.retries_before_sleep = p.retries_before_sleep;
    switchless_pool pool(p.workers, p.slots, o);

    constexpr std::size_t callers = 4;
    const auto per_caller =
        static_cast<std::size_t>(std::max(50.0, 2000.0 * airlock::test::stress_scale()));
    // Plain (non-atomic) data written by whichever thread runs the call and
    // read by the caller afterwards: the pool's ordering must make it safe.
    std::vector<std::vector<std::uint32_t>> runs(callers, std::vector<std::uint32_t>(per_caller));
    std::vector<std::size_t> wrong(callers, 0);

    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < callers; ++c) {
        threads.emplace_back([&, c] {
            std::uint64_t argument[8];
            std::uint64_t copy[8];
            for (std::size_t i = 0; i < per_caller; ++i) {
                for (std::size_t k = 0; k < 8; ++k)
                    argument[k] = c * 1'000'003 + i * 8 + k;
                const std::uint64_t got = pool.call([&] {
                    ++runs[c][i];
                    std::memcpy(copy, argument, sizeof argument);  // the marshalling copy
                    std::uint64_t sum = 0;
                    for (const std::uint64_t v : copy)
                        sum += v;
                    return sum;
                });
                std::uint64_t want = 0;
                for (std::size_t k = 0; k < 8; ++k)
                    want += c * 1'000'003 + i * 8 + k;
                if (got != want || std::memcmp(copy, argument, sizeof argument) != 0) ++wrong[c];
            }
        });
    }
    for (auto& t : threads)
        t.join();

    for (std::size_t c = 0; c < callers; ++c) {
        EXPECT_EQ(wrong[c], 0u) << "caller " << c << " got wrong results";
        for (std::size_t i = 0; i < per_caller; ++i)
            ASSERT_EQ(runs[c][i], 1u) << "caller " << c << " call " << i << " ran that often";
    }
    const switchless_stats st = pool.stats();
    EXPECT_EQ(st.calls(), callers * per_caller)
        << "served " << st.served << " + no slot " << st.fallback_no_slot << " + not accepted "
        << st.fallback_not_accepted;
    EXPECT_EQ(regular.calls(), st.fallbacks());
}

INSTANTIATE_TEST_SUITE_P(shapes, switchless_stress,
                         testing::Values(shape{1, 1, 20'000, 20'000, "one_worker_one_slot"},
                                         shape{2, 4, 20'000, 20'000, "sdk_budgets"},
                                         shape{2, 64, 64, 20'000, "short_fallback_budget"},
                                         shape{1, 2, 0, 20'000, "no_fallback_budget"},
                                         shape{2, 8, 20'000, 8, "workers_park_often"},
                                         shape{3, 130, 1'000, 64, "three_bitmap_words"}),
                         shape_name);
