// SPDX-License-Identifier: Apache-2.0
// Description: with item values in a suvm space (--items-in suvm), set, get,
// append, prepend, incr, decr and delete of many keys, whose values total
// many times the space's page cache, read back exactly what a reference map
// holds.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "suvm/suvm_support.hh"
#include "text_cat.hh"
#include "value_space.hh"

namespace {

using kv_test::cat;

TEST(KvSuvmValues, OperationsMatchAReferenceMap) {
    kv_test::value_space vs(std::size_t{4} << 20, std::size_t{64} << 10, 8);
    ASSERT_TRUE(vs.space.s);
    auto& space = vs.space;
    auto& f = vs.engine;

    std::map<std::string, std::string> ref;
    std::mt19937_64 rng(20261206);
    auto value_of = [&](std::size_t n) {
        std::string v(n, ' ');
        for (auto& c : v)
            c = static_cast<char>('a' + rng() % 26);
        return v;
    };
    constexpr int keys = 400;
    std::size_t stored_bytes = 0;
    for (int round = 0; round < 6000; ++round) {
        const std::string key = cat("k", std::to_string(rng() % keys));
        const auto op = rng() % 8;
        auto it = ref.find(key);
        if (op <= 1) {  // set: 0 to 3000 bytes, some of them numbers
            std::string v =
                rng() % 4 == 0 ? std::to_string(rng() % 100000) : value_of(rng() % 3000);
            ASSERT_EQ(f.run(cat("set ", key, " 7 0 ", std::to_string(v.size()), "\r\n", v, "\r\n")),
                      "STORED\r\n");
            stored_bytes += v.size();
            ref[key] = v;
        } else if (op == 2 || op == 3) {  // append / prepend
            const std::string v = value_of(rng() % 200);
            const bool app = op == 2;
            const std::string got = f.run(cat(app ? "append " : "prepend ", key, " 0 0 ",
                                              std::to_string(v.size()), "\r\n", v, "\r\n"));
            if (it == ref.end()) {
                ASSERT_EQ(got, "NOT_STORED\r\n");
            } else {
                ASSERT_EQ(got, "STORED\r\n");
                it->second = app ? cat(it->second, v) : cat(v, it->second);
            }
        } else if (op == 4) {  // incr / decr
            const bool incr = rng() % 2 == 0;
            const std::uint64_t by = rng() % 1000;
            const std::string got =
                f.run(cat(incr ? "incr " : "decr ", key, " ", std::to_string(by), "\r\n"));
            if (it == ref.end()) {
                ASSERT_EQ(got, "NOT_FOUND\r\n");
                continue;
            }
            const std::string& cur = it->second;
            const bool numeric = !cur.empty() && cur.size() <= 19 &&
                                 cur.find_first_not_of("0123456789 ") == std::string::npos &&
                                 cur[0] != ' ';
            if (!numeric) {
                ASSERT_EQ(got, "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
                    << cur;
                continue;
            }
            std::uint64_t n = std::stoull(cur);
            n = incr ? n + by : (by > n ? 0 : n - by);
            const std::string text = std::to_string(n);
            ASSERT_EQ(got, cat(text, "\r\n"));
            // memcached keeps the length and pads with spaces when it shrinks.
            std::string padded = text;
            if (padded.size() < cur.size()) padded.resize(cur.size(), ' ');
            it->second = padded;
        } else if (op == 5) {  // delete
            ASSERT_EQ(f.run(cat("delete ", key, "\r\n")),
                      it == ref.end() ? "NOT_FOUND\r\n" : "DELETED\r\n");
            if (it != ref.end()) ref.erase(it);
        } else {  // get, and mg of the value
            const std::string got = f.run(cat("get ", key, "\r\n"));
            if (it == ref.end()) {
                ASSERT_EQ(got, "END\r\n");
            } else {
                ASSERT_EQ(got, cat("VALUE ", key, " 7 ", std::to_string(it->second.size()), "\r\n",
                                   it->second, "\r\nEND\r\n"));
                ASSERT_EQ(
                    f.run(cat("mg ", key, " v\r\n")),
                    cat("VA ", std::to_string(it->second.size()), "\r\n", it->second, "\r\n"));
            }
        }
    }
    // Everything read back once more at the end.
    for (const auto& [key, v] : ref)
        ASSERT_EQ(f.run(cat("get ", key, "\r\n")),
                  cat("VALUE ", key, " 7 ", std::to_string(v.size()), "\r\n", v, "\r\nEND\r\n"));
    const auto st = space.s->stats();
    EXPECT_GT(stored_bytes, 20 * space.s->cache_bytes()) << "the data outgrew the cache";
    EXPECT_GT(st.evictions, 0u);
    EXPECT_GT(st.write_backs, 0u) << "values went through sealed pages";
    EXPECT_EQ(space.s->fault(), airlock::errc::ok);
}

}  // namespace
