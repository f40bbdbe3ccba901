// SPDX-License-Identifier: Apache-2.0
#pragma once
// src/sys/transition_server.hh: the host's half of the transition baseline
// on a sealed platform (internal).
//
// On `process` the enclave may make no system call, so a client of the
// transition transport (sys/transition.hh) pays the modelled ocall, sends
// its request over its link and blocks its thread until the answer comes.
// The service hands such a link (its first request carries
// wire::transition_flag) to a `transition_server`: one host thread for that
// link alone, which takes one request at a time, makes it with a plain
// blocking system call (detail::run_blocking) and writes the completion
// back, as the untrusted half of an ocall does on the thread that left the
// enclave. It never trusts the enclave: a request that does not decode is
// not answered, a broken request ring ends the serving.
//
// Thread contract: made and destroyed by the service's owner thread; serves
// on its own thread in between.

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "airlock/platform/enclave.hh"
#include "airlock/ring/spsc_ring.hh"
#include "host_ops.hh"

namespace airlock::sys::detail {

class transition_server {
  public:
    // Serves `first` (the request the service took: its tag and bytes),
    // then every later request of the link, on a thread of its own.
    transition_server(const platform::service_link& view, ring::ring_consumer requests,
                      ring::ring_producer completions, std::unique_ptr<host_table> fds,
                      ring::wait_hooks& hooks, std::uint16_t first_tag,
                      std::vector<std::byte> first);
    // Stops the thread, ending a blocking call it is in, and closes every
    // descriptor of the link.
    ~transition_server();
    transition_server(const transition_server&) = delete;
    transition_server& operator=(const transition_server&) = delete;

    // Requests answered so far (any thread; approximate while running).
    [[nodiscard]] std::uint64_t served() const noexcept {
        return served_.load(std::memory_order_relaxed);
    }

  private:
    void run(std::uint16_t first_tag, std::vector<std::byte> first);
    // Makes one request and sends its completion; false once stopped.
    bool serve(std::uint16_t tag, std::span<const std::byte> bytes);
    [[nodiscard]] bool stopping() const noexcept { return stop_.load(std::memory_order_acquire); }

    platform::service_link view_;
    ring::ring_consumer requests_;
    ring::ring_producer completions_;
    std::unique_ptr<host_table> fds_;
    ring::wait_hooks* hooks_;
    int stop_fd_ = -1;  // an eventfd: readable once stopping (ends a blocking call's wait)
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> served_{0};
    std::thread thread_;
};

}  // namespace airlock::sys::detail
