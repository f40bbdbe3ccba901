// Description: Debian's pymemcache and libmemcached's memc* tools work against airlock-kv.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "kv_server.hh"

namespace {

// Runs a shell command; returns its exit status and collects stdout.
int run(const std::string& cmd, std::string* out = nullptr) {
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return -1;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        if (out) out->append(buf, n);
    const int st = ::pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(KvClients, Pymemcache) {
    if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
    kv_test::kv_server server;
    airlock::kv::engine_config small;
    small.store.memory_limit = 1u << 20;
    small.store.item_size_max = 64u << 10;
    kv_test::kv_server small_server(small);
    ASSERT_EQ(server.error(), "");
    std::string out;
    const int st =
        run("/usr/bin/python3 " AIRLOCK_KV_TEST_DIR "/pymemcache_session.py " +
                std::to_string(server.port()) + " " + std::to_string(small_server.port()) + " 2>&1",
            &out);
    if (st == 77) GTEST_SKIP() << "python3-pymemcache not installed";
    EXPECT_EQ(st, 0) << out;
}

TEST(KvClients, LibmemcachedTools) {
    if (::access("/usr/bin/memccp", X_OK) != 0) GTEST_SKIP() << "libmemcached-tools not installed";
    kv_test::kv_server server;
    ASSERT_EQ(server.error(), "");
    const std::string srv = " --servers=127.0.0.1:" + std::to_string(server.port());
    char dir[] = "/tmp/kv_clients_XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    const std::string file = std::string(dir) + "/payload.txt";
    std::ofstream(file) << std::string(5000, 'p') << "end\n";
    EXPECT_EQ(run("cd " + std::string(dir) + " && memccp" + srv + " payload.txt"), 0);
    std::string got;
    EXPECT_EQ(run("memccat" + srv + " payload.txt", &got), 0);
    // memccat ends what it prints with a newline of its own.
    EXPECT_TRUE(got == std::string(5000, 'p') + "end\n\n") << got.size() << " bytes";
    std::string stats;
    EXPECT_EQ(run("memcstat" + srv, &stats), 0);
    EXPECT_NE(stats.find("curr_items: 1"), std::string::npos) << stats;
    EXPECT_EQ(run("memcrm" + srv + " payload.txt"), 0);
    got.clear();
    EXPECT_NE(run("memccat" + srv + " payload.txt 2>/dev/null", &got), 0);
    EXPECT_EQ(run("cd " + std::string(dir) + " && memccp" + srv + " payload.txt"), 0);
    EXPECT_EQ(run("memcflush" + srv), 0);
    EXPECT_NE(run("memccat" + srv + " payload.txt 2>/dev/null"), 0);
    std::remove(file.c_str());
    ::rmdir(dir);
}

}  // namespace
