// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/task.hh: `task<T>`, the coroutine type of Airlock.
//
// A function returning `task<T>` is a lazy coroutine: calling it allocates
// its frame (from the current executor's pool, async/frame_pool.hh) and runs
// nothing. The body starts when the task is awaited. A body that finishes
// without suspending hands control straight back to the awaiter's
// await_suspend, which then does not suspend at all; one that finishes later
// resumes its awaiter by symmetric transfer. Either way a loop of a million
// synchronous `co_await`s runs in constant stack on every compiler and
// optimisation level (gcc 12 does not turn symmetric transfer into a tail
// call at -O0 or under ASan/TSan, so Airlock does not rely on it for that).
// The result is a T, or the exception thrown by the body, rethrown at
// `co_await`. Destroying a task that has not finished destroys its frame:
// every local, every parameter and every operation it was suspended in
// (timers disarm, cancellation registrations unlink, child tasks are
// destroyed in turn). Nothing leaks.
//
// Thread contract: a task object belongs to one coroutine or thread at a
// time. A body that hops to another executor (`co_await other.schedule()`)
// finishes there, and its awaiter resumes on that thread. A task must not be
// destroyed while its body is running.
// Memory ordering: the awaiter and the finishing body each exchange the
// promise's `rendezvous_` flag (acq_rel); whichever comes second resumes the
// awaiter, and sees everything the other did (the result, the continuation).

#include <atomic>
#include <coroutine>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "airlock/async/frame_pool.hh"
#include "airlock/base/check.hh"

namespace airlock::async {

template <class T = void>
class task;

namespace detail {

struct task_access;

class task_promise_base : public pooled_frame {
    struct final_awaiter {
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        template <class Promise>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
            task_promise_base& p = self.promise();
            // acq_rel: release publishes the result to the awaiter; acquire
            // (when the awaiter came first) sees its continuation_.
            if (p.rendezvous_.exchange(true, std::memory_order_acq_rel))
                return p.continuation_;  // it suspended: symmetric transfer to it
            // Still inside its await_suspend (we finished synchronously): it
            // sees the flag and carries on without suspending.
            return std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };

  public:
    task_promise_base() noexcept = default;
    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }

    // The awaiter's half: runs the body until it finishes or first suspends.
    // Returns true when the awaiter must suspend (the body will resume it).
    bool start(std::coroutine_handle<> self, std::coroutine_handle<> awaiting) noexcept {
        continuation_ = awaiting;
        self.resume();
        // acq_rel: release publishes continuation_ to a body finishing on
        // another thread; acquire sees the result of one that finished.
        return !rendezvous_.exchange(true, std::memory_order_acq_rel);
    }

  private:
    // Who resumes when the body finishes.
    std::coroutine_handle<> continuation_;
    // Set by the first of {the awaiter's await_suspend ending, the body
    // finishing}; the second one resumes the awaiter.
    std::atomic<bool> rendezvous_{false};
};

// Result storage: nothing yet, a value, or an exception.
enum class result_state : unsigned char { empty, value, exception };

template <class T>
class task_promise final : public task_promise_base {
  public:
    task_promise() noexcept {}
    ~task_promise() {
        if (state_ == result_state::value)
            value_.~T();
        else if (state_ == result_state::exception)
            exception_.~exception_ptr();
    }

    task<T> get_return_object() noexcept;
    void unhandled_exception() noexcept {
        ::new (static_cast<void*>(&exception_)) std::exception_ptr(std::current_exception());
        state_ = result_state::exception;
    }
    template <class U = T>
    requires std::is_constructible_v<T, U&&>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        ::new (static_cast<void*>(&value_)) T(std::forward<U>(value));
        state_ = result_state::value;
    }

    // The value, or the exception rethrown. Precondition: the body finished.
    T& result() & {
        check_and_rethrow();
        return value_;
    }
    T&& result() && {
        check_and_rethrow();
        return std::move(value_);
    }

  private:
    void check_and_rethrow() {
        AIRLOCK_CHECK(state_ != result_state::empty, "task result read before it finished");
        if (state_ == result_state::exception) [[unlikely]]
            std::rethrow_exception(exception_);
    }
    result_state state_ = result_state::empty;
    union {
        T value_;
        std::exception_ptr exception_;
    };
};

