// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/wait_list.hh: coroutines waiting on a primitive (internal).
//
// Defines, in `detail`, what async_mutex, async_semaphore, async_event and
// channel share: `spin_lock` (guards a primitive's state for a few pointer
// writes), `wait_list` (its FIFO of waiting coroutines) and `primitive_wait`
// (the base of each primitive's awaitable). A waiter may be woken from any
// thread: on its own executor's thread its resumption is queued at once,
// from any other it is posted there. It is a cancellation point (the
// awaiting task's token, async/task.hh, and an optional token of its own):
// a cancelled wait leaves the list and resumes with errc::cancelled. And
// destroying a waiting coroutine never leaves anything behind: the node
// leaves the list, a wake in progress is waited for, a posted one is taken
// back, and the primitive is told if the wake had handed it something (a
// lock, a permit) that it must take back.
//
// Thread contract: a waiter is created, awaited and destroyed on one
// executor's thread; wakers and the primitive's other members run on any.
// Memory ordering: the primitive's state and list are guarded by its spin
// lock (acquire/release); a waker marks a node `waking` under that lock and
// `woken` (release) once its resumption is queued or posted, and the owner
// reads it with acquire before deciding what to undo.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <thread>

#include "airlock/async/cancel_point.hh"
#include "airlock/async/cancellation.hh"
#include "airlock/async/executor.hh"
#include "airlock/async/inbox.hh"
#include "airlock/async/resumption.hh"
#include "airlock/async/task.hh"
#include "airlock/base/check.hh"
#include "airlock/base/error.hh"
#include "airlock/base/expected.hh"

namespace airlock::async::detail {

// Test-and-test-and-set, pausing, yielding the CPU now and then (a holder
// may have been descheduled). Held only for a few pointer writes.
class spin_lock {
  public:
    void lock() noexcept {
        while (flag_.exchange(true, std::memory_order_acquire)) {
            for (unsigned i = 0; flag_.load(std::memory_order_relaxed); ++i) {
                if (i < 64) {
                    __builtin_ia32_pause();
                } else {
                    std::this_thread::yield();
                    i = 0;
                }
            }
        }
    }
    void unlock() noexcept { flag_.store(false, std::memory_order_release); }

  private:
    std::atomic<bool> flag_{false};
};

class wait_list;

// One waiting coroutine. Lives in the awaitable (primitive_wait).
class wait_node : private work_item {
  public:
    enum class state : std::uint8_t { idle, linked, waking, woken };

    wait_node() noexcept = default;
    wait_node(const wait_node&) = delete;
    wait_node& operator=(const wait_node&) = delete;

    // The waker, after wait_list::pop_front (under the primitive's lock):
    // makes the coroutine ready on its executor. Any thread. The node may be
    // gone as soon as this returns.
    void wake() noexcept {
        if (executor_->is_owner_thread()) {
            executor_->enqueue(resume_, handle_);
            state_.store(state::woken, std::memory_order_release);
            return;
        }
        run = &on_posted;
        discard = &on_discarded;
        posted_ = true;
        executor_->post(*this);
        // The owner waits for this store before it destroys the node
        // (settle), so the node is still alive here.
        state_.store(state::woken, std::memory_order_release);
    }

  private:
    friend class wait_list;
    friend class primitive_wait;
    static void on_posted(work_item& self) noexcept {
        auto& n = static_cast<wait_node&>(self);
        n.posted_ = false;
        n.executor_->enqueue(n.resume_, n.handle_);
    }
    static void on_discarded(work_item& self) noexcept {
        static_cast<wait_node&>(self).posted_ = false;
    }

