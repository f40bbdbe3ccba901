// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/cancellation.hh: asking operations to stop early.
//
// Defines `cancellation_source` (the side that requests cancellation),
// `cancellation_token` (what an operation observes), `cancellation_registration`
// (a callback that runs when cancellation is requested), and the bridges to
// and from `std::stop_token`. Cancellation is cooperative: an awaitable that
// is a cancellation point (a sleep, an rpc call, a wait on a mutex, semaphore,
// event or channel) registers a callback and, when it runs, resumes its
// coroutine with `errc::cancelled`. Tasks inherit their awaiter's token
// (async/task.hh), so a deadline reaches every cancellation point below it
// without being passed by hand.
//
// A source and its tokens share one small state, reference counted: tokens
// are cheap to copy, may outlive the source (a token whose sources are all
// gone and that was never cancelled can no longer be cancelled), and may be
// used on any thread. The state comes from the calling thread's frame pool
// (async/frame_pool.hh), so at steady state making a source allocates nothing.
//
// Thread contract: every member is thread-safe. Callbacks run on the thread
// that requests cancellation, inside `request_cancellation`, one after
// another in registration order; an awaitable whose coroutine belongs to
// another thread brings the cancellation there itself (async/cancel_point.hh).
// Deregistering while the callback runs on another thread waits until it has
// returned, so after `deregister` the callback is neither running nor due.
// Memory ordering: the request is an acq_rel exchange on the state's flag, so
// what the requester wrote before is visible to a thread that sees the
// request; the registration list is guarded by a spin lock held for a few
// pointer writes (acquire on lock, release on unlock).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <utility>

namespace airlock::async {

class cancellation_source;
class cancellation_registration;

namespace detail {

// The state a source and its tokens share. Internal: reach it through the
// public types.
class stop_state;

// Reference counting of the shared state; out of line (src/async/cancellation.cc).
void retain(stop_state* s) noexcept;
void release(stop_state* s) noexcept;
[[nodiscard]] bool stop_requested(const stop_state* s) noexcept;
[[nodiscard]] bool stop_possible(const stop_state* s) noexcept;

}  // namespace detail

// `cancellation_token` observes one source's state, or none (the default
// token, which is never cancelled). Copyable; thread-safe.
class cancellation_token {
  public:
    // A token that can never be cancelled.
    cancellation_token() noexcept = default;
    cancellation_token(const cancellation_token& other) noexcept : state_(other.state_) {
        if (state_ != nullptr) detail::retain(state_);
    }
    cancellation_token(cancellation_token&& other) noexcept
        : state_(std::exchange(other.state_, nullptr)) {}
    cancellation_token& operator=(cancellation_token other) noexcept {
        std::swap(state_, other.state_);
        return *this;
    }
    ~cancellation_token() {
        if (state_ != nullptr) detail::release(state_);
    }

    // False when nothing can ever cancel this token (the default token, or
    // one whose sources are all gone without a request): callers may skip
    // registering.
    [[nodiscard]] bool can_be_cancelled() const noexcept {
        return state_ != nullptr && detail::stop_possible(state_);
    }
    [[nodiscard]] bool is_cancellation_requested() const noexcept {
        return state_ != nullptr && detail::stop_requested(state_);
    }
    // True when both observe the same source (or both none).
    friend bool operator==(const cancellation_token& a, const cancellation_token& b) noexcept {
        return a.state_ == b.state_;
    }

  private:
    friend class cancellation_source;
    friend class cancellation_registration;
    explicit cancellation_token(detail::stop_state* adopted) noexcept : state_(adopted) {}
    detail::stop_state* state_ = nullptr;
};

// `cancellation_source` requests cancellation once; every registration made
// through its tokens runs then, in registration order. Copies share the
// state (as std::stop_source's do). Destroying the last source without a
// request detaches the registrations: they can never run.
class cancellation_source {
  public:
    // A new state, from the calling thread's frame pool (global new without one).
    cancellation_source();
    cancellation_source(const cancellation_source& other) noexcept;
    cancellation_source& operator=(const cancellation_source& other) noexcept;
    ~cancellation_source();

    [[nodiscard]] cancellation_token token() const noexcept;
    [[nodiscard]] bool is_cancellation_requested() const noexcept {
        return detail::stop_requested(state_);
    }

