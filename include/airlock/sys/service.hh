// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/service.hh: the host's sys service: sys links served by io_uring.
//
// `sys::service` is one host thread serving the sys links of one or more
// enclave threads (platform service links). Each round it takes the
// requests waiting in every link, turns the blocking ones (accept, connect,
// recv, send, open, read, write, fsync) into io_uring submissions and
// submits them all with one io_uring_enter; quick ones (bind and listen,
// options, addresses, stat, directory calls, close) it makes at once. It
// reaps completions and writes each back to its link, waking the enclave
// thread's executor. It keeps the enclave's handles in a table of its own
// (handle -> fd); a handle it does not know is EBADF.
//
// It keeps each link's clock words current (sys/clock.hh) every round and,
// while idle, every `tick_ns`. Idle, it sleeps in io_uring_enter with a
// futex wait on each link's doorbell armed in the ring (IORING_OP_FUTEX_WAIT,
// Linux 6.7), so a request wakes it at once and it costs nothing between
// ticks; without that opcode it falls back to waking every tick. After
// `tickless_after` ticks in a row with nothing to do it stops ticking: it
// marks the clock words stale and sleeps until rung (a request, or a clock
// reader that wants fresh words), so an idle service costs no CPU.
//
// Thread contract: host side. start and the destructor on one thread; the
// service runs on its own thread in between.

#include <cstdint>
#include <memory>
#include <vector>

#include "airlock/platform/enclave.hh"
#include "airlock/sys/error.hh"

namespace airlock::sys {

struct service_options {
    unsigned ring_entries = 256;        // io_uring submission queue size
    std::uint64_t tick_ns = 1'000'000;  // clock refresh while idle
    std::uint32_t tickless_after = 16;  // idle ticks before it stops ticking; 0: never
    std::size_t max_handles = 8192;     // per link; as the client's
    std::uint64_t spin_ns = 50'000;     // spinning with nothing to do before yielding
    std::uint32_t yields = 8;           // then this many sched_yields before sleeping
    int cpu = -1;                       // the service thread's CPU; -1: left to the OS
};

struct service_stats {
    std::uint64_t requests = 0;
    std::uint64_t submits = 0;  // io_uring_enter calls that submitted
    std::uint64_t completions = 0;
    std::uint64_t sleeps = 0;
    std::uint64_t tickless_sleeps = 0;  // sleeps with no tick (the clock marked stale)
};

class service {
  public:
    // Starts a service thread for `links` (host views). platform_unavailable
    // when io_uring cannot be set up.
    [[nodiscard]] static expected<std::unique_ptr<service>> start(
        std::vector<platform::service_link> links, ring::wait_hooks& hooks,
        service_options options = {});
    // Every link of every thread of `e` (one link each).
    [[nodiscard]] static expected<std::unique_ptr<service>> start_for(platform::enclave& e,
                                                                      std::size_t link_index = 0,
                                                                      service_options options = {});
    virtual ~service() = default;
    // Counters so far (any thread; approximate while running).
    [[nodiscard]] virtual service_stats stats() const noexcept = 0;
};

}  // namespace airlock::sys
