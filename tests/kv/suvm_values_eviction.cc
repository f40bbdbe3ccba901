// SPDX-License-Identifier: Apache-2.0
// Description: with item values in a suvm space, values of mixed sizes far
// beyond -m are all stored: the store evicts under -m and the space (fixed
// size chunks) never runs out of room to a fragmented free list; the latest
// values read back intact.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "suvm/suvm_support.hh"
#include "text_cat.hh"
#include "value_space.hh"

namespace {

using kv_test::cat;

TEST(KvSuvmValues, MixedSizesEvictUnderTheLimitAndNeverFail) {
    kv_test::value_space vs(std::size_t{256} << 10, std::size_t{16} << 10, 8);
    ASSERT_TRUE(vs.space.s);
    auto& space = vs.space;
    auto& f = vs.engine;

    std::mt19937_64 rng(7);
    std::map<int, std::string> latest;
    constexpr int sets = 3000;  // about 18 MiB of values through a 256 KiB limit
    for (int i = 0; i < sets; ++i) {
        std::string v(1 + rng() % 12000, static_cast<char>('a' + i % 26));
        v.replace(0, std::min(v.size(), std::to_string(i).size()),
                  std::to_string(i).substr(0, v.size()));
        ASSERT_EQ(f.run(cat("set k", std::to_string(i), " 0 0 ", std::to_string(v.size()), "\r\n",
                            v, "\r\n")),
                  "STORED\r\n")
            << "set " << i;
        if (i >= sets - 10) latest[i] = v;
    }
    for (const auto& [i, v] : latest)
        ASSERT_EQ(f.run(cat("get k", std::to_string(i), "\r\n")),
                  cat("VALUE k", std::to_string(i), " 0 ", std::to_string(v.size()), "\r\n", v,
                      "\r\nEND\r\n"));
    const auto c = f.eng->store().counters();
    EXPECT_GT(c.evictions, 0u);
    EXPECT_LE(c.bytes, f.eng->store().config().memory_limit);
    EXPECT_EQ(space.s->fault(), airlock::errc::ok);
}

}  // namespace
