// SPDX-License-Identifier: Apache-2.0
// Description: with item values in a suvm space, a byte the host changes in
// the backing store makes get, gets, mg, append and incr answer
// SERVER_ERROR, never the changed (or any) value bytes, and the connection
// and the engine go on serving commands that need no value.
#include <gtest/gtest.h>

#include <string>

#include "suvm/suvm_support.hh"
#include "text_cat.hh"
#include "value_space.hh"

namespace {

using kv_test::cat;

TEST(KvSuvmValues, ATamperedStoreGivesServerErrorNeverData) {
    kv_test::value_space vs(std::size_t{1} << 20, std::size_t{16} << 10, 4, /*no_prefetch=*/true);
    ASSERT_TRUE(vs.space.s);
    auto& space = vs.space;
    auto& f = vs.engine;

    // Page 0 holds the first values: "n" (a number) and "a".
    ASSERT_EQ(f.run("set n 0 0 2\r\n42\r\n"), "STORED\r\n");
    const std::string secret(100, 'Z');
    ASSERT_EQ(f.run(cat("set a 0 0 100\r\n", secret, "\r\n")), "STORED\r\n");
    // Fill more pages than the cache holds, then seal everything out.
    const std::string filler(3000, 'f');
    for (int i = 0; i < 40; ++i)
        ASSERT_EQ(f.run(cat("set f", std::to_string(i), " 0 0 3000\r\n", filler, "\r\n")),
                  "STORED\r\n");
    airlock::suvm::test::evict_all(*space.s);
    space.slot(0)[10] ^= std::byte{1};  // the host flips a bit of page 0

    const std::string got = f.run("get a\r\n");
    EXPECT_EQ(got, "SERVER_ERROR value storage failed\r\n");
    EXPECT_EQ(got.find('Z'), std::string::npos) << "no value bytes";
    EXPECT_EQ(f.run("gets n a\r\n"), "SERVER_ERROR value storage failed\r\n");
    EXPECT_EQ(f.run("mg a v\r\n"), "SERVER_ERROR value storage failed\r\n");
    EXPECT_EQ(f.run("append a 0 0 1\r\nx\r\n"), "SERVER_ERROR value storage failed\r\n");
    EXPECT_EQ(f.run("incr n 1\r\n"), "SERVER_ERROR value storage failed\r\n");
    // The fault is sticky (an intact page fails too), and nothing crashed:
    // commands that need no value still work.
    EXPECT_EQ(f.run("get f39\r\n"), "SERVER_ERROR value storage failed\r\n");
    EXPECT_EQ(f.run("mg a\r\n"), "HD\r\n");
    EXPECT_EQ(f.run("delete a\r\n"), "DELETED\r\n");
    EXPECT_EQ(f.run("get a\r\n"), "END\r\n");
    EXPECT_EQ(f.run("version\r\n").rfind("VERSION ", 0), 0u);
    EXPECT_EQ(space.s->fault(), airlock::errc::suvm_fault_integrity);
}

}  // namespace
