// SPDX-License-Identifier: Apache-2.0
// Description: a direct-mode space (sub-pages of 256, 512 and 1 KiB) reads
// back what was written through s_ptr load/store, read, write, fill and
// compare, against a reference copy, across sub-page and page boundaries.
#include <random>

#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

struct direct_config {
    const char* name;
    std::size_t sub;
    std::size_t page_size;
    cipher c;
};

class direct_round_trip : public ::testing::TestWithParam<direct_config> {};

TEST_P(direct_round_trip, random_accesses_match_a_reference_copy) {
    const auto cfg = GetParam();
    auto o = direct_options(cfg.sub, 12, cfg.page_size);
    o.cipher_choice = cfg.c;
    paged p(o);
    ASSERT_TRUE(p.s);
    ASSERT_TRUE(p.s->direct());
    const std::uint64_t size = p.s->size();
    std::vector<std::byte> ref(size);
    std::mt19937_64 rng(42 + cfg.sub);
    for (int op = 0; op < 3000; ++op) {
        const std::uint64_t at = rng() % size;
        const std::uint64_t len = std::min<std::uint64_t>(1 + rng() % (3 * cfg.sub), size - at);
        switch (rng() % 6) {
            case 0: {  // an 8-byte store through an s_ptr
                const std::uint64_t w = (at & ~std::uint64_t{7}) % (size - 8);
                const std::uint64_t v = rng();
                s_ptr<std::uint64_t> q(*p.s, w);
                ASSERT_TRUE(q.store(v).has_value());
                std::memcpy(ref.data() + w, &v, 8);
                break;
            }
            case 1: {  // an 8-byte load, possibly straddling sub-pages
                const std::uint64_t w = at % (size - 8);
                s_ptr<const std::uint64_t> q(*p.s, w);
                auto v = q.load();
                ASSERT_TRUE(v.has_value()) << to_string(v.error());
                std::uint64_t want;
                std::memcpy(&want, ref.data() + w, 8);
                ASSERT_EQ(*v, want) << "at " << w;
                break;
            }
            case 2: {
                std::vector<std::byte> in(len);
                for (auto& b : in)
                    b = static_cast<std::byte>(rng());
                ASSERT_TRUE(p.s->write(at, in).has_value());
                std::memcpy(ref.data() + at, in.data(), len);
                break;
            }
            case 3: {
                std::vector<std::byte> out(len);
                ASSERT_TRUE(p.s->read(at, out).has_value());
                ASSERT_EQ(std::memcmp(out.data(), ref.data() + at, len), 0) << "at " << at;
                break;
            }
            case 4: {
                const auto v = static_cast<std::byte>(rng());
                ASSERT_TRUE(p.s->fill(at, v, len).has_value());
                std::memset(ref.data() + at, static_cast<int>(v), len);
                break;
            }
            default: {
                auto c = p.s->compare(at, {ref.data() + at, len});
                ASSERT_TRUE(c.has_value());
                ASSERT_EQ(*c, 0);
            }
        }
    }
    std::vector<std::byte> all(size);
    ASSERT_TRUE(p.s->read(0, all).has_value());
    EXPECT_EQ(all, ref);
    EXPECT_EQ(p.s->fault(), errc::ok);
    EXPECT_GT(p.s->stats().sub_page_opens, 0u);
    EXPECT_GT(p.s->stats().sub_page_seals, 0u);
}

TEST_P(direct_round_trip, a_word_access_touches_one_sub_page_slot) {
    const auto cfg = GetParam();
    paged p(direct_options(cfg.sub, 8, cfg.page_size));
    ASSERT_TRUE(p.s->fill(0, std::byte{3}, p.s->size()).has_value());
    const std::uint64_t at = 5 * cfg.page_size + cfg.sub + 16;  // page 5, sub-page 1
    const std::uint64_t index = at / cfg.sub;
    const auto before = p.memory->snapshot();
    const auto st0 = p.s->stats();

    s_ptr<const std::uint64_t> r(*p.s, at);
    ASSERT_EQ(r.load().value(), 0x0303030303030303u);
    EXPECT_EQ(p.memory->snapshot(), before) << "a read wrote to the store";
    EXPECT_EQ(p.s->stats().sub_page_opens, st0.sub_page_opens + 1);

    s_ptr<std::uint64_t> w(*p.s, at);
    ASSERT_TRUE(w.store(77).has_value());
    const auto after = p.memory->snapshot();
    for (std::size_t i = 0; i < after.size(); ++i) {
        if (i / p.sub_slot_size() != index) {
            ASSERT_EQ(after[i], before[i]) << "byte " << i << " outside the sub-page's slot";
        }
    }
    EXPECT_NE(std::memcmp(p.sub_slot(index), before.data() + index * p.sub_slot_size(),
                          p.sub_slot_size()),
              0);
    EXPECT_EQ(p.s->stats().sub_page_opens, st0.sub_page_opens + 2);
    EXPECT_EQ(p.s->stats().sub_page_seals, st0.sub_page_seals + 1);
    EXPECT_EQ(r.load().value(), 77u);
}

