// SPDX-License-Identifier: Apache-2.0
#pragma once
// src/sys/host_ops.hh: the host's half of sys calls made at once (internal).
//
// `host_table` is the host's map from the enclave's handles to its fds.
// `run_now` makes the calls that never block for long (bind and listen,
// options, addresses, shutdown, close, stat, path and folder calls) and
// returns their completion; `run_blocking` makes every other call with a
// plain blocking system call (accept, connect, recv, send, open, read,
// write, fsync, and poll, which only that transport makes), for the
// transition baseline. The io_uring service uses
// run_now and submits the rest.
//
// Thread contract: a table and its calls on one host thread.

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "airlock/sys/protocol.hh"

namespace airlock::sys::detail {

struct host_result {
    std::int64_t result = 0;
    std::uint64_t aux = 0;
    std::vector<std::byte> data;
};

// A request, its header words decoded.
struct host_request {
    wire::op kind{};
    std::uint64_t id = 0;
    std::uint64_t target = 0;
    std::uint64_t args[4] = {0, 0, 0, 0};
    std::span<const std::byte> payload;
};

// Decodes a request message; false when it is shorter than its header.
[[nodiscard]] bool decode_request(std::uint16_t tag, std::span<const std::byte> m,
                                  host_request& out) noexcept;
// A completion message for request `id`.
[[nodiscard]] std::vector<std::byte> encode_completion(std::uint64_t id, std::int64_t result,
                                                       std::uint64_t aux,
                                                       std::span<const std::byte> data);

class host_table {
  public:
    explicit host_table(std::size_t handles) : fds_(handles) {}
    ~host_table();
    host_table(const host_table&) = delete;
    host_table& operator=(const host_table&) = delete;

    // The fd of handle `h`, or -1 when unknown or of another generation.
    [[nodiscard]] int fd_of(std::uint64_t h) const noexcept;
    // True when `h` may name a new descriptor.
    [[nodiscard]] bool fits(std::uint64_t h) const noexcept;
    // Makes `h` name `fd` (closing what a reused slot still held).
    void install(std::uint64_t h, int fd) noexcept;
    // Forgets `h` and returns its fd (-1 when unknown).
    int take(std::uint64_t h) noexcept;

  private:
    struct entry {
        int fd = -1;
        std::uint32_t generation = 0;
    };
    std::vector<entry> fds_;
};

// A receive_from completion: the sender's address, then the bytes.
[[nodiscard]] host_result datagram_reply(const sockaddr_storage& sa, socklen_t len,
                                         const std::byte* data, std::size_t n);

// Makes a quick call; nullopt when `r` is not one. A close hands its fd to
// `closed` (the service closes after its submit; null: close at once).
[[nodiscard]] std::optional<host_result> run_now(host_table& t, const host_request& r,
                                                 std::vector<int>* closed);
// Makes any call with blocking system calls on this thread. With a
// `stop_fd` (an eventfd the owner writes to stop the thread) a call that
// may wait for a peer (accept, connect, recv, send, send_to, receive_from,
// poll)
// is made so that the stop ends its wait: tried without waiting, then a
// wait for readiness or the stop; stopped, it returns -ECANCELED.
[[nodiscard]] host_result run_blocking(host_table& t, const host_request& r, int stop_fd = -1);

}  // namespace airlock::sys::detail
