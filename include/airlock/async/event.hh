// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/event.hh: a manual-reset event for coroutines.
//
// `async_event` is a flag coroutines wait for: `co_await e.wait()` resumes
// at once when it is set, and otherwise when `set()` is called, from any
// thread; every waiter resumes, each on its own executor. `reset()` clears
// the flag for later waits (waiters already woken still resume). Use it for
// "the server is ready", "shut down now", or a gate in a test. A wait is a
// cancellation point: cancelled, it yields errc::cancelled.
//
// Thread contract: any thread of the side; waiting needs an executor on the
// waiting thread. Memory ordering: the flag is guarded by a spin lock
// (acquire/release): what the setter wrote before `set` is visible to every
// waiter it wakes.

#include <coroutine>
#include <utility>

#include "airlock/async/cancellation.hh"
#include "airlock/async/task.hh"
#include "airlock/async/wait_list.hh"
#include "airlock/base/expected.hh"

namespace airlock::async {

class async_event {
  public:
    explicit async_event(bool set = false) noexcept : set_(set) {}
    async_event(const async_event&) = delete;
    async_event& operator=(const async_event&) = delete;

    // Sets the flag and wakes every waiter.
    // Once the last waiter is woken, set() no longer touches the event: a
    // woken waiter may destroy it at once.
    void set() noexcept {
        lock_.lock();
        set_ = true;
        detail::wait_node* waiters = waiters_.take_all();
        lock_.unlock();
        detail::wait_list::wake_taken(waiters);  // outside the lock; the event may die
    }
    // Clears the flag: later waits wait for the next set.
    void reset() noexcept {
        lock_.lock();
        set_ = false;
        lock_.unlock();
    }
    [[nodiscard]] bool is_set() noexcept {
        lock_.lock();
        const bool s = set_;
        lock_.unlock();
        return s;
    }

    class [[nodiscard("co_await it")]] wait_operation : private detail::primitive_wait {
      public:
        wait_operation(async_event & e, cancellation_token token) noexcept
            : primitive_wait(e.lock_, e.waiters_, std::move(token)), event_(&e) {}
        wait_operation(wait_operation && other) noexcept
            : primitive_wait(std::move(other)), event_(other.event_) {}
        ~wait_operation() {
            (void)abandon();  // a wake hands nothing over
        }
        [[nodiscard]] bool await_ready() noexcept {
            return event_->is_set();
        }
        template <class P>
        bool await_suspend(std::coroutine_handle<P> h) noexcept {
            return suspend_unless(h, [this] { return event_->set_; });
        }
        [[nodiscard]] expected<void> await_resume() noexcept {
            return resumed_result();
        }

      private:
        async_event* event_;
    };

    // Waits until the event is set; a cancellation point (`token`, and the
    // awaiting task's own).
    [[nodiscard]] wait_operation wait(cancellation_token token = {}) noexcept {
        return wait_operation(*this, std::move(token));
    }

  private:
    detail::spin_lock lock_;
    bool set_;
    detail::wait_list waiters_;
};

}  // namespace airlock::async
