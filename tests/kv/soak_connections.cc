// Description: many connections over TCP run random commands on their own keys; every key ends as a
// per-connection model predicts, natively and on one enclave thread of the transition baseline.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kv_client.hh"
#include "kv_server.hh"
#include "text_cat.hh"

namespace {

constexpr int clients = 8;

// Each client's first disagreement with its model, or "".
std::vector<std::string> run_clients(std::uint16_t port) {
    constexpr int ops = 400;
    std::vector<std::thread> pool;
    std::vector<std::string> failures(clients);
    for (int c = 0; c < clients; ++c) {
        pool.emplace_back([&, c] {
            kv_test::client cl(port);
            std::mt19937 rng(static_cast<unsigned>(c) + 1);
            std::map<std::string, std::string> model;
            for (int i = 0; i < ops && failures[c].empty(); ++i) {
                const std::string key =
                    kv_test::cat("c", std::to_string(c), "_", std::to_string(rng() % 16));
                const std::string v = std::to_string(rng() % 100000);
                std::string cmd, want;
                switch (rng() % 4) {
                    case 0:
                        cmd =
                            "set " + key + " 0 0 " + std::to_string(v.size()) + "\r\n" + v + "\r\n";
                        want = "STORED\r\n";
                        model[key] = v;
                        break;
                    case 1:
                        cmd = "append " + key + " 0 0 " + std::to_string(v.size()) + "\r\n" + v +
                              "\r\n";
                        if (model.count(key)) {
                            model[key] += v;
                            want = "STORED\r\n";
                        } else {
                            want = "NOT_STORED\r\n";
                        }
                        break;
                    case 2:
                        cmd = "delete " + key + "\r\n";
                        want = model.erase(key) ? "DELETED\r\n" : "NOT_FOUND\r\n";
                        break;
                    default:
                        cmd = "get " + key + "\r\n";
                        want = model.count(key)
                                   ? "VALUE " + key + " 0 " + std::to_string(model[key].size()) +
                                         "\r\n" + model[key] + "\r\nEND\r\n"
                                   : "END\r\n";
                }
                const std::string got = cl.exchange(cmd);
                if (got != want) failures[c] = cmd + " -> " + got + " (want " + want + ")";
            }
            for (const auto& [k, v] : model) {
                const std::string got = cl.exchange("get " + k + "\r\n");
                if (got !=
                    "VALUE " + k + " 0 " + std::to_string(v.size()) + "\r\n" + v + "\r\nEND\r\n")
                    failures[c] = "final " + k + ": " + got;
            }
        });
    }
    for (auto& t : pool)
        t.join();
    return failures;
}

}  // namespace

TEST(KvSoak, ConnectionsAgreeWithTheirModels) {
    kv_test::kv_server server({}, 3);
    ASSERT_EQ(server.error(), "");
    const auto failures = run_clients(server.port());
    for (int c = 0; c < clients; ++c)
        EXPECT_EQ(failures[c], "") << "client " << c;
    std::string stats;
    server.engine().stats("", stats);
    EXPECT_NE(stats.find("STAT total_connections 8\r\n"), std::string::npos) << stats;
}

// The transition baseline serves every connection from one enclave thread
// whose calls block: its poll loop must not let one connection starve another.
TEST(KvSoak, OneBlockingEnclaveThreadServesEveryConnection) {
    kv_test::kv_server server({}, 1, "sim_transition");
    ASSERT_EQ(server.error(), "");
    const auto failures = run_clients(server.port());
    for (int c = 0; c < clients; ++c)
        EXPECT_EQ(failures[c], "") << "client " << c;
}
