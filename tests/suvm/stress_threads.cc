// SPDX-License-Identifier: Apache-2.0
// Description: several threads read and write one space at once, on shared
// pages, with a cache far smaller than the data; each keeps a private
// reference copy of its own elements, checked as it goes and at the end.
// Ops per thread scale with AIRLOCK_STRESS_SCALE.
#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include "support/region_fixture.hh"
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

struct stress_config {
    const char* name;
    std::size_t page_size;
    std::size_t frames;
};

class stress_threads : public ::testing::TestWithParam<stress_config> {};

TEST_P(stress_threads, private_reference_copies_match) {
    constexpr int threads = 4;
    const auto cfg = GetParam();
    constexpr std::uint64_t elements = 64 * 1024;  // 512 KiB of uint64
    space_options o;
    o.page_size = cfg.page_size;
    o.cache_bytes = cfg.frames * cfg.page_size;
    o.size = elements * 8;
    paged p(o);
    ASSERT_TRUE(p.s);
    auto arr = s_array<std::uint64_t>::allocate(*p.s, elements);
    ASSERT_TRUE(arr.has_value());
    const auto ops =
        static_cast<std::uint64_t>(std::max(2000.0, 100'000 * airlock::test::stress_scale()));
    std::atomic<std::uint64_t> progress{0};
    airlock::test::watchdog dog(std::chrono::seconds(240), "suvm.stress_threads", [&] {
        std::fprintf(stderr, "progress %llu\n", static_cast<unsigned long long>(progress.load()));
    });

    std::vector<std::vector<std::uint64_t>> reference(threads);
    std::atomic<int> failures{0};
    std::atomic<errc> first_error{errc::ok};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            // Thread t owns elements i with i % threads == t: every page is
            // shared. Each thread holds at most two pins (its cursor and one
            // bulk access), so 2 * threads frames never run out.
            auto& ref = reference[t];
            ref.assign(elements / threads, 0);
            std::mt19937_64 rng(1234 + t);
            s_ptr<std::uint64_t> cursor = arr->begin();
            for (std::uint64_t n = 0; n < ops; ++n) {
                const std::uint64_t k = rng() % ref.size();
                const std::uint64_t i = k * threads + t;
                switch (rng() % 4) {
                    case 0: {  // write through an s_ptr
                        const std::uint64_t v = rng();
                        cursor = arr->at(i);
                        if (auto r = cursor.store(v); !r) {
                            first_error = r.error();
                            ++failures;
                            return;
                        }
                        ref[k] = v;
                        break;
                    }
                    case 1: {  // read through an s_ptr<const>
                        s_ptr<const std::uint64_t> q = arr->at(i);
                        auto v = q.load();
                        if (!v || *v != ref[k]) {
                            first_error = v ? errc::ok : v.error();
                            ++failures;
                            return;
                        }
                        break;
                    }
                    case 2: {  // bulk write
                        const std::uint64_t v = rng();
                        if (auto r = arr->store(i, v); !r) {
                            first_error = r.error();
                            ++failures;
                            return;
                        }
                        ref[k] = v;
                        break;
                    }
                    default: {  // a short sequential scan of own elements
                        for (std::uint64_t j = k; j < std::min<std::uint64_t>(ref.size(), k + 64);
                             ++j) {
                            auto v = arr->load(j * threads + t);
                            if (!v || *v != ref[j]) {
                                first_error = v ? errc::ok : v.error();
                                ++failures;
                                return;
                            }
                        }
                    }
                }
                progress.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    for (auto& th : pool)
        th.join();
    ASSERT_EQ(failures.load(), 0) << to_string(first_error.load());
    ASSERT_EQ(p.s->fault(), errc::ok);
    for (std::uint64_t i = 0; i < elements; ++i) {
        auto v = arr->load(i);
        ASSERT_TRUE(v.has_value());
        ASSERT_EQ(*v, reference[i % threads][i / threads]) << "element " << i;
    }
    const auto st = p.s->stats();
    EXPECT_GT(st.evictions, 0u);
    EXPECT_GT(st.write_backs, 0u);
}

INSTANTIATE_TEST_SUITE_P(configs, stress_threads,
                         ::testing::Values(stress_config{"pages_4k_frames_8", 4096, 8},
                                           stress_config{"pages_1k_frames_10", 1024, 10},
                                           stress_config{"pages_16k_frames_8", 16384, 8}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace airlock::suvm::test
