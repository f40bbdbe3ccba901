// Description: scripted and seeded random sessions get byte-identical replies from airlock-kv and
// Debian's memcached (native, in a sim or process enclave, with values in a suvm space, and with
// the enclave's I/O by the transition baseline).
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kv_client.hh"
#include "kv_server.hh"
#include "platform/process_support.hh"
#include "text_cat.hh"

namespace {

using kv_test::client;

// Shows control bytes so a mismatch is readable.
std::string show(std::string_view s) {
    std::string r;
    for (char c : s) {
        if (c == '\r')
            r += "\\r";
        else if (c == '\n')
            r += "\\n\n";
        else
            r += c;
    }
    return r.size() > 2000 ? r.substr(0, 2000) + "...(" + std::to_string(s.size()) + " bytes)" : r;
}

// Each test runs against airlock-kv's native front and inside an enclave on
// `sim` and on the sealed `process` platform.
class Differential : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        if (!kv_test::memcached_process::available()) GTEST_SKIP() << "memcached not installed";
        if (GetParam().starts_with("process"))
            AIRLOCK_SKIP_PROCESS_UNDER_TSAN(airlock::platform::platform_kind::process);
        // memcached's background LRU threads take item references at random
        // moments, and incr/decr changes an item in place only when nobody
        // else holds it: without them its replies are deterministic.
        mc_ = std::make_unique<kv_test::memcached_process>(
            std::vector<std::string>{"-o", "no_lru_crawler,no_lru_maintainer"});
        ASSERT_TRUE(mc_->running());
        kv_ = std::make_unique<kv_test::kv_server>(airlock::kv::engine_config{}, 2, GetParam());
        ASSERT_EQ(kv_->error(), "");
        ASSERT_TRUE(a_.connect(mc_->port()));
        ASSERT_TRUE(b_.connect(kv_->port()));
    }
    // One step: the same bytes to both, the replies up to a trailing mn.
    void same(std::string_view in) {
        const std::string want = a_.exchange(in);
        const std::string got = b_.exchange(in);
        EXPECT_EQ(want, got) << "input:\n"
                             << show(in) << "\nmemcached:\n"
                             << show(want) << "\nairlock-kv:\n"
                             << show(got);
    }
    // Bytes after which both servers must close the connection.
    void same_close(std::string_view in) {
        bool eof_a = false, eof_b = false;
        a_.send(in);
        b_.send(in);
        const std::string want = a_.read_until("", &eof_a);
        const std::string got = b_.read_until("", &eof_b);
        EXPECT_EQ(want, got) << "input:\n" << show(in);
        EXPECT_TRUE(eof_a) << "memcached kept the connection open";
        EXPECT_EQ(eof_a, eof_b) << "input:\n" << show(in);
        reconnect();
    }
    void reconnect() {
        ASSERT_TRUE(a_.connect(mc_->port()));
        ASSERT_TRUE(b_.connect(kv_->port()));
    }
    std::unique_ptr<kv_test::memcached_process> mc_;
    std::unique_ptr<kv_test::kv_server> kv_;
    client a_, b_;
};

TEST_P(Differential, StorageCommands) {
    same("set a 5 0 3\r\nabc\r\n");
    same("get a\r\n");
    same("gets a\r\n");
    same("add a 0 0 1\r\nx\r\n");
    same("add b 7 0 1\r\nx\r\n");
    same("replace c 0 0 1\r\nx\r\n");
    same("replace b 9 0 2\r\nyy\r\n");
    same("append a 0 0 2\r\n12\r\n");
    same("prepend a 0 0 2\r\n00\r\n");
    same("append nope 0 0 2\r\n12\r\n");
    same("get a b c\r\n");
    same("gets a b\r\n");
    same("cas a 0 0 1 999\r\nz\r\n");
    same("cas nope 0 0 1 1\r\nz\r\n");
    same("gets a\r\n");
    same("cas a 3 0 1 4\r\nz\r\n");
    same("get a\r\n");
    same("delete a\r\n");
    same("delete a\r\n");
    same("delete b 0\r\n");
    same("set n 0 0 3\r\n100\r\n");
    same("incr n 5\r\n");
    same("decr n 100\r\n");
    same("get n\r\n");
    same("decr n 1000\r\n");
    same("incr n 18446744073709551615\r\n");
    same("incr n 1\r\n");
    same("incr nope 1\r\n");
    same("set s 0 0 2\r\nab\r\n");
    same("incr s 1\r\n");
    same("set e 0 0 0\r\n\r\n");
    same("incr e 1\r\n");
    same("get e\r\n");
    same("touch n 100\r\n");
    same("touch nope 100\r\n");
    same("gat 0 n nope\r\n");
    same("gats 100 n\r\n");
    same("set neg 0 -1 1\r\nx\r\n");
    same("get neg\r\n");
    same("add neg 0 0 1\r\ny\r\n");
    same("get neg\r\n");
    same("set abs 0 1000000000 1\r\nx\r\n");
    same("get abs\r\n");
    same("set big 4294967295 0 1\r\nx\r\n");
    same("get big\r\n");
    same("flush_all\r\n");
    same("get n s e\r\n");
    same("flush_all 100\r\n");
    same("set x 0 0 1\r\nx\r\n");
    same("get x\r\n");
    same("flush_all 0\r\n");
    same("get x\r\n");
}

