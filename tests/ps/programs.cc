// Description: airlock-ps and airlock-ps-worker as separate processes: the worker's open loop is
// answered in full, and the server stops cleanly on SIGTERM, in every mode, and with the airlock
// mode's model in a suvm space.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "server_support.hh"

namespace airlock::ps::testing {
namespace {

// Starts `argv` with its stdout on a pipe; returns the pid and the pipe.
pid_t spawn(const std::vector<std::string>& args, FILE** out) {
    int p[2];
    if (::pipe(p) != 0) return -1;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(p[1], 1);
        ::close(p[0]);
        ::close(p[1]);
        std::vector<char*> argv;
        for (const auto& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(p[1]);
    *out = ::fdopen(p[0], "r");
    return pid;
}

std::string read_line(FILE* f) {
    char buf[1024];
    return std::fgets(buf, sizeof buf, f) ? std::string(buf) : std::string();
}

// Runs the server with `server_args` (after the program's path) and a worker
// that pulls and pushes ids 0 .. keys-1 against it, labelled `mode`.
// With `paged`, the server also reports its page cache at the end.
void worker_drives_server(std::vector<std::string> server_args, const std::string& mode,
                          const std::string& keys, bool paged = false) {
    const char* server_path = std::getenv("AIRLOCK_PS_SERVER");
    const char* worker_path = std::getenv("AIRLOCK_PS_WORKER");
    ASSERT_TRUE(server_path && worker_path) << "set by ctest";
    server_args.insert(server_args.begin(), server_path);
    FILE* server_out = nullptr;
    const pid_t server = spawn(server_args, &server_out);
    ASSERT_GT(server, 0);
    const std::string ready = read_line(server_out);
    const auto colon = ready.find("127.0.0.1:");
    ASSERT_NE(colon, std::string::npos) << "server said: " << ready;
    const std::string port = std::to_string(std::stoi(ready.substr(colon + 10)));

    FILE* worker_out = nullptr;
    const pid_t worker =
        spawn({worker_path, "--port", port, "--rate", "1000", "--seconds", "0.2", "--keys", keys,
               "--zipf", "0.9", "--batch", "4", "--json", "--label", mode},
              &worker_out);
    ASSERT_GT(worker, 0);
    const std::string json = read_line(worker_out);
    int status = 0;
    ASSERT_EQ(::waitpid(worker, &status, 0), worker);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << json;
    EXPECT_NE(json.find("\"bench\":\"ps\",\"mode\":\"" + mode + "\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"errors\":0,\"unsent\":0,\"lost\":0"), std::string::npos) << json;
    std::fclose(worker_out);

    ::kill(server, SIGTERM);
    const std::string counters = read_line(server_out);
    ASSERT_EQ(::waitpid(server, &status, 0), server);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << counters;
    EXPECT_EQ(counters.rfind("requests ", 0), 0u) << counters;
    if (paged) {
        const std::string paging = read_line(server_out);
        EXPECT_EQ(paging.rfind("suvm hits ", 0), 0u) << paging;
        EXPECT_EQ(paging.find("faults 0 "), std::string::npos) << paging;
    }
    std::fclose(server_out);
}

class PsPrograms : public ::testing::TestWithParam<io_mode> {};

TEST_P(PsPrograms, WorkerDrivesServer) {
    const std::string mode(to_string(GetParam()));
    worker_drives_server(
        {"--mode", mode, "--port", "0", "--keys", "1000", "--transition-cycles", "2000"}, mode,
        "1000");
}

// 100,000 features of 8 floats: 3.2 MB of rows through a 1 MiB cache.
TEST(PsProgramsSuvm, WorkerDrivesServerWithTheModelInSuvm) {
    worker_drives_server({"--mode", "airlock", "--port", "0", "--keys", "100000", "--model-in",
                          "suvm", "--suvm-cache-mib", "1"},
                         "airlock", "100000", true);
}

INSTANTIATE_TEST_SUITE_P(Modes, PsPrograms, ::testing::ValuesIn(all_modes),
                         [](const auto& p) { return std::string(to_string(p.param)); });

}  // namespace
}  // namespace airlock::ps::testing
