// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/resumption.hh: a coroutine's place in an executor's ready queue.
//
// Defines `resumption`, the node an awaitable owns and queues when its
// coroutine may continue, and `detail::ready_list`, the executor's intrusive
// FIFO of them. The queue holds nodes, never bare coroutine handles: a
// node lives in the awaitable (and so in the suspended frame), and its
// destructor takes it out of the queue. Destroying a suspended coroutine
// therefore never leaves a resumption of it behind, whatever it was waiting
// for (DESIGN.md, async). Queueing and unlinking are a few pointer writes;
// nothing allocates.
//
// Thread contract: a queued node belongs to its executor's thread: queue it,
// and destroy it while it is queued, only there (AIRLOCK_CHECK catches a
// frame destroyed on another thread while its resumption is queued).
// No atomics.

#include <coroutine>
#include <cstddef>

#include "airlock/base/check.hh"

namespace airlock::async {

class executor;
namespace detail {
class ready_list;
inline thread_local constinit char tls_thread_marker = 0;
}  // namespace detail

// `resumption` is one pending resumption of a coroutine: queued by the
// awaitable that owns it, run by the executor in a later round, or taken
// back when the awaitable dies first. Not copyable or movable.
class resumption {
  public:
    resumption() noexcept = default;
    ~resumption() { withdraw(); }
    resumption(const resumption&) = delete;
    resumption& operator=(const resumption&) = delete;

    // True while it waits in a ready queue.
    [[nodiscard]] bool queued() const noexcept { return list_ != nullptr; }
    // Takes it out of its queue, if it is in one: the coroutine will not be
    // resumed by it. Owner thread of that queue.
    void withdraw() noexcept;

  private:
    friend class detail::ready_list;
    std::coroutine_handle<> handle_;
    resumption* prev_ = nullptr;
    resumption* next_ = nullptr;
    detail::ready_list* list_ = nullptr;
};

namespace detail {

// The executor's ready coroutines, oldest first: a circular list around a
// sentinel, so that pushing, popping and unlinking never branch on emptiness.
class ready_list {
  public:
    ready_list() noexcept {
        head_.prev_ = head_.next_ = &head_;
        owner_marker_ = &tls_thread_marker;
    }
    ~ready_list() { clear(); }
    ready_list(const ready_list&) = delete;
    ready_list& operator=(const ready_list&) = delete;

    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    // Queues `r` to resume `h`. Precondition: `r` is not queued.
    void push(resumption& r, std::coroutine_handle<> h) noexcept {
        AIRLOCK_CHECK(r.list_ == nullptr, "a resumption queued twice");
        r.handle_ = h;
        r.list_ = this;
        r.next_ = &head_;
        r.prev_ = head_.prev_;
        head_.prev_->next_ = &r;
        head_.prev_ = &r;
        ++size_;
    }
    // Unqueues the oldest and returns its coroutine. Precondition: !empty().
    std::coroutine_handle<> pop() noexcept {
        resumption& r = *head_.next_;
        unlink(r);
        return r.handle_;
    }
    void unlink(resumption& r) noexcept {
        AIRLOCK_CHECK(&tls_thread_marker == owner_marker_,
                      "a queued resumption withdrawn on another thread (a suspended coroutine "
                      "destroyed away from its executor)");
        r.prev_->next_ = r.next_;
        r.next_->prev_ = r.prev_;
        r.prev_ = r.next_ = nullptr;
        r.list_ = nullptr;
        --size_;
    }
    // Unqueues everything without resuming (executor teardown).
    void clear() noexcept {
        while (!empty())
            unlink(*head_.next_);
    }

  private:
    resumption head_;  // sentinel, never queued itself
    std::size_t size_ = 0;
    const char* owner_marker_;
};

}  // namespace detail

inline void resumption::withdraw() noexcept {
    if (list_ != nullptr) list_->unlink(*this);
}

}  // namespace airlock::async
