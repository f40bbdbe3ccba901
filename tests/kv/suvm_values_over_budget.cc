// SPDX-License-Identifier: Apache-2.0
// Description: on the sealed `process` platform, with item values in a suvm
// space (--items-in suvm), an enclave with a 32 MiB memory budget stores
// values totalling about four times that budget, and reads every one back.
#include <gtest/gtest.h>

#include <string>

#include "enclave_front.hh"
#include "kv_client.hh"
#include "platform/process_support.hh"
#include "text_cat.hh"

namespace {

using kv_test::cat;

// Value i: 96 KiB, a pattern that differs for every i.
std::string value_of(int i) {
    std::string v(96 << 10, ' ');
    for (std::size_t k = 0; k < v.size(); ++k)
        v[k] = static_cast<char>('A' + (k * 7 + static_cast<std::size_t>(i) * 13) % 53 % 26);
    v.replace(0, std::to_string(i).size(), std::to_string(i));
    return v;
}

TEST(KvSuvmValues, ProcessEnclaveHoldsSeveralTimesItsBudget) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(airlock::platform::platform_kind::process);
    if (airlock::test::sanitized_build)
        GTEST_SKIP() << "a sanitizer's allocator maps its own memory: the fixed heap is glibc's";
    airlock::kv::enclave_options eo;
    eo.platform = airlock::platform::platform_kind::process;
    eo.listen = "127.0.0.1";
    eo.port = 0;
    eo.threads = 1;
    eo.engine.store.memory_limit = std::size_t{192} << 20;  // -m: value bytes in the space
    eo.engine.store.item_size_max = std::size_t{1} << 20;
    eo.items_in_suvm = true;
    eo.suvm_cache_bytes = std::size_t{4} << 20;
    constexpr std::size_t budget = std::size_t{32} << 20;
    eo.enclave_memory = budget;
    auto front = airlock::kv::enclave_front::start(eo);
    ASSERT_TRUE(front.has_value()) << front.error();

    kv_test::client c;
    ASSERT_TRUE(c.connect((*front)->port()));
    constexpr int items = 1400;  // 1400 * 96 KiB = 131 MiB, about 4 times the budget
    static_assert(std::size_t{items} * (96 << 10) >= 4 * budget);
    for (int i = 0; i < items; ++i) {
        const std::string v = value_of(i);
        ASSERT_EQ(c.exchange(cat("set k", std::to_string(i), " 0 0 ", std::to_string(v.size()),
                                 "\r\n", v, "\r\n")),
                  "STORED\r\n")
            << "item " << i;
    }
    for (int i = 0; i < items; ++i) {
        const std::string v = value_of(i);
        ASSERT_EQ(c.exchange(cat("get k", std::to_string(i), "\r\n")),
                  cat("VALUE k", std::to_string(i), " 0 ", std::to_string(v.size()), "\r\n", v,
                      "\r\nEND\r\n"))
            << "item " << i;
    }
    const std::string stats = c.exchange("stats\r\n");
    EXPECT_NE(stats.find("STAT curr_items 1400\r\n"), std::string::npos) << stats;
    EXPECT_NE(stats.find("STAT evictions 0\r\n"), std::string::npos) << stats;
    EXPECT_NE(stats.find("STAT suvm_fault ok\r\n"), std::string::npos) << stats;
    EXPECT_EQ(stats.find("STAT suvm_write_backs 0\r\n"), std::string::npos)
        << "values were sealed out of the cache: " << stats;
    EXPECT_EQ((*front)->failure(), "");
}

}  // namespace
