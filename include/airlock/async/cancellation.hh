// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/cancellation.hh: asking operations to stop early.
//
// Defines `cancellation_source` (the side that requests cancellation),
// `cancellation_token` (what an operation is given to observe it) and
// `cancellation_registration` (a callback that runs when it is requested).
// Cancellation is cooperative: an awaitable that accepts a token (a timer,
// `executor::sleep_for`, an rpc call) registers a callback and, when it
// fires, resumes its coroutine with `errc::cancelled`. Nothing allocates:
// registrations are intrusive nodes that live in the awaiting frame.
//
// Thread contract: single-threaded. A source, its tokens and registrations
// belong to one executor's thread; callbacks run inside
// `request_cancellation`, on that thread, before it returns. To cancel from
// another thread, post a work item that calls `request_cancellation` to the
// executor (executor::post). A source must outlive every token taken from it.

#include <cstddef>

namespace airlock::async {

class cancellation_source;
class cancellation_registration;

// `cancellation_token` observes one `cancellation_source`, or none (the
// default token, which is never cancelled). A small copyable handle.
class cancellation_token {
  public:
    // A token that can never be cancelled.
    cancellation_token() noexcept = default;

    // False for the default token: callers may skip registering.
    [[nodiscard]] bool can_be_cancelled() const noexcept { return source_ != nullptr; }
    [[nodiscard]] bool is_cancellation_requested() const noexcept;

  private:
    friend class cancellation_source;
    friend class cancellation_registration;
    explicit cancellation_token(cancellation_source* source) noexcept : source_(source) {}
    cancellation_source* source_ = nullptr;
};

// `cancellation_source` requests cancellation once; every registration made
// through its tokens runs then, in registration order. Not copyable or
// movable: tokens point at it.
class cancellation_source {
  public:
    cancellation_source() noexcept = default;
    // Registrations still attached are detached: they never fire.
    ~cancellation_source();
    cancellation_source(const cancellation_source&) = delete;
    cancellation_source& operator=(const cancellation_source&) = delete;

    [[nodiscard]] cancellation_token token() noexcept { return cancellation_token(this); }
    [[nodiscard]] bool is_cancellation_requested() const noexcept { return requested_; }

    // Requests cancellation: runs each registered callback once, on this
    // thread, before returning. Returns false (and does nothing) when
    // cancellation was already requested. Callbacks may register, deregister
    // (themselves or others) and request cancellation again (a no-op).
    bool request_cancellation() noexcept;

    // Registrations waiting on this source.
    [[nodiscard]] std::size_t registrations() const noexcept;

  private:
    friend class cancellation_registration;
    bool requested_ = false;
    cancellation_registration* head_ = nullptr;
    cancellation_registration* tail_ = nullptr;
};

inline bool cancellation_token::is_cancellation_requested() const noexcept {
    return source_ != nullptr && source_->is_cancellation_requested();
}

// `cancellation_registration` runs `callback(context)` once when its token's
// source requests cancellation, unless it is deregistered (or destroyed)
// first. Not copyable or movable: it is a node in the source's list.
class cancellation_registration {
  public:
    using callback = void (*)(void* context) noexcept;

    cancellation_registration() noexcept = default;
    // Registers at once; when cancellation was already requested, runs
    // `fn(context)` before returning instead.
    cancellation_registration(cancellation_token token, callback fn, void* context) noexcept;
    ~cancellation_registration() { deregister(); }
    cancellation_registration(const cancellation_registration&) = delete;
    cancellation_registration& operator=(const cancellation_registration&) = delete;

    // Registers `fn(context)` with the token's source. Returns false, without
    // registering or calling `fn`, when the token is already cancelled or can
    // never be. Precondition: not registered.
    [[nodiscard]] bool try_register(cancellation_token token, callback fn, void* context) noexcept;
    // Removes the registration if it has not fired; safe to call repeatedly.
    void deregister() noexcept;
    [[nodiscard]] bool is_registered() const noexcept { return source_ != nullptr; }

  private:
    friend class cancellation_source;
    cancellation_source* source_ = nullptr;  // non-null while registered
    cancellation_registration* prev_ = nullptr;
    cancellation_registration* next_ = nullptr;
    callback fn_ = nullptr;
    void* context_ = nullptr;
};

// Registering and deregistering are the fast path (every cancellable await
// does both): a few pointer writes, inline.
inline bool cancellation_registration::try_register(cancellation_token token, callback fn,
                                                    void* context) noexcept {
    cancellation_source* source = token.source_;
    if (source == nullptr || source->requested_) return false;
    source_ = source;
    fn_ = fn;
    context_ = context;
    prev_ = source->tail_;
    next_ = nullptr;
    if (prev_ != nullptr)
        prev_->next_ = this;
    else
        source->head_ = this;
    source->tail_ = this;
    return true;
}

inline void cancellation_registration::deregister() noexcept {
    if (source_ == nullptr) return;
    if (prev_ != nullptr)
        prev_->next_ = next_;
    else
        source_->head_ = next_;
    if (next_ != nullptr)
        next_->prev_ = prev_;
    else
        source_->tail_ = prev_;
    source_ = nullptr;
    prev_ = next_ = nullptr;
}

}  // namespace airlock::async