    void* owner_ = nullptr;  // the primitive_wait it belongs to
    wait_node* prev_ = nullptr;
    wait_node* next_ = nullptr;
    std::atomic<state> state_{state::idle};
    executor* executor_ = nullptr;
    std::coroutine_handle<> handle_;
    resumption resume_;
    bool posted_ = false;
};

// A primitive's waiters, oldest first. Every member under the primitive's lock.
class wait_list {
  public:
    [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
    void push_back(wait_node& n) noexcept {
        n.prev_ = tail_;
        n.next_ = nullptr;
        if (tail_ != nullptr)
            tail_->next_ = &n;
        else
            head_ = &n;
        tail_ = &n;
        n.state_.store(wait_node::state::linked, std::memory_order_relaxed);
    }
    // The oldest waiter, unlinked and marked waking (call wake() on it once
    // the lock is released); null when empty.
    wait_node* pop_front() noexcept {
        wait_node* n = head_;
        if (n == nullptr) return nullptr;
        unlink(*n);
        n->state_.store(wait_node::state::waking, std::memory_order_relaxed);
        return n;
    }
    // Up to `max` of the oldest waiters, unlinked together and marked
    // waking: a detached list, oldest first, that the caller wakes once the
    // lock is released (wake_taken), without touching the primitive again.
    // A waker that took its nodes one at a time would relock the primitive
    // after each wake, and a woken coroutine may destroy the primitive at
    // once (its last waiter owned it).
    struct taken {
        wait_node* first = nullptr;
        std::size_t count = 0;
    };
    taken take(std::size_t max) noexcept {
        taken out{head_, 0};
        wait_node* n = head_;
        for (; n != nullptr && out.count < max; n = n->next_, ++out.count)
            n->state_.store(wait_node::state::waking, std::memory_order_relaxed);
        if (out.count == 0) return {};
        // Cut the taken run off the list: `n` is the first one left.
        if (n != nullptr) {
            n->prev_->next_ = nullptr;
            n->prev_ = nullptr;
        } else {
            tail_ = nullptr;
        }
        head_ = n;
        return out;
    }
    [[nodiscard]] wait_node* take_all() noexcept { return take(~std::size_t{0}).first; }
    // The node after `n` in a taken list, read before `n` is woken (a woken
    // node may be gone at once); unlinks `n`. Not under the lock: the taken
    // nodes belong to the waker until it wakes them (their owners wait for
    // that, wait_node's `waking`).
    [[nodiscard]] static wait_node* next_taken(wait_node& n) noexcept {
        wait_node* next = n.next_;
        n.prev_ = n.next_ = nullptr;
        return next;
    }
    // Wakes every node of a taken list, oldest first. Any thread, without
    // the primitive's lock; touches only the nodes.
    static void wake_taken(wait_node* n) noexcept {
        while (n != nullptr) {
            wait_node* next = next_taken(*n);
            n->wake();
            n = next;
        }
    }
    // Unlinks `n` if it is still here (marked idle); false when a waker
    // took it first.
    bool remove(wait_node& n) noexcept {
        if (n.state_.load(std::memory_order_relaxed) != wait_node::state::linked) return false;
        unlink(n);
        n.state_.store(wait_node::state::idle, std::memory_order_relaxed);
        return true;
    }

  private:
    void unlink(wait_node& n) noexcept {
        if (n.prev_ != nullptr)
            n.prev_->next_ = n.next_;
        else
            head_ = n.next_;
        if (n.next_ != nullptr)
            n.next_->prev_ = n.prev_;
        else
            tail_ = n.prev_;
        n.prev_ = n.next_ = nullptr;
    }
    wait_node* head_ = nullptr;
    wait_node* tail_ = nullptr;
};

// The base of every primitive's awaitable. The derived awaitable holds the
// primitive; it calls `suspend_on` from await_suspend with the lock held
// (after finding it must wait), `on_woken_unused` is what its destructor
// gives back when a wake handed it something it never used.
class primitive_wait {
  public:
    primitive_wait(const primitive_wait&) = delete;
    primitive_wait& operator=(const primitive_wait&) = delete;

    // errc::ok once woken, errc::cancelled when a token cancelled the wait.
    [[nodiscard]] errc wait_result() const noexcept { return result_; }
    // The wait a node belongs to (a primitive handing something to its waiter).
    [[nodiscard]] static primitive_wait& owner_of(wait_node& n) noexcept {
        return *static_cast<primitive_wait*>(n.owner_);
    }

  protected:
    primitive_wait(spin_lock& lock, wait_list& list, cancellation_token token) noexcept
        : lock_(&lock), list_(&list), token_(std::move(token)) {
        node_.owner_ = this;
    }
    // Move before the wait: the node is not linked yet.
    primitive_wait(primitive_wait&& other) noexcept
        : lock_(other.lock_), list_(other.list_), token_(std::move(other.token_)) {
        AIRLOCK_CHECK(!other.waiting_, "a wait moved after it was awaited");
        node_.owner_ = this;
    }
    // The derived awaitable's destructor has called abandon().
    ~primitive_wait() { AIRLOCK_CHECK(!waiting_, "a wait destroyed without abandon()"); }

