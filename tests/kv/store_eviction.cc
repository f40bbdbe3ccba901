// Description: the store keeps within -m by evicting least recently used items per shard, refuses
// items over -I, and counts what it does.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "store.hh"
#include "text_cat.hh"

using namespace airlock::kv;

namespace {
store_result put(store& s, std::string_view key, std::size_t size, std::int64_t now = 100) {
    item_ptr it = s.allocate(key, 0, 0, size);
    if (!it) return store_result::too_large;
    std::memset(it->value_data(), 'v', size);
    return s.put(store_mode::set, it, 0, now);
}
bool has(store& s, std::string_view key) {
    return s.get(key, 100, [](const item&) {}) == lookup::hit;
}
}  // namespace

TEST(KvStore, EvictsLeastRecentlyUsedWithinTheLimit) {
    store_config cfg;
    cfg.memory_limit = 64 * 1024;
    cfg.item_size_max = 8 * 1024;
    cfg.shards = 1;
    store s(cfg);
    for (int i = 0; i < 20; ++i)
        ASSERT_EQ(put(s, kv_test::cat("k", std::to_string(i)), 4000), store_result::stored);
    EXPECT_LE(s.counters().bytes, cfg.memory_limit);
    EXPECT_GT(s.counters().evictions, 0u);
    EXPECT_FALSE(has(s, "k0"));
    EXPECT_TRUE(has(s, "k19"));
    // Touching an old item keeps it over a newer one.
    const std::string oldest_left = [&] {
        for (int i = 0; i < 20; ++i)
            if (has(s, kv_test::cat("k", std::to_string(i))))
                return kv_test::cat("k", std::to_string(i));
        return std::string();
    }();
    ASSERT_FALSE(oldest_left.empty());
    ASSERT_TRUE(has(s, oldest_left));
    ASSERT_EQ(put(s, "new", 4000), store_result::stored);
    EXPECT_TRUE(has(s, oldest_left));
}

TEST(KvStore, RefusesItemsOverTheItemLimit) {
    store_config cfg;
    cfg.item_size_max = 1024;
    store s(cfg);
    EXPECT_TRUE(s.item_size_ok(1, 0, 1024 - 48 - 8 - 2 - 2));
    EXPECT_FALSE(s.item_size_ok(1, 0, 1024 - 48 - 8 - 2 - 1));
    EXPECT_FALSE(s.item_size_ok(1, 1, 1024 - 48 - 8 - 2 - 2));
    EXPECT_EQ(put(s, "k", 5000), store_result::too_large);
}

TEST(KvStore, ShardsAreChosenFromTheLimits) {
    EXPECT_EQ(store::choose_shards({64u << 20, 1u << 20, 0}), 16u);
    EXPECT_EQ(store::choose_shards({1u << 20, 1u << 20, 0}), 1u);
    EXPECT_EQ(store::choose_shards({std::size_t{4096} << 20, 1u << 20, 0}), 64u);
}

TEST(KvStore, CasAndModes) {
    store s(store_config{});
    ASSERT_EQ(put(s, "a", 1), store_result::stored);
    std::uint64_t cas = 0;
    s.get("a", 100, [&](const item& it) { cas = it.cas; });
    item_ptr it = s.allocate("a", 0, 0, 1);
    EXPECT_EQ(s.put(store_mode::cas, it, cas + 1, 100), store_result::exists);
    EXPECT_EQ(s.put(store_mode::cas, it, cas, 100), store_result::stored);
    it = s.allocate("b", 0, 0, 1);
    EXPECT_EQ(s.put(store_mode::replace, it, 0, 100), store_result::not_stored);
    EXPECT_EQ(s.put(store_mode::cas, it, 1, 100), store_result::not_found);
    EXPECT_EQ(s.put(store_mode::add, it, 0, 100), store_result::stored);
    it = s.allocate("b", 0, 0, 1);
    EXPECT_EQ(s.put(store_mode::add, it, 0, 100), store_result::not_stored);
    EXPECT_EQ(s.remove("b", 100), store_result::stored);
    EXPECT_EQ(s.remove("b", 100), store_result::not_found);
}
