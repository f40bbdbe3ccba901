// SPDX-License-Identifier: Apache-2.0
// Description: with -t 4 inside an enclave (sim, and the sealed process
// platform), many clients at once agree with their own models on one shared
// store, their connections land on more than one enclave thread, and
// `stats` sums the threads.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kv_client.hh"
#include "kv_server.hh"
#include "platform/process_support.hh"
#include "text_cat.hh"

namespace {

constexpr unsigned enclave_threads = 4;

// The value of "STAT <name> <value>" in a stats reply; -1 when absent.
long long stat_of(const std::string& stats, const std::string& name) {
    const std::string key = "STAT " + name + " ";
    const auto at = stats.find(key);
    if (at == std::string::npos) return -1;
    return std::stoll(stats.substr(at + key.size()));
}

class EnclaveThreads : public ::testing::TestWithParam<std::string> {};

TEST_P(EnclaveThreads, ClientsOnSeveralThreadsShareOneStore) {
    if (GetParam() == "process")
        AIRLOCK_SKIP_PROCESS_UNDER_TSAN(airlock::platform::platform_kind::process);
    kv_test::kv_server server({}, enclave_threads, GetParam());
    ASSERT_EQ(server.error(), "");
    // SO_REUSEPORT hashes each connection's addresses to a listener: with 48
    // connections from distinct ports, all on one thread of four has a
    // chance of 4^-47, so landing on several threads is checked, not hoped.
    constexpr int clients = 48, ops = 150;
    std::vector<std::unique_ptr<kv_test::client>> conns;
    for (int c = 0; c < clients; ++c) {
        conns.push_back(std::make_unique<kv_test::client>(server.port()));
        ASSERT_TRUE(conns.back()->connected());
    }
    std::vector<std::thread> pool;
    std::vector<std::string> failures(clients);
    std::atomic<long long> gets{0}, sets{0};
    for (int c = 0; c < clients; ++c) {
        pool.emplace_back([&, c] {
            kv_test::client& cl = *conns[static_cast<std::size_t>(c)];
            std::mt19937 rng(static_cast<unsigned>(c) + 1);
            std::map<std::string, long long> model;
            for (int i = 0; i < ops && failures[c].empty(); ++i) {
                const std::string key =
                    kv_test::cat("t", std::to_string(c), "_", std::to_string(rng() % 8));
                std::string cmd, want;
                switch (rng() % 4) {
                    case 0: {
                        const long long v = rng() % 1000;
                        const std::string s = std::to_string(v);
                        cmd =
                            "set " + key + " 0 0 " + std::to_string(s.size()) + "\r\n" + s + "\r\n";
                        want = "STORED\r\n";
                        model[key] = v;
                        break;
                    }
                    case 1:
                        cmd = "incr " + key + " 7\r\n";
                        if (model.count(key)) {
                            model[key] += 7;
                            want = std::to_string(model[key]) + "\r\n";
                        } else {
                            want = "NOT_FOUND\r\n";
                        }
                        break;
                    case 2:
                        cmd = "delete " + key + "\r\n";
                        want = model.erase(key) ? "DELETED\r\n" : "NOT_FOUND\r\n";
                        break;
                    default: {
                        cmd = "get " + key + "\r\n";
                        // A hit is checked by its number below: incr pads a value
                        // it shortens with spaces (never here: values only grow).
                        want = model.count(key) ? "" : "END\r\n";
                    }
                }
                const std::string got = cl.exchange(cmd);
                if (cmd.starts_with("get ")) gets.fetch_add(1);
                if (cmd.starts_with("set ")) sets.fetch_add(1);
                if (cmd.starts_with("get ") && model.count(key)) {
                    const std::string head = "VALUE " + key + " 0 ";
                    const auto body = got.find("\r\n");
                    if (!got.starts_with(head) || body == std::string::npos ||
                        std::stoll(got.substr(body + 2)) != model[key] || !got.ends_with("END\r\n"))
                        failures[c] =
                            cmd + " -> " + got + " (want " + std::to_string(model[key]) + ")";
                } else if (got != want) {
                    failures[c] = cmd + " -> " + got + " (want " + want + ")";
                }
            }
        });
    }
    for (auto& t : pool)
        t.join();
    for (int c = 0; c < clients; ++c)
        EXPECT_EQ(failures[c], "") << "client " << c;

    const std::string stats = conns[0]->exchange("stats\r\n");
    EXPECT_EQ(stat_of(stats, "threads"), enclave_threads);
    EXPECT_EQ(stat_of(stats, "curr_connections"), clients);
    EXPECT_EQ(stat_of(stats, "total_connections"), clients);
    long long sum = 0;
    unsigned busy = 0;
    for (unsigned t = 0; t < enclave_threads; ++t) {
        const long long n = stat_of(stats, "thread_" + std::to_string(t) + "_connections");
        ASSERT_GE(n, 0) << "no connection counter of thread " << t << ":\n" << stats;
        sum += n;
        busy += n > 0 ? 1 : 0;
    }
    EXPECT_EQ(sum, clients);
    EXPECT_GE(busy, 2u) << stats;
    // Every client's commands are counted, whichever thread ran them.
    EXPECT_EQ(stat_of(stats, "cmd_get"), gets.load());
    EXPECT_EQ(stat_of(stats, "cmd_set"), sets.load());
    EXPECT_NE(stats.find("STAT sys_fault ok\r\n"), std::string::npos) << stats;
}

INSTANTIATE_TEST_SUITE_P(Platforms, EnclaveThreads, ::testing::Values("sim", "process"));

}  // namespace
