// Description: many threads setting, reading, incrementing and deleting in one sharded store end in
// the state a model predicts.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store.hh"
#include "text_cat.hh"

using namespace airlock::kv;

TEST(KvStoreThreads, DisjointKeysAndASharedCounter) {
    store_config cfg;
    cfg.shards = 8;
    store s(cfg);
    constexpr int threads = 4, ops = 20000;
    {
        item_ptr c = s.allocate("counter", 0, 0, 1);
        c->value_data()[0] = '0';
        ASSERT_EQ(s.put(store_mode::set, c, 0, 1), store_result::stored);
    }
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&s, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            for (int i = 0; i < ops; ++i) {
                const std::string key =
                    kv_test::cat("t", std::to_string(t), "k", std::to_string(rng() % 64));
                switch (rng() % 4) {
                    case 0: {
                        item_ptr it = s.allocate(key, static_cast<std::uint32_t>(t), 0, key.size());
                        std::memcpy(it->value_data(), key.data(), key.size());
                        (void)s.put(store_mode::set, it, 0, 1);
                        break;
                    }
                    case 1:
                        s.get(key, 1, [&](const item& it) {
                            if (it.value() != key || it.flags != static_cast<std::uint32_t>(t))
                                ADD_FAILURE() << "torn item " << key;
                        });
                        break;
                    case 2:
                        (void)s.remove(key, 1);
                        break;
                    default: {
                        char buf[24];
                        std::size_t len = 0;
                        (void)s.delta("counter", true, 1, 1, buf, &len);
                    }
                }
            }
        });
    }
    for (auto& th : pool)
        th.join();
    // Each thread's increments all landed: recount them from the same seeds.
    std::uint64_t incrs = 0;
    for (int t = 0; t < threads; ++t) {
        std::mt19937 rng(static_cast<unsigned>(t));
        for (int i = 0; i < ops; ++i) {
            (void)(rng() % 64);
            if (rng() % 4 == 3) ++incrs;
        }
    }
    std::string got;
    s.get("counter", 1, [&](const item& it) { got = std::string(it.value()); });
    while (!got.empty() && got.back() == ' ')
        got.pop_back();
    EXPECT_EQ(got, std::to_string(incrs));
}
