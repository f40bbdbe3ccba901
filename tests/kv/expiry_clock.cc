// Description: expiry, touch, gat and delayed flush_all follow memcached's reading of exptime under
// an injected clock.
#include <gtest/gtest.h>

#include "engine_fixture.hh"

using kv_test::engine_fixture;

TEST(KvExpiry, RelativeAndAbsoluteTimes) {
    engine_fixture f;
    EXPECT_EQ(f.run("set rel 0 10 1\r\nr\r\n"), "STORED\r\n");
    const std::string abs = std::to_string(f.now + 20);
    EXPECT_EQ(f.run("set abs 0 " + abs + " 1\r\na\r\n"), "STORED\r\n");
    EXPECT_EQ(f.run("set past 0 2592001 1\r\np\r\n"), "STORED\r\n");  // an absolute time long gone
    EXPECT_EQ(f.run("set neg 0 -1 1\r\nn\r\n"), "STORED\r\n");
    EXPECT_EQ(f.run("get past neg\r\n"), "END\r\n");
    f.now += 9;
    EXPECT_EQ(f.run("get rel abs\r\n"), "VALUE rel 0 1\r\nr\r\nVALUE abs 0 1\r\na\r\nEND\r\n");
    EXPECT_EQ(f.run("mg rel t\r\n"), "HD t1\r\n");
    f.now += 1;
    EXPECT_EQ(f.run("get rel abs\r\n"), "VALUE abs 0 1\r\na\r\nEND\r\n");
    f.now += 10;
    EXPECT_EQ(f.run("get abs\r\n"), "END\r\n");
}

TEST(KvExpiry, TouchAndGatMoveTheDeadline) {
    engine_fixture f;
    f.run("set k 0 5 1\r\nv\r\n");
    EXPECT_EQ(f.run("touch k 100\r\n"), "TOUCHED\r\n");
    f.now += 50;
    EXPECT_EQ(f.run("gat 0 k\r\n"), "VALUE k 0 1\r\nv\r\nEND\r\n");
    f.now += 1000;
    EXPECT_EQ(f.run("mg k v t\r\n"), "VA 1 t-1\r\nv\r\n");
    EXPECT_EQ(f.run("gat -1 k\r\n"), "VALUE k 0 1\r\nv\r\nEND\r\n");
    EXPECT_EQ(f.run("get k\r\n"), "END\r\n");
    EXPECT_EQ(f.run("touch k 1\r\n"), "NOT_FOUND\r\n");
}

TEST(KvExpiry, DelayedFlushInvalidatesWhatWasStoredBeforeIt) {
    engine_fixture f;
    f.run("set a 0 0 1\r\na\r\n");
    EXPECT_EQ(f.run("flush_all 10\r\n"), "OK\r\n");
    f.now += 5;
    f.run("set b 0 0 1\r\nb\r\n");
    EXPECT_EQ(f.run("get a b\r\n"), "VALUE a 0 1\r\na\r\nVALUE b 0 1\r\nb\r\nEND\r\n");
    f.now += 5;
    EXPECT_EQ(f.run("get a b\r\n"), "END\r\n");
    f.run("set c 0 0 1\r\nc\r\n");
    EXPECT_EQ(f.run("get c\r\n"), "VALUE c 0 1\r\nc\r\nEND\r\n");
}
