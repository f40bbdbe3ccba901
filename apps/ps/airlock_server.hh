// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/ps/airlock_server.hh: the `airlock` mode of the server (server.hh).
//
// `airlock_server` runs the engine in an enclave (sim or process platform)
// whose socket calls are Airlock `sys` calls: messages over the rings of a
// service link to the host's io_uring service, from coroutines, one per
// connection, all on the one enclave thread, which never makes a system
// call and never waits for the host while another connection has work.
// The host starts the enclave and the service, asks the enclave to listen
// (an ecall, at start only) and, while running, asks it every 10 ms for its
// connection count, so any host thread can read it. With
// server_options::model_in == suvm, the host also gives the enclave the
// untrusted memory of the model's backing store (enclave_config::
// untrusted_memory), and the enclave builds the space and the model in it
// at start; a failure there is what create returns.
//
// Thread contract: as server (server.hh): create and the destructor on one
// thread, run on one thread, stop and the observers from any thread; two
// creates in one process must not run at once (the enclave's configuration
// passes through one process-wide variable, copied by the enclave at start).
// Memory ordering: the stop flag and the published counters are relaxed
// atomics (polled statistics).

#include <memory>

#include "ps/server.hh"

namespace airlock::ps {

class airlock_server {
  public:
    [[nodiscard]] static expected<std::unique_ptr<airlock_server>> create(
        const server_options& options);
    virtual ~airlock_server() = default;
    [[nodiscard]] virtual std::uint16_t port() const noexcept = 0;
    [[nodiscard]] virtual expected<void> run() = 0;
    virtual void stop() noexcept = 0;
    [[nodiscard]] virtual std::size_t open_connections() const noexcept = 0;
    [[nodiscard]] virtual server_stats stats() const noexcept = 0;
    [[nodiscard]] virtual model_paging paging() const noexcept = 0;
};

}  // namespace airlock::ps
