// SPDX-License-Identifier: Apache-2.0
#pragma once
// bench/sys_host.hh: the host-side pieces of `airlock-bench sys`'s network
// workloads, built on nothing of Airlock (tests/bench uses them too).
//
// `native_echo_server` is the `native` mode: a single-threaded epoll server
// on loopback that sends back every byte it reads, what a user would write
// without an enclave. `run_loadgen` starts airlock-sys-loadgen (a separate
// process, bench/sys_loadgen.cc) against a port and waits for it, bounded.
//
// Thread contract: construct, query and destroy a server on one thread; it
// serves on a thread of its own in between. run_loadgen from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <thread>

namespace airlock::bench {

class native_echo_server {
  public:
    // Listens on 127.0.0.1, a free port; the serving thread is pinned to
    // `cpu` (-1: not pinned). Throws std::runtime_error if it cannot listen.
    explicit native_echo_server(int cpu = -1);
    ~native_echo_server();
    native_echo_server(const native_echo_server&) = delete;
    native_echo_server& operator=(const native_echo_server&) = delete;
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

  private:
    void run(int cpu);
    int listen_fd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    std::uint16_t port_ = 0;
    std::thread thread_;
};

struct loadgen_request {
    std::string program;  // path of airlock-sys-loadgen
    std::uint16_t port = 0;
    std::size_t connections = 1;
    std::size_t bytes = 64;
    double seconds = 0;          // stop issuing after this long (0: no time bound)
    std::uint64_t requests = 0;  // stop issuing after this many (0: no count bound)
    double limit_seconds = 0;    // the load generator's own hard limit (0: its default)
};

struct loadgen_result {
    bool ok = false;
    std::string error;  // why not, when !ok (exit status, its stderr is inherited)
    std::uint64_t requests = 0;
    double seconds = 0;
    double p50_ns = 0;
    double p99_ns = 0;
};

// A started load generator: `start` spawns it (posix_spawn, stdout to a
// pipe); `wait` reaps it and parses its line. The process is killed if it
// outlives `wait`'s bound, and by the destructor if never waited for.
class loadgen_process {
  public:
    explicit loadgen_process(const loadgen_request& r);
    ~loadgen_process();
    loadgen_process(const loadgen_process&) = delete;
    loadgen_process& operator=(const loadgen_process&) = delete;
    [[nodiscard]] bool started() const noexcept { return pid_ > 0; }
    [[nodiscard]] loadgen_result wait(double bound_seconds);

  private:
    int pid_ = -1;
    int out_fd_ = -1;
};

// The path of airlock-sys-loadgen next to the running program.
[[nodiscard]] std::string loadgen_beside_self();

}  // namespace airlock::bench
