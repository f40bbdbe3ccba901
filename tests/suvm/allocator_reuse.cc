// SPDX-License-Identifier: Apache-2.0
// Description: space::deallocate gives a range back; the next allocation of its class reuses it,
// zeroed; bad and double give-backs are refused.
#include <set>
#include <thread>
#include <utility>

#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

[[nodiscard]] bool reads_zeros(space& s, std::uint64_t address, std::uint64_t bytes) {
    std::vector<std::byte> got(bytes, std::byte{0xee});
    if (!s.read(address, got)) return false;
    for (const std::byte b : got)
        if (b != std::byte{0}) return false;
    return true;
}

TEST(allocator_reuse, a_range_given_back_is_reused_by_its_class_and_reads_zeros) {
    paged p(small_options(64, 4));
    space& s = *p.s;
    const std::uint64_t a = s.allocate(100, 8).value();
    const std::uint64_t b = s.allocate(100, 8).value();
    ASSERT_NE(a, b);
    ASSERT_TRUE(s.fill(a, std::byte{0x5a}, 100).has_value());
    ASSERT_TRUE(s.deallocate(a, 100).has_value());
    EXPECT_EQ(s.stats().free_bytes, 104u);  // 100 rounds up to its class, 104
    // 97..104 bytes are one class: the range comes back, zeroed.
    const std::uint64_t c = s.allocate(97, 8).value();
    EXPECT_EQ(c, a);
    EXPECT_TRUE(reads_zeros(s, c, 104));
    EXPECT_EQ(s.stats().reused_allocations, 1u);
    EXPECT_EQ(s.stats().free_bytes, 0u);
    // Another class is not served from it.
    ASSERT_TRUE(s.deallocate(b, 100).has_value());
    const std::uint64_t d = s.allocate(200, 8).value();
    EXPECT_NE(d, b);
}

TEST(allocator_reuse, an_array_of_the_same_size_takes_the_pages_back) {
    paged p(small_options(64, 4));
    space& s = *p.s;
    auto first = s_array<std::uint64_t>::allocate(s, 5000);  // 40,000 bytes: 10 pages
    ASSERT_TRUE(first.has_value());
    for (std::uint64_t i = 0; i < first->size(); ++i)
        ASSERT_TRUE(first->store(i, i + 1).has_value());
    ASSERT_TRUE(first->deallocate().has_value());
    auto second = s_array<std::uint64_t>::allocate(s, 5000);
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(second->address(), first->address());
    for (std::uint64_t i = 0; i < second->size(); i += 97)
        EXPECT_EQ(second->load(i).value_or(1), 0u) << i;
}

TEST(allocator_reuse, alignment_is_kept_when_a_range_is_reused) {
    paged p(small_options(64, 4));
    space& s = *p.s;
    const std::uint64_t pad = s.allocate(8, 8).value();  // leaves the next range 8-aligned only
    const std::uint64_t a = s.allocate(64, 8).value();
    ASSERT_EQ(a % 64, 8u);
    ASSERT_TRUE(s.deallocate(a, 64).has_value());
    const std::uint64_t b = s.allocate(64, 64).value();
    EXPECT_EQ(b % 64, 0u);
    EXPECT_NE(b, a);
    EXPECT_EQ(s.allocate(64, 8).value(), a);  // an 8-aligned request takes it
    (void)pad;
}

TEST(allocator_reuse, bad_give_backs_are_refused) {
    paged p(small_options(64, 4));
    space& s = *p.s;
    const std::uint64_t a = s.allocate(48, 16).value();
    EXPECT_EQ(s.deallocate(a, 0).error(), errc::invalid_argument);
    EXPECT_EQ(s.deallocate(a + 4096, 48).error(), errc::suvm_out_of_range);  // never handed out
    ASSERT_TRUE(s.deallocate(a, 48).has_value());
    EXPECT_EQ(s.deallocate(a, 48).error(), errc::invalid_argument);  // twice
    EXPECT_EQ(s.stats().free_bytes, 48u);
}

// Threads allocate and give back objects of a few sizes at once: no two
// live objects ever overlap, and the space is reused (TSan runs this).
TEST(allocator_reuse, threads_never_share_a_live_range) {
    paged p(small_options(256, 16));
    space& s = *p.s;
    constexpr int threads = 4;
    constexpr int rounds = 2000;
    std::vector<std::vector<std::pair<std::uint64_t, std::uint64_t>>> live(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            std::uint64_t seed = 0x9e3779b97f4a7c15ull * static_cast<std::uint64_t>(t + 1);
            auto next = [&] {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                return seed;
            };
            auto& mine = live[static_cast<std::size_t>(t)];
            for (int r = 0; r < rounds; ++r) {
                if (!mine.empty() && next() % 2 == 0) {
                    const std::size_t k = next() % mine.size();
                    ASSERT_TRUE(s.deallocate(mine[k].first, mine[k].second).has_value());
                    mine[k] = mine.back();
                    mine.pop_back();
                } else {
                    const std::uint64_t bytes = 16 * (1 + next() % 4);
                    auto a = s.allocate(bytes, 16);
                    ASSERT_TRUE(a.has_value()) << to_string(a.error());
                    mine.emplace_back(*a, bytes);
                }
            }
        });
    }
    for (std::thread& th : pool)
        th.join();
    std::set<std::pair<std::uint64_t, std::uint64_t>> all;
    for (const auto& mine : live)
        for (const auto& range : mine)
            all.insert(range);
    std::uint64_t end = 0;
    for (const auto& [address, bytes] : all) {
        EXPECT_GE(address, end) << "two live ranges overlap at " << address;
        end = address + bytes;
    }
    EXPECT_GT(s.stats().reused_allocations, 0u);
}

}  // namespace
}  // namespace airlock::suvm::test
