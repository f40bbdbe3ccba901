// SPDX-License-Identifier: Apache-2.0
#pragma once
// src/sys/stream.hh: the state of a connected stream socket (internal).
//
// `detail::stream` is what a `sys::socket` points at: its client and
// handle, the receive-ahead buffer and the write-behind queue. It lives on
// the heap, shared by the socket and by the coroutines it spawns on the
// client's executor (the receive pump and the send pump), so a completion
// that arrives after the socket was moved or destroyed still lands in live
// memory; the last of them frees it.
//
// Receive ahead: while the buffer has room, one recv is posted into its free
// tail (one of the client's eager requests); `socket::recv` copies from the
// buffer. Write behind: `socket::send` appends to the queue (at most
// write_behind_bytes) and returns; one send at a time carries the queue's
// head to the host, so bytes leave in order, a short send is resent from
// where it stopped. The first error of either pump is kept (sticky) and
// every later call on the socket returns it.
//
// Thread contract: enclave side, the client's executor thread only. No
// locks: the pumps and the socket's calls run on that one thread.

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "airlock/async/event.hh"
#include "airlock/async/task.hh"
#include "airlock/sys/client.hh"

namespace airlock::sys::detail {

class stream : public std::enable_shared_from_this<stream> {
  public:
    // A stream for the open socket handle `h`; starts receiving ahead.
    // Null when enclave memory ran out (the handle is then closed).
    static std::shared_ptr<stream> make(client_ref c, handle h) noexcept;
    stream(client_ref c, handle h) noexcept;
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;
    ~stream();

    [[nodiscard]] bool is_open() const noexcept {
        return client_ && client_->valid(handle_, handle_kind::socket);
    }
    [[nodiscard]] const client_ref& owner() const noexcept { return client_; }
    [[nodiscard]] handle id() const noexcept { return handle_; }

    // --- receiving ahead -------------------------------------------------
    [[nodiscard]] bool receives_ahead() const noexcept { return !rx_buffer_.empty(); }
    [[nodiscard]] std::size_t buffered() const noexcept { return rx_tail_ - rx_head_; }
    // Copies up to into.size() buffered bytes into `into`, in order.
    std::size_t take(std::span<std::byte> into) noexcept;
    // Posts a receive ahead unless one is in flight, the buffer is full, the
    // stream ended or failed, or no eager request is left. True when a
    // receive is in flight afterwards.
    bool receive_ahead() noexcept;
    [[nodiscard]] bool at_end() const noexcept { return rx_end_; }
    async::async_event received;  // set when the receive pump delivers or stops

    // --- writing behind ---------------------------------------------------
    [[nodiscard]] bool writes_behind() const noexcept { return tx_limit_ != 0; }
    [[nodiscard]] std::size_t unflushed() const noexcept { return tx_queue_.size() - tx_head_; }
    [[nodiscard]] std::size_t room() const noexcept {
        return tx_limit_ > unflushed() ? tx_limit_ - unflushed() : 0;
    }
    [[nodiscard]] bool flushed() const noexcept { return unflushed() == 0 && !tx_running_; }
    // Queues `parts` in order (at most room() bytes in all, the caller's
    // check) and starts the send pump. errc::enclave_memory_exhausted when
    // the queue could not grow.
    result<void> queue(std::span<const std::span<const std::byte>> parts) noexcept;
    async::async_event sent;  // set when the send pump moves bytes or stops

    // --- errors and the end -----------------------------------------------
    // The first error of a pump: every later call on the socket returns it.
    [[nodiscard]] const std::optional<error>& failure() const noexcept { return failure_; }
    // The socket is gone: close the handle once the queue is sent (now if
    // it is empty); a receive in flight then ends (the host's close shuts
    // the socket down) and the last pump frees the stream.
    void detach() noexcept;

  private:
    static async::task<void> receive_pump(std::shared_ptr<stream> self);
    static async::task<void> send_pump(std::shared_ptr<stream> self);
    void fail(error e) noexcept;
    void close_now() noexcept;

    client_ref client_;
    handle handle_ = 0;
    bool detached_ = false;
    std::optional<error> failure_;

    std::vector<std::byte> rx_buffer_;  // empty: no receiving ahead
    std::size_t rx_head_ = 0, rx_tail_ = 0;
    bool rx_running_ = false;
    bool rx_end_ = false;  // the peer shut its side: recv returns 0

    std::size_t tx_limit_ = 0;
    std::vector<std::byte> tx_queue_;  // [tx_head_, end) is unflushed
    std::size_t tx_head_ = 0;
    bool tx_running_ = false;
};

}  // namespace airlock::sys::detail