TEST_P(Differential, NoreplyEverywhere) {
    same("set a 0 0 1 noreply\r\na\r\n");
    same("add a 0 0 1 noreply\r\na\r\n");
    same("replace a 0 0 1 noreply\r\nb\r\n");
    same("append a 0 0 1 noreply\r\nc\r\n");
    same("prepend a 0 0 1 noreply\r\nd\r\n");
    same("cas a 0 0 1 1 noreply\r\ne\r\n");
    same("incr a 1 noreply\r\n");
    same("set n 0 0 1 noreply\r\n1\r\n");
    same("incr n 1 noreply\r\n");
    same("decr n 1 noreply\r\n");
    same("touch n 10 noreply\r\n");
    same("delete n noreply\r\n");
    same("delete n 0 noreply\r\n");
    same("flush_all noreply\r\n");
    same("flush_all 0 noreply\r\n");
    same("verbosity 1 noreply\r\n");
    same("verbosity noreply\r\n");
    same("set a 0 0 1 noreply\r\nabc\r\n");
    same("set a 0 0 x noreply\r\n");
    same("get a\r\n");
}

TEST_P(Differential, MalformedCommands) {
    for (const char* line : {"",
                             "x",
                             "bogus",
                             "bogus a b c",
                             "get",
                             "gets",
                             "gat",
                             "gat abc k",
                             "set",
                             "set k",
                             "set k 0 0",
                             "set k 0 0 1 2 3 4",
                             "set k abc 0 1",
                             "set k 0 abc 1",
                             "set k 0 0 abc",
                             "set k 0 0 -1",
                             "set k -1 0 1",
                             "set k 0 0 2147483648",
                             "cas k 0 0 1",
                             "cas k 0 0 1 x",
                             "incr",
                             "incr k",
                             "incr k abc",
                             "incr k -1",
                             "decr k 1 2 3",
                             "delete",
                             "delete k 5",
                             "delete k 0 0",
                             "delete k noreply x",
                             "touch k",
                             "touch k abc",
                             "flush_all abc",
                             "flush_all 1 2 3",
                             "verbosity",
                             "verbosity abc",
                             "verbosity 1 2 3",
                             "mx",
                             "m",
                             "me",
                             "mg",
                             "ms",
                             "ms k",
                             "md",
                             "ma",
                             "GET",
                             "  get   k  ",
                             "get\tk"}) {
        same(std::string(line) + "\r\n");
    }
    same("get k\n");
    same("set k 0 0 3\r\nabcde\r\n");
    same("set k 0 0 3\r\nab\n\r\n");
    same("get k\r\n");
    same(std::string("get a\0b\r\n", 9));
}

TEST_P(Differential, KeyLengths) {
    const std::string k250(250, 'k'), k251(251, 'k');
    same("set " + k250 + " 0 0 1\r\nx\r\n");
    same("get " + k250 + "\r\n");
    same("set " + k251 + " 0 0 1\r\nx\r\n");
    same("get " + k251 + "\r\n");
    same("get a " + k251 + " b\r\n");
    same("delete " + k251 + "\r\n");
    same("incr " + k251 + " 1\r\n");
    same("touch " + k251 + " 1\r\n");
    same("mg " + k251 + " v\r\n");
    same("md " + k251 + "\r\n");
    same("ma " + k251 + "\r\n");
    same("ms " + k251 + " 1\r\nx\r\n");
    same("me " + k251 + "\r\n");
}

