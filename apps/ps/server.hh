// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/ps/server.hh: the parameter server over TCP, in three I/O modes.
//
// `server` listens on 127.0.0.1, accepts many connections and serves them
// with one `engine` on one thread, the server thread, which plays the
// enclave thread: the model and the engine are its private memory, and it
// reaches the kernel (epoll_wait, accept4, recv, send, epoll_ctl, close)
// only through the mode's gate, one call per system call:
//   native      the system call, directly (the server in the clear);
//   transition  a platform::modelled_transition around each system call:
//               the SDK's ocall (the seed's "Ocalls"), cost MODELLED;
//   switchless  a platform::switchless_pool with one host worker: the server
//               thread publishes the call and spins until the worker has
//               made it (the seed's SGXIO); refused calls fall back to the
//               modelled transition, as in the SDK;
//   airlock     the engine in an enclave on `platform` (sim or process),
//               its socket calls Airlock sys calls over rings to the host's
//               io_uring service, one coroutine per connection on the one
//               enclave thread (airlock_server.hh).
// In the two enclave modes, data crosses through an untrusted staging
// buffer, copied once each way as the SDK's marshalling does, and every
// result is checked against what was asked (a byte count above the buffer,
// an event count above the array, an unknown descriptor) before use.
// The listening socket and the epoll instance are made by `create`, on the
// host, before the server thread runs.
//
// Thread contract: create and the destructor on one thread; `run` on one
// thread (the server thread) at a time; `open_connections` and `stop` from
// any thread. Memory ordering: the stop flag and the connection count are
// relaxed atomics (the stop flag is polled; the count is a statistic).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "airlock/base/expected.hh"
#include "airlock/platform/enclave.hh"
#include "ps/engine.hh"

namespace airlock::ps {

enum class io_mode : std::uint8_t { native, transition, switchless, airlock };
[[nodiscard]] std::string_view to_string(io_mode m) noexcept;
// "native", "transition", "switchless" or "airlock"; invalid_argument otherwise.
[[nodiscard]] expected<io_mode> io_mode_from(std::string_view name) noexcept;

struct server_options {
    io_mode mode = io_mode::native;
    std::uint16_t port = 0;       // 0: a free port chosen by the kernel
    std::uint32_t dimension = 8;  // floats per feature
    std::size_t keys = 65'536;    // features 0 .. keys-1, at model::initial_value
    engine_options engine{};
    // Cost of the modelled transition (transition mode, switchless fallback).
    std::uint64_t transition_cycles = 8'200;
    int cpu = -1;                         // CPU of the server thread; -1: not pinned
    int io_worker_cpu = -1;               // CPU of the switchless host worker; -1: not pinned
    std::size_t max_connections = 1'024;  // more are closed at once
    // airlock mode: where the enclave runs.
    platform::platform_kind platform = platform::platform_kind::sim;
    // airlock mode: where the model's vectors live (model.hh): enclave
    // memory, or a suvm space whose page cache in enclave memory holds
    // suvm_cache_bytes of them (pages of suvm_page_size bytes) and whose
    // backing store is untrusted memory the host gives the enclave at
    // start, sized for the model (keys x dimension floats). The other modes
    // take only `memory` (invalid_argument otherwise).
    model_storage model_in = model_storage::memory;
    std::size_t suvm_cache_bytes = std::size_t{16} << 20;
    std::size_t suvm_page_size = 4096;
    // airlock mode: the enclave's memory budget (enforced on `process`);
    // 0: room for the runtime, the connections and the model's enclave
    // memory (all of it with `memory`; the index and the cache with `suvm`).
    std::size_t enclave_memory = 0;
};

// What the page cache of a suvm model did (suvm::space_stats).
struct model_paging {
    std::uint64_t hits = 0;
    std::uint64_t faults = 0;
    std::uint64_t prefetches = 0;
    std::uint64_t evictions = 0;
    std::uint64_t write_backs = 0;
};

// "memory" or "suvm"; invalid_argument otherwise.
[[nodiscard]] std::string_view to_string(model_storage m) noexcept;
[[nodiscard]] expected<model_storage> model_storage_from(std::string_view name) noexcept;

class airlock_server;

class server {
  public:
    // Builds the model and listens. Errors: invalid_argument (bad options),
    // platform_unavailable (the socket could not be made or bound).
    [[nodiscard]] static expected<std::unique_ptr<server>> create(const server_options& options);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept;
    // Serves until `stop()` (checked at least every 50 ms) or a host result
    // out of contract (returned). Blocks the calling thread.
    [[nodiscard]] expected<void> run();
    void stop() noexcept;

    [[nodiscard]] std::size_t open_connections() const noexcept;
    // The engine's counters; exact once run() returned.
    [[nodiscard]] server_stats stats() const noexcept;
    // With model_in == suvm, the model's space's counters, read when run()
    // returned (suvm::space_stats); zeros otherwise.
    [[nodiscard]] model_paging paging() const noexcept;

  private:
    struct state;
    explicit server(std::unique_ptr<state> s) noexcept;
    explicit server(std::unique_ptr<airlock_server> a) noexcept;
    std::unique_ptr<state> state_;             // native, transition, switchless
    std::unique_ptr<airlock_server> airlock_;  // airlock
};

}  // namespace airlock::ps
