// SPDX-License-Identifier: Apache-2.0
// Description: several threads read and write one direct-mode space at
// once, their elements interleaved so that every sub-page is shared; each
// keeps a private reference copy of its own elements, checked as it goes
// and at the end. Ops per thread scale with AIRLOCK_STRESS_SCALE.
#include <atomic>
#include <random>
#include <thread>

#include "support/region_fixture.hh"
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

class direct_stress_threads : public ::testing::TestWithParam<std::size_t> {};

TEST_P(direct_stress_threads, private_reference_copies_match) {
    constexpr int threads = 4;
    constexpr std::uint64_t elements = 16 * 1024;  // 128 KiB of uint64
    paged p(direct_options(GetParam(), elements * 8 / 4096));
    ASSERT_TRUE(p.s);
    auto arr = s_array<std::uint64_t>::allocate(*p.s, elements);
    ASSERT_TRUE(arr.has_value());
    const auto ops =
        static_cast<std::uint64_t>(std::max(2000.0, 50'000 * airlock::test::stress_scale()));
    std::atomic<std::uint64_t> progress{0};
    airlock::test::watchdog dog(std::chrono::seconds(240), "suvm.direct_stress_threads", [&] {
        std::fprintf(stderr, "progress %llu\n", static_cast<unsigned long long>(progress.load()));
    });

    std::vector<std::vector<std::uint64_t>> reference(threads);
    std::atomic<int> failures{0};
    std::atomic<errc> first_error{errc::ok};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            // Thread t owns elements i with i % threads == t.
            auto& ref = reference[t];
            ref.assign(elements / threads, 0);
            std::mt19937_64 rng(99 + t);
            const auto fail = [&](errc e) {
                first_error = e;
                ++failures;
            };
            for (std::uint64_t n = 0; n < ops; ++n) {
                const std::uint64_t k = rng() % ref.size();
                const std::uint64_t i = k * threads + t;
                switch (rng() % 4) {
                    case 0: {  // an 8-byte store through an s_ptr
                        const std::uint64_t v = rng();
                        if (auto r = arr->at(i).store(v); !r) return fail(r.error());
                        ref[k] = v;
                        break;
                    }
                    case 1: {  // an 8-byte load through an s_ptr<const>
                        s_ptr<const std::uint64_t> q = arr->at(i);
                        auto v = q.load();
                        if (!v) return fail(v.error());
                        if (*v != ref[k]) return fail(errc::ok);
                        break;
                    }
                    case 2: {  // a read of a run of elements (others' too), own ones checked
                        std::uint64_t run[64];
                        const std::uint64_t from = std::min<std::uint64_t>(i, elements - 64);
                        auto r =
                            p.s->read(from * 8, {reinterpret_cast<std::byte*>(run), sizeof run});
                        if (!r) return fail(r.error());
                        for (std::uint64_t j = from; j < from + 64; ++j)
                            if (j % threads == static_cast<std::uint64_t>(t) &&
                                run[j - from] != ref[j / threads])
                                return fail(errc::ok);
                        break;
                    }
                    default: {  // increment own element: a read, then a write
                        auto v = arr->load(i);
                        if (!v) return fail(v.error());
                        if (auto r = arr->store(i, *v + 1); !r) return fail(r.error());
                        ref[k] = *v + 1;
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
    for (std::uint64_t i = 0; i < elements; ++i)
        ASSERT_EQ(arr->load(i).value(), reference[i % threads][i / threads]) << "element " << i;
    EXPECT_GT(p.s->stats().sub_page_seals, 0u);
}

INSTANTIATE_TEST_SUITE_P(sub_pages, direct_stress_threads, ::testing::Values(256, 512, 1024));

}  // namespace
}  // namespace airlock::suvm::test
