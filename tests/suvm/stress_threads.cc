// SPDX-License-Identifier: Apache-2.0
// Description: several threads read and write one space at once, on shared
// pages, with a cache far smaller than the data; each keeps a private
// reference copy of its own elements, checked as it goes and at the end.
// Ops per thread scale with AIRLOCK_STRESS_SCALE.
#include "stress_support.hh"

namespace airlock::suvm::test {
namespace {

struct stress_config {
    const char* name;
    std::size_t page_size;
    std::size_t frames;
};

class stress_threads : public ::testing::TestWithParam<stress_config> {};

TEST_P(stress_threads, private_reference_copies_match) {
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

    // Each thread holds at most two pins (its cursor and one bulk access),
    // so 2 * threads frames never run out.
    const stress_plan plan{"suvm.stress_threads", 4, stress_ops(100'000), 1234};
    run_interleaved_stress(*p.s, *arr, plan, [&](int) {
        return [&, cursor = s_ptr<std::uint64_t>()](stress_step& st) mutable -> step_outcome {
            switch (st.rng() % 4) {
                case 0: {  // write through an s_ptr
                    const std::uint64_t v = st.rng();
                    cursor = arr->at(st.i);
                    if (auto r = cursor.store(v); !r) return step_outcome::failed(r.error());
                    st.ref[st.k] = v;
                    return step_outcome::passed();
                }
                case 1: {  // read through an s_ptr<const>
                    s_ptr<const std::uint64_t> q = arr->at(st.i);
                    auto v = q.load();
                    if (!v) return step_outcome::failed(v.error());
                    return *v == st.ref[st.k] ? step_outcome::passed() : step_outcome::differs();
                }
                case 2: {  // bulk write
                    const std::uint64_t v = st.rng();
                    if (auto r = arr->store(st.i, v); !r) return step_outcome::failed(r.error());
                    st.ref[st.k] = v;
                    return step_outcome::passed();
                }
                default: {  // a short sequential scan of own elements
                    const std::uint64_t end = std::min<std::uint64_t>(st.ref.size(), st.k + 64);
                    for (std::uint64_t j = st.k; j < end; ++j) {
                        auto v = arr->load(j * st.threads + st.thread);
                        if (!v) return step_outcome::failed(v.error());
                        if (*v != st.ref[j]) return step_outcome::differs();
                    }
                    return step_outcome::passed();
                }
            }
        };
    });
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
