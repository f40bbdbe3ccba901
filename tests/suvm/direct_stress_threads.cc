// SPDX-License-Identifier: Apache-2.0
// Description: several threads read and write one direct-mode space at
// once, their elements interleaved so that every sub-page is shared; each
// keeps a private reference copy of its own elements, checked as it goes
// and at the end. Ops per thread scale with AIRLOCK_STRESS_SCALE.
#include "stress_support.hh"

namespace airlock::suvm::test {
namespace {

class direct_stress_threads : public ::testing::TestWithParam<std::size_t> {};

TEST_P(direct_stress_threads, private_reference_copies_match) {
    constexpr std::uint64_t elements = 16 * 1024;  // 128 KiB of uint64
    paged p(direct_options(GetParam(), elements * 8 / 4096));
    ASSERT_TRUE(p.s);
    auto arr = s_array<std::uint64_t>::allocate(*p.s, elements);
    ASSERT_TRUE(arr.has_value());

    const stress_plan plan{"suvm.direct_stress_threads", 4, stress_ops(50'000), 99};
    run_interleaved_stress(*p.s, *arr, plan, [&](int) {
        return [&](stress_step& st) -> step_outcome {
            switch (st.rng() % 4) {
                case 0: {  // an 8-byte store through an s_ptr
                    const std::uint64_t v = st.rng();
                    if (auto r = arr->at(st.i).store(v); !r) return step_outcome::failed(r.error());
                    st.ref[st.k] = v;
                    return step_outcome::passed();
                }
                case 1: {  // an 8-byte load through an s_ptr<const>
                    s_ptr<const std::uint64_t> q = arr->at(st.i);
                    auto v = q.load();
                    if (!v) return step_outcome::failed(v.error());
                    return *v == st.ref[st.k] ? step_outcome::passed() : step_outcome::differs();
                }
                case 2: {  // a read of a run of elements (others' too), own ones checked
                    std::uint64_t run[64];
                    const std::uint64_t from = std::min<std::uint64_t>(st.i, elements - 64);
                    auto r = p.s->read(from * 8, {reinterpret_cast<std::byte*>(run), sizeof run});
                    if (!r) return step_outcome::failed(r.error());
                    for (std::uint64_t j = from; j < from + 64; ++j)
                        if (j % st.threads == static_cast<std::uint64_t>(st.thread) &&
                            run[j - from] != st.ref[j / st.threads])
                            return step_outcome::differs();
                    return step_outcome::passed();
                }
                default: {  // increment own element: a read, then a write
                    auto v = arr->load(st.i);
                    if (!v) return step_outcome::failed(v.error());
                    if (auto r = arr->store(st.i, *v + 1); !r)
                        return step_outcome::failed(r.error());
                    st.ref[st.k] = *v + 1;
                    return step_outcome::passed();
                }
            }
        };
    });
    EXPECT_GT(p.s->stats().sub_page_seals, 0u);
}

INSTANTIATE_TEST_SUITE_P(sub_pages, direct_stress_threads, ::testing::Values(256, 512, 1024));

}  // namespace
}  // namespace airlock::suvm::test