TEST_P(Differential, ItemSizeLimit) {
    // memcached's -I rule counts a 48-byte header, the CAS, the key and
    // its NUL, the flags when non-zero and "\r\n": probe both sides of it.
    for (const std::size_t v : {1048576u - 63u, 1048576u - 62u, 1048576u - 61u, 1048576u}) {
        for (const char* flags : {"0", "1"}) {
            const std::string value(v, 'v');
            same(std::string("set kk ") + flags + " 0 " + std::to_string(v) + "\r\n" + value +
                 "\r\n");
            same("mg kk s f\r\n");
        }
    }
    same("set kk 0 0 2000000\r\n" + std::string(2000000, 'v') + "\r\n");
    same("get kk\r\n");
}

TEST_P(Differential, ManyKeysAndPipelining) {
    std::string set_all, get_all = "get";
    for (int i = 0; i < 60; ++i) {
        const std::string k = kv_test::cat("key", std::to_string(i));
        set_all += "set " + k + " " + std::to_string(i) + " 0 " + std::to_string(k.size()) +
                   "\r\n" + k + "\r\n";
        if (i % 2 == 0) get_all += " " + k;
    }
    same(set_all);
    same(get_all + "\r\n");
    same("gets" + get_all.substr(3) + "\r\n");
    same(set_all + get_all + "\r\ndelete key0\r\nincr key1 1\r\n" + get_all + "\r\n");
}

TEST_P(Differential, HalfSentCommands) {
    for (client* c : {&a_, &b_}) {
        c->send("se");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        c->send("t k 0 0 5\r\nhel");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        c->send("lo\r");
    }
    same("\n");
    same("get k\r\n");
}

TEST_P(Differential, MetaCommands) {
    same("ms m 2 T0 F5\r\nhi\r\n");
    same("mg m v f s k\r\n");
    same("mg m v Oabc q\r\n");
    same("mg nope v Oabc k\r\n");
    same("mg nope v q\r\n");
    same("mg m h\r\n");
    same("mg m s v s\r\n");
    same("mg m zz\r\n");
    same("mg m O" + std::string(40, 'o') + "\r\n");
    same("ms m 2 MZ\r\nhi\r\n");
    same("ms m 2 MM\r\nhi\r\n");
    same("ms m 2 ME\r\nhi\r\n");
    same("ms m2 2 ME k O9\r\nhi\r\n");
    same("ms m 2 MA q\r\n!!\r\n");
    same("ms m 2 MP\r\n<<\r\n");
    same("mg m v\r\n");
    same("ms nope 2 MR\r\nxx\r\n");
    same("ms m 2 C1\r\nxx\r\n");
    same("ms m 2 q\r\nxx\r\n");
    same("ms m 2 q\r\nxxxx\r\n");
    same("ms m -1\r\n");
    same("ms m abc\r\n");
    same("ms m 2 I\r\nxx\r\n");
    same("md m q\r\n");
    same("md m\r\n");
    same("md m2 C1 k Oz\r\n");
    same("md m2 q k\r\n");
    same("md m2 xx\r\n");
    same("ma c\r\n");
    same("ma c N0 J10 v\r\n");
    same("ma c v\r\n");
    same("ma c MD D3 v k O1\r\n");
    same("ma c M- D100 v\r\n");
    same("ma c MX\r\n");
    same("ma c q\r\n");
    same("ma c Dabc\r\n");
    same("ma nope q\r\n");
    same("ms s 3\r\nabc\r\n");
    same("ma s\r\n");
    same("me nope\r\n");
}

TEST_P(Differential, ClosesWhereMemcachedCloses) {
    same_close(std::string(3000, 'x'));
    same_close("GET / HTTP/1.1\r\n");
    same_close("set a 0 0 1\r\nx\r\nquit\r\n");
    same("get a\r\n");
    same("get " + std::string(3000, 'k').replace(100, 1, " ") + "\r\n");
    // An abrupt disconnect in the middle of a value leaves the others working.
    a_.send("set half 0 0 10\r\nabc");
    b_.send("set half 0 0 10\r\nabc");
    reconnect();
    same("get half a\r\n");
}

