// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/deadline.hh: deadlines as a timer plus cancellation.
//
// A deadline is not a separate mechanism: `deadline_source` is a
// cancellation source that an executor timer cancels when the deadline
// passes (and that also follows an optional parent token). Every
// cancellable operation therefore honours deadlines for free.
// `with_deadline(ex, t, make_task)` calls `make_task(token)`, awaits the
// task it returns, and turns the `errc::cancelled` it ends with into
// `errc::deadline_exceeded` when the deadline (not the parent) was the cause.
// `with_timeout` is the same with a duration.
//
// Thread contract: owner thread of the executor, like the timers and
// cancellation sources it is made of.

#include <concepts>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "airlock/async/cancellation.hh"
#include "airlock/async/executor.hh"
#include "airlock/async/task.hh"
#include "airlock/async/timer_heap.hh"
#include "airlock/base/expected.hh"

namespace airlock::async {

// `deadline_source` cancels its token when `ex`'s clock reaches the deadline,
// or when `parent` is cancelled, whichever comes first. A deadline already
// past cancels at construction. Destroying it disarms the timer. Not
// copyable or movable.
class deadline_source {
  public:
    deadline_source(executor& ex, std::uint64_t deadline_ns, cancellation_token parent = {});
    ~deadline_source();
    deadline_source(const deadline_source&) = delete;
    deadline_source& operator=(const deadline_source&) = delete;

    [[nodiscard]] cancellation_token token() noexcept { return source_.token(); }
    [[nodiscard]] std::uint64_t deadline_ns() const noexcept { return timer_.deadline_ns; }
    // True once the deadline (not the parent) has cancelled the token.
    [[nodiscard]] bool expired() const noexcept { return expired_; }

  private:
    struct timer : detail::timer_node {
        deadline_source* owner = nullptr;
    };
    static void on_deadline(detail::timer_node& node) noexcept;
    static void on_parent(void* self) noexcept;

    executor& executor_;
    timer timer_;
    bool expired_ = false;
    cancellation_source source_;
    cancellation_registration parent_registration_;  // after source_: uses it
};

namespace detail {
// What `make_task(token)` stands for: a task, or an operation such as an
// rpc call that converts to one.
template <class F>
using deadline_task_t =
    decltype(as_task(std::declval<std::invoke_result_t<F&, cancellation_token>>()));
template <class F>
using deadline_result_t = typename deadline_task_t<F>::value_type;
}  // namespace detail

// Runs `make_task(token)` under a deadline. `make_task` must return a
// `task<expected<U>>` (or an rpc call) that honours the token; the result is that task's, with
// `errc::cancelled` replaced by `errc::deadline_exceeded` when the deadline
// expired. `make_task` is moved into the coroutine frame, so a lambda's
// captures stay alive while its task runs (docs/coroutine-traps.md).
template <class F>
requires std::invocable<F&, cancellation_token> task<detail::deadline_result_t<F>> with_deadline(
    executor& ex, std::uint64_t deadline_ns, F make_task, cancellation_token parent = {}) {
    using result = detail::deadline_result_t<F>;
    static_assert(detail::is_expected<result>::value,
                  "with_deadline: make_task must return task<expected<U>>");
    deadline_source deadline(ex, deadline_ns, parent);
    result outcome = co_await make_task(deadline.token());
    if (!outcome.has_value() && outcome.error() == errc::cancelled && deadline.expired())
        co_return unexpected(errc::deadline_exceeded);
    co_return std::move(outcome);
}

// `with_deadline` at `timeout_ns` from now on `ex`'s clock.
template <class F>
requires std::invocable<F&, cancellation_token> task<detail::deadline_result_t<F>> with_timeout(
    executor& ex, std::uint64_t timeout_ns, F make_task, cancellation_token parent = {}) {
    const std::uint64_t now = ex.now_ns();
    const std::uint64_t deadline = timeout_ns > std::numeric_limits<std::uint64_t>::max() - now
                                       ? std::numeric_limits<std::uint64_t>::max()
                                       : now + timeout_ns;
    return with_deadline(ex, deadline, std::move(make_task), parent);
}

}  // namespace airlock::async