template <class T>
class task_promise<T&> final : public task_promise_base {
  public:
    task<T&> get_return_object() noexcept;
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }
    void return_value(T& value) noexcept { value_ = std::addressof(value); }
    T& result() {
        if (exception_) [[unlikely]]
            std::rethrow_exception(exception_);
        AIRLOCK_CHECK(value_ != nullptr, "task result read before it finished");
        return *value_;
    }

  private:
    T* value_ = nullptr;
    std::exception_ptr exception_;
};

template <>
class task_promise<void> final : public task_promise_base {
  public:
    task<void> get_return_object() noexcept;
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }
    void return_void() noexcept {}
    void result() {
        if (exception_) [[unlikely]]
            std::rethrow_exception(exception_);
    }

  private:
    std::exception_ptr exception_;
};

// The awaiter of `co_await task`: runs the body and suspends only if it
// did not finish synchronously.
template <class T>
struct task_awaiter_base {
    std::coroutine_handle<task_promise<T>> handle;
    [[nodiscard]] bool await_ready() const noexcept { return handle.done(); }
    bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
        return handle.promise().start(handle, awaiting);
    }
};

}  // namespace detail

// `task<T>` owns a lazily started coroutine producing a T (or throwing). It
// is move-only; awaiting it runs the body and resumes the awaiter with its
// result. `co_await t` on an lvalue yields a reference to the result kept in
// the frame; `co_await std::move(t)` (or a call expression) yields the value.
// Awaiting an empty (moved-from or default) task is a bug (AIRLOCK_CHECK).
template <class T>
class [[nodiscard]] task {
  public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            if (handle_) handle_.destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    // Destroys the frame whether or not the body started or finished.
    ~task() {
        if (handle_) handle_.destroy();
    }

    // True when the task holds a coroutine.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(handle_); }
    // True when the body finished (or the task is empty).
    [[nodiscard]] bool is_ready() const noexcept { return !handle_ || handle_.done(); }

    auto operator co_await() & noexcept {
        struct awaiter : detail::task_awaiter_base<T> {
            decltype(auto) await_resume() { return this->handle.promise().result(); }
        };
        AIRLOCK_CHECK(handle_, "co_await on an empty task");
        return awaiter{{handle_}};
    }
    auto operator co_await() && noexcept {
        struct awaiter : detail::task_awaiter_base<T> {
            T await_resume() {
                if constexpr (std::is_void_v<T>)
                    this->handle.promise().result();
                else
                    return std::move(this->handle.promise()).result();
            }
        };
        AIRLOCK_CHECK(handle_, "co_await on an empty task");
        return awaiter{{handle_}};
    }

    // An awaitable that runs the body to completion without reading (or
    // rethrowing) its result: for combinators such as `when_all`.
    [[nodiscard("co_await it")]] auto when_ready() noexcept {
        struct awaiter : detail::task_awaiter_base<T> {
            void await_resume() const noexcept {}
        };
        AIRLOCK_CHECK(handle_, "when_ready on an empty task");
        return awaiter{{handle_}};
    }

  private:
    friend promise_type;
    friend struct detail::task_access;
    explicit task(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
    std::coroutine_handle<promise_type> handle_;
};

// `task_convertible<A>`: an operation that is not a task but stands for one.
// It names the task it becomes (`A::task_type`) and converts to it as an
// rvalue; rpc calls are such operations. sync_wait and when_all take them
// where they take tasks.
template <class A>
concept task_convertible = requires {
    typename std::remove_cvref_t<A>::task_type;
}
&&std::is_convertible_v<std::remove_cvref_t<A>&&, typename std::remove_cvref_t<A>::task_type>;

// The task `a` stands for (a task itself passes through).
template <class T>
task<T> as_task(task<T> t) noexcept {
    return t;
}
template <task_convertible A>
typename std::remove_cvref_t<A>::task_type as_task(A&& a) {
    return std::move(a);
}

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise>::from_promise(*this));
}
template <class T>
task<T&> task_promise<T&>::get_return_object() noexcept {
    return task<T&>(std::coroutine_handle<task_promise>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise>::from_promise(*this));
}

// For the combinators (when_all, sync_wait, spawn): the result of a
// finished task, moved out (or the exception rethrown).
struct task_access {
    template <class T>
    static T take(task<T>& t) {
        AIRLOCK_CHECK(t.handle_ && t.handle_.done(), "result of a task that has not finished");
        if constexpr (std::is_void_v<T>)
            t.handle_.promise().result();
        else if constexpr (std::is_reference_v<T>)
            return t.handle_.promise().result();
        else
            return std::move(t.handle_.promise()).result();
    }
};

}  // namespace detail
}  // namespace airlock::async
