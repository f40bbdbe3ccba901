// Description: commands split at any byte give the same replies; long lines close as memcached
// does; replies back-pressure input.
#include <gtest/gtest.h>

#include <random>

#include "engine_fixture.hh"

using kv_test::engine_fixture;

namespace {
const std::string script =
    "set a 1 0 5\r\nhello\r\nget a\r\nappend a 0 0 1 noreply\r\n!\r\ngets a b\r\n"
    "incr a 1\r\nset n 0 0 2\r\n10\r\nincr n 5\r\nmg n v c\r\nms m 3 T0 c\r\nabc\r\n"
    "bogus\r\ndelete a\r\nmn\r\n";
}

TEST(KvFraming, AnySplitGivesTheSameReplies) {
    engine_fixture whole;
    const std::string want = whole.run(script);
    std::mt19937 rng(7);
    for (int round = 0; round < 50; ++round) {
        engine_fixture f;
        std::string got;
        for (std::size_t i = 0; i < script.size();) {
            const std::size_t n = 1 + rng() % 7;
            got += f.run(std::string_view(script).substr(i, n));
            i += n;
        }
        ASSERT_EQ(got, want) << "round " << round;
    }
}

TEST(KvFraming, LongLinesCloseUnlessTheyAreGets) {
    {
        engine_fixture f;
        f.run(std::string(2049, 'x'));
        EXPECT_TRUE(f.conn->closing_now());
    }
    {
        engine_fixture f;
        f.run(std::string(2048, 'x'));
        EXPECT_FALSE(f.conn->closing());
    }
    {
        engine_fixture f;
        std::string line = "get";
        while (line.size() < 5000)
            line += " k";
        EXPECT_EQ(f.run(line), "");
        EXPECT_FALSE(f.conn->closing());
        EXPECT_EQ(f.run("\r\n"), "END\r\n");
    }
    {
        airlock::kv::engine_config cfg;
        cfg.max_get_line = 4096;
        engine_fixture f(cfg);
        std::string line = "get";
        while (line.size() < 5000)
            line += " k";
        f.run(line);
        EXPECT_TRUE(f.conn->closing_now());  // bounded even for gets
    }
}

TEST(KvFraming, RepliesAboveTheLimitStopCommandsUntilDrained) {
    airlock::kv::engine_config cfg;
    cfg.output_limit = 4096;
    engine_fixture f(cfg);
    f.run("set big 0 0 3000\r\n" + std::string(3000, 'b') + "\r\n");
    std::string many;
    for (int i = 0; i < 100; ++i)
        many += "get big\r\n";
    f.conn->receive(many);
    EXPECT_FALSE(f.conn->wants_input());
    EXPECT_TRUE(f.conn->has_pending_input());
    EXPECT_LT(f.conn->output().size(), 4096u + 3100u);
    std::size_t replies = 0;
    while (!f.conn->output().empty()) {
        const std::string out(f.conn->output());
        for (std::size_t p = out.find("END\r\n"); p != std::string::npos;
             p = out.find("END\r\n", p + 1))
            ++replies;
        f.conn->consumed(out.size());
        f.conn->resume();
    }
    EXPECT_EQ(replies, 100u);
    EXPECT_TRUE(f.conn->wants_input());
}

TEST(KvFraming, QuitClosesAfterTheReplies) {
    engine_fixture f;
    f.conn->receive("version\r\nquit\r\nget a\r\n");
    EXPECT_EQ(f.conn->output(), "VERSION 1.6.18\r\n");
    EXPECT_TRUE(f.conn->closing());
    EXPECT_FALSE(f.conn->closing_now());
}
