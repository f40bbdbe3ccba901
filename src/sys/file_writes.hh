// SPDX-License-Identifier: Apache-2.0
#pragma once
// src/sys/file_writes.hh: the writes a file has queued behind (internal).
//
// `detail::file_writes` holds a file's unflushed writes: their bytes, in
// order, and the segments they make (an offset and a length each; an
// O_APPEND file's go to the end). One write at a time carries the head
// segment to the host, resent from where a short write stopped, so writes
// reach the file in the order the program made them and a later write over
// the same bytes wins. At most `limit` bytes and max_segments segments are
// unflushed. The first error is kept; every later call on the file returns
// it. Shared by the file and its pump (a coroutine on the client's
// executor), so a completion after the file was moved or destroyed lands in
// live memory; a destroyed file closes once its writes went.
//
// Thread contract: enclave side, the client's executor thread only.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "airlock/async/event.hh"
#include "airlock/async/task.hh"
#include "airlock/sys/client.hh"

namespace airlock::sys::detail {

class file_writes : public std::enable_shared_from_this<file_writes> {
  public:
    // Segments unflushed at most: random small pwrites cannot grow the list
    // past this whatever their bytes.
    static constexpr std::size_t max_segments = 256;

    file_writes(client_ref c, handle h, bool append, std::size_t limit) noexcept
        : client_(std::move(c)), handle_(h), append_(append), limit_(limit) {}
    file_writes(const file_writes&) = delete;
    file_writes& operator=(const file_writes&) = delete;

    [[nodiscard]] std::size_t unflushed() const noexcept { return bytes_.size() - head_; }
    [[nodiscard]] std::size_t room() const noexcept {
        if (segments_.size() >= max_segments || unflushed() >= limit_) return 0;
        return limit_ - unflushed();
    }
    [[nodiscard]] bool flushed() const noexcept { return unflushed() == 0 && !running_; }
    [[nodiscard]] const std::optional<error>& failure() const noexcept { return failure_; }

    // Queues `parts` (at most room() bytes, the caller's check) to be
    // written at `offset`, and starts the pump.
    result<void> queue(std::span<const std::span<const std::byte>> parts,
                       std::uint64_t offset) noexcept;
    // The file is gone while a write is in flight: true, and the pump closes
    // the handle once the queue went. False when nothing is in flight (the
    // caller closes).
    bool detach_if_busy() noexcept;

    async::async_event written;  // set when the pump moves bytes or stops

  private:
    struct segment {
        std::uint64_t offset;
        std::size_t bytes;
    };
    static async::task<void> pump(std::shared_ptr<file_writes> self);
    void fail(error e) noexcept;

    client_ref client_;
    handle handle_ = 0;
    bool append_ = false;
    std::size_t limit_ = 0;
    bool running_ = false;
    bool detached_ = false;
    std::optional<error> failure_;
    std::vector<std::byte> bytes_;  // [head_, end) is unflushed, in segment order
    std::size_t head_ = 0;
    std::deque<segment> segments_;
};

}  // namespace airlock::sys::detail