    // True when a token is already cancelled: the awaitable completes with
    // errc::cancelled without waiting.
    [[nodiscard]] bool cancelled_before(const task_context* context) noexcept {
        if (token_.is_cancellation_requested() ||
            (context != nullptr && context->token.is_cancellation_requested())) {
            result_ = errc::cancelled;
            return true;
        }
        return false;
    }
    // Precondition: the primitive's lock is held. Links the node, releases
    // the lock, and listens to the tokens. Returns false (do not suspend)
    // when a token was cancelled meanwhile: the node has left the list.
    bool suspend_on(std::coroutine_handle<> h, const task_context* context) noexcept {
        node_.executor_ = executor::current();
        AIRLOCK_CHECK(node_.executor_ != nullptr,
                      "a primitive awaited on a thread with no executor");
        node_.handle_ = h;
        list_->push_back(node_);
        lock_->unlock();
        waiting_ = true;
        executor& ex = *node_.executor_;
        const bool listening = own_.arm(ex, token_, &on_cancel, this) &&
                               (context == nullptr || context->token == token_ ||
                                inherited_.arm(ex, context->token, &on_cancel, this));
        if (listening) return true;
        own_.disarm();
        inherited_.disarm();
        lock_->lock();
        const bool removed = list_->remove(node_);
        lock_->unlock();
        if (removed) {
            waiting_ = false;
            result_ = errc::cancelled;
            return false;
        }
        return true;  // a waker took it first: it resumes woken
    }
    // await_suspend of a primitive whose wait can end at once: false (do not
    // suspend) when a token is already cancelled, or when `take_now()`,
    // called with the primitive's lock held, takes what the wait is for;
    // else the node is linked (suspend_on).
    template <class P, class TakeNow>
    bool suspend_unless(std::coroutine_handle<P> h, TakeNow take_now) noexcept {
        const task_context* context = context_of(h);
        if (cancelled_before(context)) return false;
        lock_->lock();
        if (take_now()) {
            lock_->unlock();
            return false;
        }
        return suspend_on(h, context);
    }
    // await_resume's result for a wait that yields nothing but its outcome.
    [[nodiscard]] expected<void> resumed_result() noexcept {
        resumed();
        if (result_ != errc::ok) return unexpected(result_);
        return {};
    }
    // await_resume: stop listening; from now on the awaitable owns what the
    // wake handed it.
    // A waker on another thread posts the resumption and only then marks the
    // node woken: the coroutine can resume in between, so it waits for that
    // store before its frame (and the node in it) may go away.
    void resumed() noexcept {
        own_.disarm();
        inherited_.disarm();
        waiting_ = false;
        settle();
    }
    // The destructor's half: true when the wait ended in a wake that was
    // never resumed (what it handed over must go back).
    [[nodiscard]] bool abandon() noexcept {
        own_.disarm();
        inherited_.disarm();
        if (!waiting_) return false;
        waiting_ = false;
        lock_->lock();
        const bool removed = list_->remove(node_);
        lock_->unlock();
        if (removed) return false;
        // Woken (or being woken): wait for the waker to finish, then take
        // back a posted resumption (the queued one leaves with the node).
        settle();
        if (node_.posted_) {
            (void)node_.executor_->withdraw(node_);
            node_.posted_ = false;
        }
        return result_ == errc::ok;
    }

  private:
    // Waits until a waker that took the node has finished touching it.
    void settle() noexcept {
        while (node_.state_.load(std::memory_order_acquire) == wait_node::state::waking)
            __builtin_ia32_pause();
    }
    static void on_cancel(void* self) noexcept {
        auto& w = *static_cast<primitive_wait*>(self);
        w.lock_->lock();
        const bool removed = w.list_->remove(w.node_);
        w.lock_->unlock();
        if (!removed) return;  // a waker took it first: it resumes woken
        w.result_ = errc::cancelled;
        w.node_.state_.store(wait_node::state::woken, std::memory_order_relaxed);
        w.node_.executor_->enqueue(w.node_.resume_, w.node_.handle_);
    }

    spin_lock* lock_;
    wait_list* list_;
    cancellation_token token_;
    cancel_point own_;
    cancel_point inherited_;
    wait_node node_;
    errc result_ = errc::ok;
    bool waiting_ = false;
};

}  // namespace airlock::async::detail
