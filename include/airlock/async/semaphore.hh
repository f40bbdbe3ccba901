// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/semaphore.hh: a counting semaphore for coroutines.
//
// `async_semaphore` holds a number of permits. `co_await s.acquire()` takes
// one, suspending the coroutine (not its thread) while none is free;
// `release(n)` gives n back, handing each to the oldest waiter first (FIFO),
// which resumes on its own executor, on whatever thread released. Use it to
// bound concurrency: at most N requests in flight, N connections served. A
// wait is a cancellation point: cancelled, it yields errc::cancelled and
// holds no permit. A coroutine destroyed after a permit was handed to it but
// before it resumed gives the permit back.
//
// Thread contract: any thread of the side; waiting needs an executor on the
// waiting thread. Memory ordering: the count is guarded by a spin lock
// (acquire/release): what a releaser wrote is visible to the acquirer.

#include <coroutine>
#include <cstddef>
#include <utility>

#include "airlock/async/cancellation.hh"
#include "airlock/async/task.hh"
#include "airlock/async/wait_list.hh"
#include "airlock/base/expected.hh"

namespace airlock::async {

class async_semaphore {
  public:
    explicit async_semaphore(std::size_t permits) noexcept : permits_(permits) {}
    async_semaphore(const async_semaphore&) = delete;
    async_semaphore& operator=(const async_semaphore&) = delete;

    // A permit now if one is free; never waits.
    [[nodiscard]] bool try_acquire() noexcept {
        lock_.lock();
        const bool got = permits_ != 0;
        if (got) --permits_;
        lock_.unlock();
        return got;
    }
    // Gives `n` permits back: waiters first, oldest first.
    // The waiters and the permits left over are settled under one hold of
    // the lock; the waiters are woken after it, and then the semaphore is
    // not touched again: a woken waiter may destroy it at once.
    void release(std::size_t n = 1) noexcept {
        lock_.lock();
        const detail::wait_list::taken woken = waiters_.take(n);  // a permit goes with each
        permits_ += n - woken.count;
        lock_.unlock();
        detail::wait_list::wake_taken(woken.first);
    }
    // Free permits now (a snapshot).
    [[nodiscard]] std::size_t available() noexcept {
        lock_.lock();
        const std::size_t n = permits_;
        lock_.unlock();
        return n;
    }

    class [[nodiscard("co_await it")]] acquire_operation : private detail::primitive_wait {
      public:
        acquire_operation(async_semaphore & s, cancellation_token token) noexcept
            : primitive_wait(s.lock_, s.waiters_, std::move(token)), semaphore_(&s) {}
        acquire_operation(acquire_operation && other) noexcept
            : primitive_wait(std::move(other)), semaphore_(other.semaphore_) {}
        ~acquire_operation() {
            if (abandon()) semaphore_->release();  // handed over, never used
        }
        [[nodiscard]] bool await_ready() noexcept {
            return semaphore_->try_acquire();
        }
        template <class P>
        bool await_suspend(std::coroutine_handle<P> h) noexcept {
            return suspend_unless(h, [this] {
                if (semaphore_->permits_ == 0) return false;
                --semaphore_->permits_;  // released since await_ready
                return true;
            });
        }
        // ok with a permit the caller now holds (give it back with
        // release()), or errc::cancelled.
        [[nodiscard]] expected<void> await_resume() noexcept {
            return resumed_result();
        }

      private:
        async_semaphore* semaphore_;
    };

    // Waits for a permit; a cancellation point (`token`, and the awaiting
    // task's own).
    [[nodiscard]] acquire_operation acquire(cancellation_token token = {}) noexcept {
        return acquire_operation(*this, std::move(token));
    }

  private:
    detail::spin_lock lock_;
    std::size_t permits_;
    detail::wait_list waiters_;
};

}  // namespace airlock::async
