// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/sys/enclave_echo.hh: the enclave side of the echo tests: a
// connection that sends back every byte it receives, and an accept loop that
// starts one per connection.
//
// Thread contract: enclave side, the coroutines run on the executor they are
// spawned on.

#include <array>
#include <cstddef>
#include <utility>

#include "airlock/async/executor.hh"
#include "airlock/async/task.hh"
#include "airlock/sys/listener.hh"
#include "airlock/sys/socket.hh"

namespace airlock::test {

// Sends back what `s` receives, `Chunk` bytes at a time at most, until the
// peer closes or a call fails.
template <std::size_t Chunk = 4096>
async::task<void> echo_connection(sys::socket s) {
    std::array<std::byte, Chunk> buf{};
    for (;;) {
        auto n = co_await s.recv(buf);
        if (!n || *n == 0) co_return;
        if (!co_await s.send_all({buf.data(), *n})) co_return;
    }
}

// Accepts on `*l` until it fails, echoing each connection on `ex`. The
// caller keeps the listener alive.
template <std::size_t Chunk = 4096>
async::task<void> accept_and_echo(async::executor& ex, sys::listener* l) {
    for (;;) {
        auto s = co_await l->accept();
        if (!s) co_return;
        ex.spawn(echo_connection<Chunk>(std::move(*s)));
    }
}

// The same, owning the listener.
template <std::size_t Chunk = 4096>
async::task<void> accept_and_echo(async::executor& ex, sys::listener l) {
    co_await accept_and_echo<Chunk>(ex, &l);
}

}  // namespace airlock::test
