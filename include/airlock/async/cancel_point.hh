// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/cancel_point.hh: cancellation brought home to the awaiting coroutine.
//
// Defines `detail::cancel_point`, the piece every cancellable awaitable
// embeds. A token may be cancelled on any thread, but an awaitable's state
// (its place in a timer heap or a wait queue, its resumption) belongs to the
// executor of the coroutine that awaits it. A cancel point registers with
// the token and, when the token is cancelled, runs the awaitable's
// `on_cancel` on that executor's thread: at once when the request is made
// there, otherwise through a work item posted to the executor. The
// awaitable decides there whether the cancellation still matters (it may
// have completed meanwhile). `disarm`, and the destructor, undo both the
// registration and a posted item not yet run, so a destroyed awaitable is
// never called back.
//
// Thread contract: arm, disarm and destruction on the executor's thread;
// the token's callback on any thread.
// Memory ordering: the posted flag is set by the requesting thread before
// it posts (release, with the inbox's release push) and read by the owner
// only after deregistering, which waits for a callback still running.

#include <atomic>

#include "airlock/async/cancellation.hh"
#include "airlock/async/inbox.hh"

namespace airlock::async {

class executor;

namespace detail {

class cancel_point : private work_item {
  public:
    using callback = void (*)(void* context) noexcept;

    cancel_point() noexcept = default;
    ~cancel_point() { disarm(); }
    cancel_point(const cancel_point&) = delete;
    cancel_point& operator=(const cancel_point&) = delete;

    // Listens to `token` for an awaitable whose coroutine runs on `ex`:
    // `on_cancel(context)` runs on `ex`'s thread once it is cancelled. Returns
    // false, registering nothing, when the token is already cancelled (the
    // awaitable completes with errc::cancelled at once); true otherwise,
    // including for a token that can never be cancelled (then nothing is
    // registered either). Precondition: not armed.
    [[nodiscard]] bool arm(executor& ex, const cancellation_token& token, callback on_cancel,
                           void* context) noexcept;
    // Stops listening: deregisters (waiting for a callback running on
    // another thread to return) and takes back a posted cancellation that
    // has not run. Safe to call when not armed, and from `on_cancel`.
    void disarm() noexcept {
        registration_.deregister();
        if (posted_.load(std::memory_order_acquire)) withdraw();
    }

  private:
    static void on_token(void* self) noexcept;
    static void on_posted(work_item& self) noexcept;
    static void on_discarded(work_item& self) noexcept;
    void withdraw() noexcept;

    executor* executor_ = nullptr;
    callback on_cancel_ = nullptr;
    void* context_ = nullptr;
    cancellation_registration registration_;
    std::atomic<bool> posted_{false};
};

}  // namespace detail
}  // namespace airlock::async
