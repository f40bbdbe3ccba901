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
// Context: a task inherits from its awaiter the `detail::task_context` it
// runs in: the cancellation token its cancellation points observe, and the
// spawned chain it belongs to. `co_await this_task::token()` reads the token.
// A task awaited from a coroutine of another kind (or by sync_wait alone)
// runs in no context: its token can never be cancelled.
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

#include "airlock/async/cancellation.hh"
#include "airlock/async/frame_pool.hh"
#include "airlock/base/check.hh"
#include "airlock/base/expected.hh"

namespace airlock::async {

template <class T = void>
class task;

namespace detail {

struct task_access;
class detached_promise;

// What a task inherits from its awaiter: the token its cancellation points
// observe, and the spawned chain (async/executor.hh) it runs in, if any. A
// context lives in the frame that made it (a spawned task's wrapper, a
// deadline, a scope, when_all) and outlives every task that points to it.
struct task_context {
    cancellation_token token;
    detached_promise* root = nullptr;
};

// The context of the coroutine behind `h`: its promise's `context()` when it
// has one, else null.
template <class P>
[[nodiscard]] const task_context* context_of(std::coroutine_handle<P> h) noexcept {
    if constexpr (std::is_void_v<P>)
        return nullptr;  // a type-erased handle carries no context
    else if constexpr (requires(P & p) {
                           { p.context() } -> std::convertible_to<const task_context*>;
                       })
        return h.promise().context();
    else
        return nullptr;
}

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

    // The awaiter's half: runs the body, in `context`, until it finishes or
    // first suspends. Returns true when the awaiter must suspend (the body
    // will resume it).
    bool start(std::coroutine_handle<> self, std::coroutine_handle<> awaiting,
               const task_context* context) noexcept {
        continuation_ = awaiting;
        context_ = context;
        self.resume();
        // acq_rel: release publishes continuation_ to a body finishing on
        // another thread; acquire sees the result of one that finished.
        return !rendezvous_.exchange(true, std::memory_order_acq_rel);
    }

    [[nodiscard]] const task_context* context() const noexcept { return context_; }
    // For combinators that run what they await in a context of their own
    // (a deadline, when_any): replaces this frame's context, returns the old.
    const task_context* swap_context(const task_context* context) noexcept {
        return std::exchange(context_, context);
    }

  private:
    // Who resumes when the body finishes.
    std::coroutine_handle<> continuation_;
    const task_context* context_ = nullptr;
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

    // Finished with an exception, or with an `expected` holding an error.
    [[nodiscard]] bool failed() const noexcept {
        if (state_ == result_state::exception) return true;
        if constexpr (requires(const T& v) {
                          { v.has_value() } -> std::convertible_to<bool>;
                          v.error();
                      })
            return state_ == result_state::value && !value_.has_value();
        else
            return false;
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
    [[nodiscard]] bool failed() const noexcept { return static_cast<bool>(exception_); }
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
    [[nodiscard]] bool failed() const noexcept { return static_cast<bool>(exception_); }
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
    template <class P>
    bool await_suspend(std::coroutine_handle<P> awaiting) noexcept {
        return handle.promise().start(handle, awaiting, context_of(awaiting));
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

namespace detail {

// `co_await current_context{}`: the awaiting coroutine's context, without
// suspending (for combinators that run children in a context of their own).
struct current_context {
    const task_context* context = nullptr;
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        context = context_of(h);
        return false;
    }
    [[nodiscard]] const task_context* await_resume() const noexcept { return context; }
};

// `co_await enter_context{c}`: makes `c` the awaiting task's own context
// (what it and what it awaits observe from now on); yields the previous one.
struct enter_context {
    const task_context* context;
    const task_context* previous = nullptr;
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        static_assert(std::is_base_of_v<task_promise_base, P>, "enter_context is for tasks");
        previous = h.promise().swap_context(context);
        return false;
    }
    [[nodiscard]] const task_context* await_resume() const noexcept { return previous; }
};

}  // namespace detail

namespace this_task {

// `co_await this_task::token()`: the cancellation token the current task
// observes (inherited from its awaiter), without suspending. A task that
// runs no cancellation point can poll it.
struct [[nodiscard("co_await it")]] token_operation {
    const detail::task_context* context = nullptr;
    [[nodiscard]] bool await_ready() const noexcept {
        return false;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        context = detail::context_of(h);
        return false;
    }
    [[nodiscard]] cancellation_token await_resume() const noexcept {
        return context != nullptr ? context->token : cancellation_token{};
    }
};
[[nodiscard]] inline token_operation token() noexcept {
    return {};
}

}  // namespace this_task

// `awaitable<A>`: anything `co_await` takes: an awaiter (await_ready,
// await_suspend, await_resume), or a type with a member `operator co_await`
// (a task). `await_result_t<A>` is what awaiting an rvalue A yields.
namespace detail {
template <class A>
concept has_member_co_await = requires(A&& a) {
    std::forward<A>(a).operator co_await();
};
template <class A>
concept is_awaiter = requires(A& a) {
    { a.await_ready() } -> std::convertible_to<bool>;
    a.await_resume();
};
template <class A>
decltype(auto) awaiter_of(A&& a) {
    if constexpr (has_member_co_await<A>)
        return std::forward<A>(a).operator co_await();
    else
        return static_cast<A&&>(a);
}
template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;
}  // namespace detail

template <class A>
concept awaitable = detail::has_member_co_await<A> || detail::is_awaiter<std::remove_cvref_t<A>>;

template <awaitable A>
using await_result_t =
    decltype(std::declval<
                 std::remove_reference_t<decltype(detail::awaiter_of(std::declval<A>()))>&>()
                 .await_resume());

namespace detail {
// The task that awaits `a` (moved into its frame) and yields its result.
template <class A>
task<await_result_t<A>> await_in_task(A a) {
    if constexpr (std::is_void_v<await_result_t<A>>)
        co_await std::move(a);
    else
        co_return co_await std::move(a);
}
}  // namespace detail

// A task that stands for `a`: a task passes through; any other awaitable (a
// sleep, an rpc call, a lock) is awaited by a small task. For combinators
// (when_all, when_any, sync_wait, with_deadline), so they take any awaitable.
template <class T>
task<T> as_task(task<T> t) noexcept {
    return t;
}
template <awaitable A>
requires(!detail::is_task_v<std::remove_cvref_t<A>>) auto as_task(A&& a) {
    return detail::await_in_task<std::remove_cvref_t<A>>(std::forward<A>(a));
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
    // Whether a finished task failed (threw, or returned an error).
    template <class T>
    static bool failed(task<T>& t) noexcept {
        return t.handle_.promise().failed();
    }
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
