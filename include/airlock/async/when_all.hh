// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/when_all.hh: await several tasks at once.
//
// `when_all(task<Ts>...)` returns a `task<std::tuple<...>>` and
// `when_all(std::vector<task<T>>)` a `task<std::vector<T>>` (`task<void>`
// for tasks of void); any other awaitable (an rpc call, a sleep, a lock)
// may stand in for a task. Awaiting it starts every task in argument order
// on the awaiting thread, each running until its first suspension, and
// resumes the awaiter when the last one finishes; results keep argument
// order whatever the order of completion. A `void` task contributes
// `std::monostate` to the tuple.
//
// The children run in a context of their own (async/task.hh): their token
// is cancelled when the awaiter's is, and, for `when_all`, when one of them
// fails (throws, or returns an `expected` holding an error), so its
// siblings stop at their next cancellation point instead of running on for
// nothing. `when_all_settled` is the same without that: every task runs its
// course whatever its siblings do (a batch of calls where each result
// matters on its own). All of them run to completion (nothing is left
// dangling); if tasks threw, the exception of the first in argument order
// is rethrown. The tuple form
// allocates nothing but pooled frames and a pooled cancellation state; the
// vector form allocates its vectors.
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
#include <limits>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/frame_pool.hh"
#include "airlock/async/task.hh"

namespace airlock::async {
namespace detail {

// What when_all and when_any share: the children's context, a count of
// children still running (plus one for the awaiter until it has started
// them all; whoever takes it to zero resumes the awaiter), and, for
// when_any, which child finished first.
// How a combinator treats its children's outcomes.
enum class combine : std::uint8_t {
    fail_fast,   // when_all: a failure cancels the siblings
    settled,     // when_all_settled: nothing cancels the siblings
    first_wins,  // when_any: the first to finish cancels the others
};

class combinator_state {
  public:
    static constexpr std::size_t no_winner = std::numeric_limits<std::size_t>::max();

    combinator_state(std::size_t children, const task_context* parent, combine mode)
        : count_(children + 1),
          children_(parent != nullptr ? parent->token : cancellation_token{}),
          context_{children_.token(), parent != nullptr ? parent->root : nullptr},
          mode_(mode) {}

    [[nodiscard]] const task_context* context() const noexcept { return &context_; }

    // The awaiter, after starting every child: true when it must suspend.
    bool try_await(std::coroutine_handle<> awaiting) noexcept {
        continuation_ = awaiting;
        // acq_rel: release publishes continuation_ to the last child;
        // acquire sees the results of children that already finished.
        return count_.fetch_sub(1, std::memory_order_acq_rel) > 1;
    }
    // Child `index` finished (`failed`: it threw or returned an error).
    void child_done(std::size_t index, bool failed) noexcept {
        if (mode_ == combine::first_wins) {
            std::size_t none = no_winner;
            if (winner_.compare_exchange_strong(none, index, std::memory_order_acq_rel))
                (void)children_.request_cancellation();
        } else if (failed && mode_ == combine::fail_fast) {
            (void)children_.request_cancellation();
        }
    }
    // A child's last step: the awaiter's handle if it was the last.
    std::coroutine_handle<> notify() noexcept {
        // acq_rel: release publishes this child's result; acquire (for the
        // last one) sees continuation_ and the other results.
        if (count_.fetch_sub(1, std::memory_order_acq_rel) == 1) return continuation_;
        return std::noop_coroutine();
    }
    [[nodiscard]] std::size_t winner() const noexcept {
        return winner_.load(std::memory_order_acquire);
    }

  private:
    std::atomic<std::size_t> count_;
    std::coroutine_handle<> continuation_;
    linked_cancellation_source children_;
    task_context context_;
    std::atomic<std::size_t> winner_{no_winner};
    combine mode_;
};

class combinator_driver_promise;

// A tiny coroutine per child: awaits it in the combinator's context, then
// reports to the state.
class combinator_driver {
  public:
    using promise_type = combinator_driver_promise;
    explicit combinator_driver(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    combinator_driver(combinator_driver&& other) noexcept
        : handle_(std::exchange(other.handle_, {})) {}
    combinator_driver& operator=(combinator_driver&&) = delete;
    ~combinator_driver() {
        if (handle_) handle_.destroy();
    }
    void start() noexcept;

  private:
    std::coroutine_handle<promise_type> handle_;
};

class combinator_driver_promise : public pooled_frame {
    struct final_awaiter {
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(
            std::coroutine_handle<combinator_driver_promise> self) noexcept {
            return self.promise().state_->notify();
        }
        void await_resume() const noexcept {}
    };