    // Requests cancellation: runs each registered callback once, on this
    // thread, before returning. Returns false (and does nothing) when
    // cancellation was already requested. Any thread. Callbacks may register
    // (refused: the request is made), deregister themselves or others, and
    // request cancellation again (a no-op).
    bool request_cancellation() noexcept;

    // Registrations waiting on this source (for tests and diagnostics).
    [[nodiscard]] std::size_t registrations() const noexcept;

  private:
    detail::stop_state* state_;
};

// `cancellation_registration` runs `callback(context)` once when its token's
// source requests cancellation, unless it is deregistered (or destroyed)
// first. Not copyable or movable: it is a node in the source's list. While
// registered it keeps the shared state alive.
class cancellation_registration {
  public:
    using callback = void (*)(void* context) noexcept;

    cancellation_registration() noexcept = default;
    // Registers at once; when cancellation was already requested, runs
    // `fn(context)` before returning instead.
    cancellation_registration(const cancellation_token& token, callback fn, void* context) noexcept;
    ~cancellation_registration() { deregister(); }
    cancellation_registration(const cancellation_registration&) = delete;
    cancellation_registration& operator=(const cancellation_registration&) = delete;

    // Registers `fn(context)` with the token's source. Returns false, without
    // registering or calling `fn`, when the token is already cancelled or can
    // never be. Precondition: not registered.
    [[nodiscard]] bool try_register(const cancellation_token& token, callback fn,
                                    void* context) noexcept;
    // Removes the registration if it has not run; if it is running on another
    // thread, waits until it has returned. Safe to call repeatedly, and from
    // inside the callback itself.
    void deregister() noexcept {
        if (state_ != nullptr) deregister_slow();
    }
    [[nodiscard]] bool is_registered() const noexcept {
        return state_ != nullptr && linked_.load(std::memory_order_acquire);
    }

  private:
    friend class detail::stop_state;
    friend class cancellation_source;
    void deregister_slow() noexcept;

    detail::stop_state* state_ = nullptr;  // held (a reference) from register to deregister
    cancellation_registration* prev_ = nullptr;
    cancellation_registration* next_ = nullptr;
    callback fn_ = nullptr;
    void* context_ = nullptr;
    // In the list (not yet run, not removed). Written under the state's lock.
    std::atomic<bool> linked_{false};
    // Set by the requesting thread once the callback returned.
    std::atomic<bool> done_{true};
    // Set by this registration's destructor when the callback destroys it,
    // so the requester does not touch it afterwards.
    bool* destroyed_ = nullptr;
};

// `linked_cancellation_source` is a source that is also cancelled when any
// of its parents is: up to two Airlock tokens and a std::stop_token. Owner
// thread of construction and destruction; the parents may be cancelled from
// any thread.
class linked_cancellation_source {
  public:
    explicit linked_cancellation_source(const cancellation_token& parent = {},
                                        const cancellation_token& second_parent = {},
                                        std::stop_token std_parent = {});
    linked_cancellation_source(const linked_cancellation_source&) = delete;
    linked_cancellation_source& operator=(const linked_cancellation_source&) = delete;

    [[nodiscard]] cancellation_token token() const noexcept { return source_.token(); }
    [[nodiscard]] bool is_cancellation_requested() const noexcept {
        return source_.is_cancellation_requested();
    }
    bool request_cancellation() noexcept { return source_.request_cancellation(); }

  private:
    struct std_forward {
        cancellation_source* source;
        void operator()() const noexcept { (void)source->request_cancellation(); }
    };
    static void forward(void* source) noexcept;
    cancellation_source source_;
    cancellation_registration parent_;
    cancellation_registration second_parent_;
    std::stop_callback<std_forward> std_parent_;
};

// `std_stop_bridge` gives code that takes a std::stop_token one that is
// stopped when an Airlock token is cancelled.
class std_stop_bridge {
  public:
    explicit std_stop_bridge(const cancellation_token& token) noexcept;
    std_stop_bridge(const std_stop_bridge&) = delete;
    std_stop_bridge& operator=(const std_stop_bridge&) = delete;
    [[nodiscard]] std::stop_token get_token() const noexcept { return source_.get_token(); }

  private:
    static void forward(void* source) noexcept;
    std::stop_source source_;
    cancellation_registration registration_;
};

}  // namespace airlock::async