TEST_P(Differential, SeededRandomStream) {
    const char* env = std::getenv("KV_DIFF_SEED");
    const unsigned seed = env ? static_cast<unsigned>(std::strtoul(env, nullptr, 10)) : 1234u;
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const char* keys[] = {"a", "b", "c", "dd", "eee", "num", "x:y", "k9"};
    const char* exps[] = {"0", "0", "0", "1000", "-1", "3000000000"};
    auto key = [&] { return std::string(keys[pick(8)]); };
    auto value = [&]() -> std::string {
        switch (pick(4)) {
            case 0:
                return std::to_string(rng() % 1000);
            case 1:
                return std::string(static_cast<std::size_t>(pick(40)),
                                   static_cast<char>('a' + pick(26)));
            case 2:
                return "";
            default:
                return std::to_string(rng());
        }
    };
    std::vector<std::string> history;
    for (int step = 0; step < 1500; ++step) {
        std::string cmds;
        const int batch = 1 + pick(4);
        for (int j = 0; j < batch; ++j) {
            const std::string k = key();
            const std::string nr = pick(6) == 0 ? " noreply" : "";
            const std::string v = value();
            const std::string hdr = kv_test::cat(" ", std::to_string(pick(3) == 0 ? rng() : 0u),
                                                 " ", exps[pick(6)], " ", std::to_string(v.size()));
            switch (pick(22)) {
                case 0:
                case 1:
                    cmds += "set " + k + hdr + nr + "\r\n" + v + "\r\n";
                    break;
                case 2:
                    cmds += "add " + k + hdr + nr + "\r\n" + v + "\r\n";
                    break;
                case 3:
                    cmds += "replace " + k + hdr + nr + "\r\n" + v + "\r\n";
                    break;
                case 4:
                    cmds += "append " + k + hdr + nr + "\r\n" + v + "\r\n";
                    break;
                case 5:
                    cmds += "prepend " + k + hdr + nr + "\r\n" + v + "\r\n";
                    break;
                case 6:
                    cmds += "cas " + k + hdr + " " + std::to_string(pick(step + 2)) + nr + "\r\n" +
                            v + "\r\n";
                    break;
                case 7:
                case 8:
                    cmds += "get " + k + " " + key() + "\r\n";
                    break;
                case 9:
                    cmds += "gets " + k + "\r\n";
                    break;
                case 10:
                    cmds += "delete " + k + nr + "\r\n";
                    break;
                case 11:
                    cmds += "incr " + k + " " + std::to_string(pick(100)) + nr + "\r\n";
                    break;
                case 12:
                    cmds += "decr " + k + " " + std::to_string(pick(100)) + nr + "\r\n";
                    break;
                case 13:
                    cmds += std::string("touch ") + k + " " + exps[pick(6)] + nr + "\r\n";
                    break;
                case 14:
                    cmds += std::string("gat ") + exps[pick(6)] + " " + k + "\r\n";
                    break;
                case 15:
                    cmds += "mg " + k + " v f c k s h Oq" + std::to_string(step) + "\r\n";
                    break;
                case 16:
                    cmds += "ms " + k + " " + std::to_string(v.size()) + " F" +
                            std::to_string(pick(9)) + (pick(2) ? " c" : "") +
                            (pick(3) == 0 ? " ME" : "") + (pick(4) == 0 ? " q" : "") + "\r\n" + v +
                            "\r\n";
                    break;
                case 17:
                    cmds += "md " + k + (pick(3) == 0 ? " q" : "") + "\r\n";
                    break;
                case 18:
                    cmds += "ma " + k + (pick(2) ? " N0 J5" : "") + (pick(2) ? " MD" : "") + " D" +
                            std::to_string(pick(9)) + " v c\r\n";
                    break;
                case 19:
                    cmds += "mg " + k + " q v\r\n";
                    break;
                case 20:
                    if (pick(20) == 0) cmds += "flush_all" + nr + "\r\n";
                    break;
                default:
                    cmds += "gets " + k + " " + key() + " " + key() + "\r\n";
                    break;
            }
        }
        same(cmds);
        history.push_back(cmds);
        if (history.size() > 12) history.erase(history.begin());
        if (HasFailure()) {
            std::string h;
            for (const auto& c : history)
                h += show(c) + "----\n";
            ADD_FAILURE() << "seed " << seed << " step " << step << ", the steps before:\n" << h;
            break;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Fronts, Differential,
                         ::testing::Values("native", "sim", "process", "sim_suvm", "process_suvm",
                                           "sim_transition", "process_transition"),
                         [](const auto& p) { return p.param; });

}  // namespace
