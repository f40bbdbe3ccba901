// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/poll.hh: waiting until one of several sockets is ready, as
// poll(2) does, for a thread whose calls block.
//
// On the transition transport (sys/transition.hh) every call blocks the
// enclave thread, so a thread that serves many connections must not call
// recv on one that has nothing to say: it asks first which of its sockets
// and listeners are ready, as a program on epoll or libevent does inside an
// SDK enclave (one ocall for the wait, then one per read and write).
// `sys::poll` is that wait: one request, one blocking poll on the host.
//
// On the ring transport nothing blocks the thread: a coroutine per socket
// waits in recv or accept while the others run, and sockets receive and
// accept ahead of the program, so the host's readiness would not be the
// enclave's. There `poll` fails with errc::sys_unsupported.
//
// The reply is checked like any completion: a word of events per entry,
// only events that exist, and a count that is the entries with any.
// Events the entry did not ask for other than poll_err, poll_hup and
// poll_nval are dropped, so the host can at most claim readiness that a
// later call then finds missing (a recv that waits), never corrupt state.
//
// Thread contract: enclave side, the client's executor thread.

#include <chrono>
#include <cstdint>
#include <span>

#include "airlock/async/task.hh"
#include "airlock/sys/client.hh"
#include "airlock/sys/error.hh"
#include "airlock/sys/protocol.hh"

namespace airlock::sys {

// One handle to wait on: a socket's or listener's native_handle().
struct poll_entry {
    handle target = 0;
    std::uint64_t events = wire::poll_in;  // poll_in and/or poll_out
    std::uint64_t revents = 0;             // set by poll: what happened
};

// Waits until at least one entry is ready or `timeout` passes (negative:
// no limit; zero: only asks). Fills every entry's `revents` and returns how
// many entries have any (0: the timeout). A handle that is not an open
// socket or listener of `c` is poll_nval at once, without waiting.
[[nodiscard]] async::task<result<std::size_t>> poll(client& c, std::span<poll_entry> entries,
                                                    std::chrono::milliseconds timeout);

}  // namespace airlock::sys