  public:
    // The coroutine's parameters: (state, index, child).
    template <class... Rest>
    explicit combinator_driver_promise(combinator_state& state, Rest&&... /*rest*/) noexcept
        : state_(&state) {}
    combinator_driver get_return_object() noexcept {
        return combinator_driver(
            std::coroutine_handle<combinator_driver_promise>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    // The body only awaits when_ready(), which never throws.
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
    [[nodiscard]] const task_context* context() const noexcept { return state_->context(); }

  private:
    combinator_state* state_;
};

inline void combinator_driver::start() noexcept {
    handle_.resume();
}

template <class T>
combinator_driver drive(combinator_state& state, std::size_t index, task<T>& t) {
    co_await t.when_ready();
    state.child_done(index, task_access::failed(t));
}

// Starts every driver, then suspends unless all have already finished.
struct combinator_awaitable {
    combinator_state& state;
    std::span<combinator_driver> drivers;
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
        for (combinator_driver& d : drivers)
            d.start();
        return state.try_await(awaiting);
    }
    void await_resume() const noexcept {}
};

template <class... Ts, std::size_t... I>
std::array<combinator_driver, sizeof...(Ts)> drive_all(combinator_state& state,
                                                       std::index_sequence<I...> /*unused*/,
                                                       task<Ts>&... tasks) {
    return {drive(state, I, tasks)...};
}

template <class T>
std::vector<combinator_driver> drive_all(combinator_state& state, std::vector<task<T>>& tasks) {
    std::vector<combinator_driver> drivers;
    drivers.reserve(tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i)
        drivers.push_back(drive(state, i, tasks[i]));
    return drivers;
}

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

namespace detail {

template <class... Ts>
task<std::tuple<when_all_element_t<Ts>...>> when_all_tuple(combine mode, task<Ts>... tasks) {
    const task_context* parent = co_await current_context{};
    combinator_state state(sizeof...(Ts), parent, mode);
    auto drivers = drive_all(state, std::index_sequence_for<Ts...>{}, tasks...);
    co_await combinator_awaitable{state, drivers};
    // Braced initialisation evaluates left to right: the first exception in
    // argument order is the one rethrown.
    co_return std::tuple<when_all_element_t<Ts>...>{take_element(tasks)...};
}

template <class T>
task<std::vector<T>> when_all_vector(combine mode, std::vector<task<T>> tasks) {
    const task_context* parent = co_await current_context{};
    combinator_state state(tasks.size(), parent, mode);
    std::vector<combinator_driver> drivers = drive_all(state, tasks);
    co_await combinator_awaitable{state, drivers};
    std::vector<T> results;
    results.reserve(tasks.size());
    for (task<T>& t : tasks)
        results.push_back(task_access::take(t));
    co_return results;
}

inline task<void> when_all_void(combine mode, std::vector<task<void>> tasks) {
    const task_context* parent = co_await current_context{};
    combinator_state state(tasks.size(), parent, mode);
    std::vector<combinator_driver> drivers = drive_all(state, tasks);
    co_await combinator_awaitable{state, drivers};
    for (task<void>& t : tasks)
        task_access::take(t);
}

}  // namespace detail

// Runs every task and yields their results as a tuple, in argument order;
// a failure cancels the siblings.
template <class... Ts>
task<std::tuple<detail::when_all_element_t<Ts>...>> when_all(task<Ts>... tasks) {
    return detail::when_all_tuple(detail::combine::fail_fast, std::move(tasks)...);
}
// The same for any awaitables (rpc calls, sleeps, locks), mixed with tasks.
template <awaitable... As>
requires(!(detail::is_task_v<std::remove_cvref_t<As>> && ...)) auto when_all(As&&... operations) {
    return when_all(as_task(std::forward<As>(operations))...);
}
// Runs every task and yields their results in the order of `tasks`.
template <class T>
requires std::is_object_v<T> task<std::vector<T>> when_all(std::vector<task<T>> tasks) {
    return detail::when_all_vector(detail::combine::fail_fast, std::move(tasks));
}
// Runs every task; rethrows the first exception in the order of `tasks`.
inline task<void> when_all(std::vector<task<void>> tasks) {
    return detail::when_all_void(detail::combine::fail_fast, std::move(tasks));
}

// when_all whose tasks all run their course: a failure cancels nothing.
template <class... Ts>
task<std::tuple<detail::when_all_element_t<Ts>...>> when_all_settled(task<Ts>... tasks) {
    return detail::when_all_tuple(detail::combine::settled, std::move(tasks)...);
}
template <awaitable... As>
requires(!(detail::is_task_v<std::remove_cvref_t<As>> &&
           ...)) auto when_all_settled(As&&... operations) {
    return when_all_settled(as_task(std::forward<As>(operations))...);
}
template <class T>
requires std::is_object_v<T> task<std::vector<T>> when_all_settled(std::vector<task<T>> tasks) {
    return detail::when_all_vector(detail::combine::settled, std::move(tasks));
}
inline task<void> when_all_settled(std::vector<task<void>> tasks) {
    return detail::when_all_void(detail::combine::settled, std::move(tasks));
}

}  // namespace airlock::async
