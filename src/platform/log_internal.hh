// SPDX-License-Identifier: Apache-2.0
#pragma once
// src/platform/log_internal.hh: the two ends of the enclave log rings.
//
// Each enclave thread has one log ring (enclave → host) in the region,
// after the channels' rings (log_ring). `enclave_logger` is its producer,
// installed as the thread's logger while the program and executor run;
// `log_drain` is a host thread that reads every log ring and calls the sink.
//
// Thread contract: an enclave_logger belongs to its enclave thread; a
// log_drain is made and destroyed on the host thread that owns the enclave.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "airlock/platform/log.hh"
#include "airlock/ring/region.hh"
#include "airlock/ring/spsc_ring.hh"

namespace airlock::platform::detail {

// Bytes of each log ring.
inline constexpr std::size_t log_ring_capacity = std::size_t{1} << 14;

class enclave_logger {
  public:
    enclave_logger(ring::ring_view ring, std::size_t index) noexcept;
    ~enclave_logger();  // uninstalls
    enclave_logger(const enclave_logger&) = delete;
    enclave_logger& operator=(const enclave_logger&) = delete;
    void write(log::level l, std::string_view text) noexcept;
    [[nodiscard]] std::uint64_t dropped() const noexcept { return dropped_total_; }

  private:
    ring::ring_producer producer_;
    std::uint64_t dropped_since_ = 0;  // not yet reported to the host
    std::uint64_t dropped_total_ = 0;
};

// Marks this process as an enclave (the `process` platform's child): a
// record logged on a thread with no logger is dropped, never printed.
void mark_enclave_process() noexcept;

class log_drain {
  public:
    // Drains rings `first .. first + count - 1` of `region`; record i's
    // origin is i.
    log_drain(const ring::region& region, std::size_t first, std::size_t count);
    ~log_drain();  // drains what is there, then joins
    log_drain(const log_drain&) = delete;
    log_drain& operator=(const log_drain&) = delete;

  private:
    bool drain_once() noexcept;
    void run() noexcept;

    std::vector<ring::ring_consumer> consumers_;
    std::vector<bool> faulted_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace airlock::platform::detail
