// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/mutex.hh: a mutex for coroutines.
//
// `async_mutex` is held across suspension points without blocking a
// thread: `co_await m.lock()` suspends the coroutine (its thread runs other
// work) until the mutex is its own, and yields an `async_mutex_lock` that
// unlocks when it goes out of scope. Unlocking hands the mutex to the
// oldest waiter (FIFO, no barging), which resumes on its own executor, on
// whatever thread unlocked. A wait is a cancellation point: cancelled, it
// yields errc::cancelled and does not hold the mutex. A coroutine destroyed
// while it waits, or after the mutex was handed to it but before it
// resumed, passes the mutex on.
//
// Use it for state that coroutines of several executors share and update
// across a co_await; for a few instructions of shared state with no
// suspension inside, a plain std::mutex is cheaper and fine.
//
// Thread contract: any thread of the side; waiting needs an executor on
// the waiting thread. Memory ordering: the mutex's state is guarded by a
// spin lock (acquire/release), so whatever the previous holder wrote is
// visible to the next.

#include <coroutine>
#include <utility>

#include "airlock/async/cancellation.hh"
#include "airlock/async/task.hh"
#include "airlock/async/wait_list.hh"
#include "airlock/base/expected.hh"

namespace airlock::async {

class async_mutex;

// Holds an async_mutex until destroyed (or `unlock`ed). Movable.
class [[nodiscard]] async_mutex_lock {
  public:
    async_mutex_lock() noexcept = default;
    explicit async_mutex_lock(async_mutex& m) noexcept : mutex_(&m) {}
    async_mutex_lock(async_mutex_lock&& other) noexcept
        : mutex_(std::exchange(other.mutex_, nullptr)) {}
    async_mutex_lock& operator=(async_mutex_lock&& other) noexcept {
        if (this != &other) {
            unlock();
            mutex_ = std::exchange(other.mutex_, nullptr);
        }
        return *this;
    }
    ~async_mutex_lock() { unlock(); }
    [[nodiscard]] bool owns_lock() const noexcept { return mutex_ != nullptr; }
    void unlock() noexcept;

  private:
    async_mutex* mutex_ = nullptr;
};

class async_mutex {
  public:
    async_mutex() noexcept = default;
    // Precondition: unlocked, nobody waiting.
    ~async_mutex() = default;
    async_mutex(const async_mutex&) = delete;
    async_mutex& operator=(const async_mutex&) = delete;

    // The mutex now if it is free; never waits.
    [[nodiscard]] bool try_lock() noexcept {
        lock_.lock();
        const bool got = !locked_;
        locked_ = true;
        lock_.unlock();
        return got;
    }
    // Releases the mutex: the oldest waiter gets it, or it becomes free.
    void unlock() noexcept {
        lock_.lock();
        detail::wait_node* next = waiters_.pop_front();
        if (next == nullptr) locked_ = false;  // else it stays locked, for `next`
        lock_.unlock();
        if (next != nullptr) next->wake();
    }

    class [[nodiscard("co_await it")]] lock_operation : private detail::primitive_wait {
      public:
        lock_operation(async_mutex & m, cancellation_token token) noexcept
            : primitive_wait(m.lock_, m.waiters_, std::move(token)), mutex_(&m) {}
        lock_operation(lock_operation && other) noexcept
            : primitive_wait(std::move(other)), mutex_(other.mutex_) {}
        ~lock_operation() {
            if (abandon()) mutex_->unlock();  // handed over, never used: pass it on
        }
        [[nodiscard]] bool await_ready() noexcept {
            return mutex_->try_lock();
        }
        template <class P>
        bool await_suspend(std::coroutine_handle<P> h) noexcept {
            return suspend_unless(h, [this] {
                if (mutex_->locked_) return false;
                mutex_->locked_ = true;  // freed since await_ready
                return true;
            });
        }
        [[nodiscard]] expected<async_mutex_lock> await_resume() noexcept {
            resumed();
            if (wait_result() != errc::ok) return unexpected(wait_result());
            return async_mutex_lock(*mutex_);
        }

      private:
        async_mutex* mutex_;
    };

    // Waits for the mutex; a cancellation point (`token`, and the awaiting
    // task's own). Yields the lock, or errc::cancelled.
    [[nodiscard]] lock_operation lock(cancellation_token token = {}) noexcept {
        return lock_operation(*this, std::move(token));
    }

  private:
    detail::spin_lock lock_;
    bool locked_ = false;
    detail::wait_list waiters_;
};

inline void async_mutex_lock::unlock() noexcept {
    if (mutex_ != nullptr) std::exchange(mutex_, nullptr)->unlock();
}

}  // namespace airlock::async