INSTANTIATE_TEST_SUITE_P(
    configs, direct_round_trip,
    ::testing::Values(direct_config{"sub_256", 256, 4096, cipher::automatic},
                      direct_config{"sub_512", 512, 4096, cipher::automatic},
                      direct_config{"sub_1k", 1024, 4096, cipher::automatic},
                      direct_config{"sub_256_page_1k", 256, 1024, cipher::automatic},
                      direct_config{"sub_1k_page_1k", 1024, 1024, cipher::automatic},
                      direct_config{"sub_512_xchacha", 512, 4096, cipher::xchacha20poly1305}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(direct_round_trip, never_written_reads_zeros_without_reading_the_store) {
    paged p(direct_options(256));
    std::memset(p.memory->data(), 0x5A, p.memory->span().size());  // whatever the host left
    std::vector<std::byte> out(p.s->size(), std::byte{1});
    ASSERT_TRUE(p.s->read(0, out).has_value());
    EXPECT_EQ(out, std::vector<std::byte>(p.s->size()));
    EXPECT_EQ(p.s->stats().sub_page_opens, 0u);
}

TEST(direct_round_trip, whole_sub_page_writes_do_not_open_the_old_one) {
    paged p(direct_options(512));
    std::vector<std::byte> in(3 * 512, std::byte{9});
    ASSERT_TRUE(p.s->write(512, in).has_value());
    ASSERT_TRUE(p.s->write(512, in).has_value());
    EXPECT_EQ(p.s->stats().sub_page_opens, 0u);
    EXPECT_EQ(p.s->stats().sub_page_seals, 6u);
}

TEST(direct_round_trip, nothing_to_pin) {
    paged p(direct_options(1024));
    EXPECT_EQ(p.s->frame_count(), 0u);
    EXPECT_EQ(p.s->cache_bytes(), 0u);
    EXPECT_EQ(p.s->metadata_bytes(), 16 * 4 * sizeof(std::uint64_t));
    EXPECT_EQ(p.s->pin(0).error(), errc::suvm_direct_space);
    s_ptr<std::uint64_t> q(*p.s, 64);
    EXPECT_EQ(q.get().error(), errc::suvm_direct_space);
    ASSERT_TRUE(q.store(5).has_value());
    // (*q stops the program: tests/suvm/direct_deref.cc.)
    EXPECT_EQ(q.load().value(), 5u);
    EXPECT_TRUE(p.s->flush().has_value());
    EXPECT_EQ(p.s->fault(), errc::ok);
}

TEST(direct_round_trip, store_layout_and_sizes) {
    for (std::size_t sub : {256u, 512u, 1024u}) {
        EXPECT_EQ(space::store_size(direct_options(sub, 16)).value(),
                  16 * (4096 / sub) * slot_bytes(sub));
    }
    EXPECT_EQ(slot_bytes(256), 320u);
    EXPECT_EQ(slot_bytes(1024), 1088u);
    for (std::size_t bad : {64u, 128u, 384u, 2048u, 4096u}) {
        EXPECT_EQ(space::store_size(direct_options(bad)).error(), errc::invalid_argument) << bad;
        untrusted_memory m(1 << 20);
        EXPECT_EQ(space::create(direct_options(bad), m.span()).error(), errc::invalid_argument);
    }
}

TEST(direct_round_trip, allocator_reuse_is_zeroed) {
    paged p(direct_options(256, 4));
    auto a = s_array<std::uint64_t>::allocate(*p.s, 100);
    ASSERT_TRUE(a.has_value());
    for (std::uint64_t i = 0; i < 100; ++i)
        ASSERT_TRUE(a->store(i, i + 1).has_value());
    ASSERT_TRUE(a->deallocate().has_value());
    auto b = s_array<std::uint64_t>::allocate(*p.s, 100);
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->address(), a->address());
    for (std::uint64_t i = 0; i < 100; ++i)
        ASSERT_EQ(b->load(i).value(), 0u);
}

}  // namespace
}  // namespace airlock::suvm::test
