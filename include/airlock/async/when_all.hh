// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/when_all.hh: await several tasks at once.
//
// `when_all(task<Ts>...)` returns a `task<std::tuple<...>>` and
// `when_all(std::vector<task<T>>)` a `task<std::vector<T>>` (`task<void>`
// for tasks of void). Awaiting it starts every task in argument order on the
// awaiting thread, each running until its first suspension, and resumes the
// awaiter when the last one finishes; results keep argument order whatever
// the order of completion. A `void` task contributes `std::monostate` to the
// tuple. If tasks throw, all still run to completion (nothing is left
// dangling) and the exception of the first in argument order is rethrown.
// The tuple form allocates nothing but pooled frames; the vector form
// allocates its vectors.
//
// Thread contract: the tasks may finish on different threads (when they hop
// executors); the awaiter resumes on the thread of the one finishing last.
// Memory ordering: the completion count is an acq_rel atomic, so every
// child's result happens-before the awaiter reads it.

#include <array>
#include <atomic>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "airlock/async/frame_pool.hh"
#include "airlock/async/task.hh"

namespace airlock::async {
namespace detail {

// Counts children still running, plus one for the awaiter until it has
// started them all; the one that takes the count to zero resumes the awaiter.
class when_all_latch {
  public:
    explicit when_all_latch(std::size_t children) noexcept : count_(children + 1) {}
    // The awaiter, after starting every child: true when it must suspend.
    bool try_await(std::coroutine_handle<> awaiting) noexcept {
        continuation_ = awaiting;
        // acq_rel: release publishes continuation_ to the last child;
        // acquire sees the results of children that already finished.
        return count_.fetch_sub(1, std::memory_order_acq_rel) > 1;
    }
    // A child that finished: the awaiter's handle if it was the last.
    std::coroutine_handle<> notify() noexcept {
        // acq_rel: release publishes this child's result; acquire (for the
        // last one) sees continuation_ and the other results.
        if (count_.fetch_sub(1, std::memory_order_acq_rel) == 1) return continuation_;
        return std::noop_coroutine();
    }

  private:
    std::atomic<std::size_t> count_;
    std::coroutine_handle<> continuation_;
};

class when_all_driver_promise;

// A tiny coroutine per child: awaits it, then tells the latch.
class when_all_driver {
  public:
    using promise_type = when_all_driver_promise;
    explicit when_all_driver(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    when_all_driver(when_all_driver&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    when_all_driver& operator=(when_all_driver&&) = delete;
    ~when_all_driver() {
        if (handle_) handle_.destroy();
    }
    void start(when_all_latch& latch) noexcept;

  private:
    std::coroutine_handle<promise_type> handle_;
};

class when_all_driver_promise : public pooled_frame {
    struct final_awaiter {
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(
            std::coroutine_handle<when_all_driver_promise> self) noexcept {
            return self.promise().latch_->notify();
        }
        void await_resume() const noexcept {}
    };

  public:
    when_all_driver get_return_object() noexcept {
        return when_all_driver(std::coroutine_handle<when_all_driver_promise>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    // The body only awaits when_ready(), which never throws.
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }

  private:
    friend class when_all_driver;
    when_all_latch* latch_ = nullptr;
};

inline void when_all_driver::start(when_all_latch& latch) noexcept {
    handle_.promise().latch_ = &latch;
    handle_.resume();
}

template <class T>
when_all_driver make_when_all_driver(task<T>& t) {
    co_await t.when_ready();
}

// Starts every driver, then suspends unless all have already finished.
struct when_all_awaitable {
    when_all_latch& latch;
    std::span<when_all_driver> drivers;
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
        for (when_all_driver& d : drivers)
            d.start(latch);
        return latch.try_await(awaiting);
    }
    void await_resume() const noexcept {}
};

template <class T>
using when_all_element_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
when_all_element_t<T> take_element(task<T>& t) {
    if constexpr (std::is_void_v<T>) {
        task_access::take(t);
        return {};
    } else {
        return task_access::take(t);
    }
}

}  // namespace detail

// Runs every task and yields their results as a tuple, in argument order.
template <class... Ts>
task<std::tuple<detail::when_all_element_t<Ts>...>> when_all(task<Ts>... tasks) {
    detail::when_all_latch latch(sizeof...(Ts));
    std::array<detail::when_all_driver, sizeof...(Ts)> drivers{
        detail::make_when_all_driver(tasks)...};
    co_await detail::when_all_awaitable{latch, drivers};
    // Braced initialisation evaluates left to right: the first exception in
    // argument order is the one rethrown.
    co_return std::tuple<detail::when_all_element_t<Ts>...>{detail::take_element(tasks)...};
}

namespace detail {
template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;
}  // namespace detail

// The same for operations that stand for tasks (rpc calls), mixed with tasks.
template <class... As>
requires((task_convertible<As> || detail::is_task_v<std::remove_cvref_t<As>>)&&...) &&
    (task_convertible<As> || ...) auto when_all(As&&... operations) {
    return when_all(as_task(std::forward<As>(operations))...);
}

// Runs every task and yields their results in the order of `tasks`.
template <class T>
requires std::is_object_v<T> task<std::vector<T>> when_all(std::vector<task<T>> tasks) {
    detail::when_all_latch latch(tasks.size());
    std::vector<detail::when_all_driver> drivers;
    drivers.reserve(tasks.size());
    for (task<T>& t : tasks)
        drivers.push_back(detail::make_when_all_driver(t));
    co_await detail::when_all_awaitable{latch, drivers};
    std::vector<T> results;
    results.reserve(tasks.size());
    for (task<T>& t : tasks)
        results.push_back(detail::task_access::take(t));
    co_return results;
}

// Runs every task; rethrows the first exception in the order of `tasks`.
inline task<void> when_all(std::vector<task<void>> tasks) {
    detail::when_all_latch latch(tasks.size());
    std::vector<detail::when_all_driver> drivers;
    drivers.reserve(tasks.size());
    for (task<void>& t : tasks)
        drivers.push_back(detail::make_when_all_driver(t));
    co_await detail::when_all_awaitable{latch, drivers};
    for (task<void>& t : tasks)
        detail::task_access::take(t);
}

}  // namespace airlock::async
