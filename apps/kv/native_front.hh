// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/kv/native_front.hh: airlock-kv's native transport (epoll, one event
// loop per worker thread), used by `--platform native` and by the tests.
//
// `native_front` listens on TCP, and each of its worker threads accepts
// connections (EPOLLEXCLUSIVE on the shared listening socket) and runs them
// to completion on its own `connection` objects; the engine and its store
// are shared. Level-triggered: a connection is read only while it wants
// input and written while it has output, so a client that never reads
// stops being read instead of growing a buffer.
//
// Thread contract: start and stop from one controlling thread; the worker
// threads are the front's own.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "engine.hh"

namespace airlock::kv {

struct native_options {
    std::string listen = "0.0.0.0";   // -l
    std::uint16_t port = 11211;       // -p (0: any free port)
    unsigned threads = 4;             // -t
    unsigned max_connections = 1024;  // -c
    unsigned verbose = 0;             // -v
};

class native_front {
  public:
    native_front(engine& e, native_options opt);
    ~native_front();
    native_front(const native_front&) = delete;
    native_front& operator=(const native_front&) = delete;

    // Binds and starts the workers; returns an error text on failure.
    [[nodiscard]] std::string start();
    // The port bound (after start).
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    // Stops the workers and closes every connection; idempotent.
    void stop();

  private:
    void worker(int stop_fd);

    engine& eng_;
    native_options opt_;
    int listen_fd_ = -1;
    int stop_fd_ = -1;
    std::uint16_t port_ = 0;
    std::vector<std::thread> threads_;
};

}  // namespace airlock::kv
