// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/deadline.hh: deadlines as a timer plus cancellation.
//
// A deadline is not a separate mechanism: `deadline_source` is a
// cancellation source that an executor timer cancels when the deadline
// passes (and that also follows a parent token). `with_deadline(ex, t, op)`
// awaits `op` (a task, an rpc call, any awaitable) with the deadline's token
// as the context it runs in (async/task.hh), so every cancellation point
// beneath it honours the deadline without a token passed by hand; an
// `expected` result of `errc::cancelled` becomes `errc::deadline_exceeded`
// when the deadline (not the awaiter's own token) was the cause.
// `with_timeout` is the same with a duration.
//
// The operation is passed itself, `with_timeout(ex, ns, fetch(ex, key))`,
// never as a lambda that makes it: a capturing lambda passed by value to a
// coroutine is the shape gcc 12 miscompiles (docs/coroutine-traps.md, #7),
// so that shape does not compile here.
//
// Thread contract: owner thread of the executor, like the timers. The
// parent token may be cancelled from any thread.

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
// or when a parent is cancelled, whichever comes first. A deadline already
// past cancels at construction. Destroying it disarms the timer. Not
// copyable or movable.
class deadline_source {
  public:
    deadline_source(executor& ex, std::uint64_t deadline_ns, const cancellation_token& parent = {},
                    const cancellation_token& second_parent = {});
    ~deadline_source();
    deadline_source(const deadline_source&) = delete;
    deadline_source& operator=(const deadline_source&) = delete;

    [[nodiscard]] cancellation_token token() const noexcept { return source_.token(); }
    [[nodiscard]] std::uint64_t deadline_ns() const noexcept { return timer_.deadline_ns; }
    // True once the deadline (not the parent) has cancelled the token.
    [[nodiscard]] bool expired() const noexcept { return expired_; }

  private:
    struct timer : detail::timer_node {
        deadline_source* owner = nullptr;
    };
    static void on_deadline(detail::timer_node& node) noexcept;

    executor& executor_;
    timer timer_;
    bool expired_ = false;
    linked_cancellation_source source_;
};

namespace detail {
template <class T>
inline constexpr bool always_false = false;

template <class R>
R deadline_outcome(R&& outcome, const deadline_source& deadline) {
    if constexpr (requires {
                      { outcome.error() } -> std::convertible_to<errc>;
                      R(unexpected(errc::deadline_exceeded));
                  }) {
        if (!outcome.has_value() && outcome.error() == errc::cancelled && deadline.expired())
            return R(unexpected(errc::deadline_exceeded));
    }
    return std::forward<R>(outcome);
}
}  // namespace detail

// Awaits `operation` under a deadline; yields its result, with
// `errc::cancelled` replaced by `errc::deadline_exceeded` when the deadline
// expired. Owner thread of `ex`.
template <awaitable A>
task<await_result_t<A>> with_deadline(executor& ex, std::uint64_t deadline_ns, A operation) {
    using result = await_result_t<A>;
    const detail::task_context* parent = co_await detail::current_context{};
    deadline_source deadline(ex, deadline_ns,
                             parent != nullptr ? parent->token : cancellation_token{});
    const detail::task_context context{deadline.token(),
                                       parent != nullptr ? parent->root : nullptr};
    (void)co_await detail::enter_context{&context};
    if constexpr (std::is_void_v<result>) {
        co_await std::move(operation);
    } else {
        result outcome = co_await std::move(operation);
        co_return detail::deadline_outcome(std::move(outcome), deadline);
    }
}

// `with_deadline` at `timeout_ns` from now on `ex`'s clock.
template <awaitable A>
task<await_result_t<A>> with_timeout(executor& ex, std::uint64_t timeout_ns, A operation) {
    const std::uint64_t now = ex.now_ns();
    const std::uint64_t deadline = timeout_ns > std::numeric_limits<std::uint64_t>::max() - now
                                       ? std::numeric_limits<std::uint64_t>::max()
                                       : now + timeout_ns;
    return with_deadline(ex, deadline, std::move(operation));
}

// A function that makes the operation is not accepted: pass the operation.
template <class F>
requires(!awaitable<F> &&
         std::invocable<F&, cancellation_token>) void with_deadline(executor&, std::uint64_t, F&&) {
    static_assert(detail::always_false<F>,
                  "with_deadline/with_timeout take the operation itself, "
                  "with_timeout(ex, ns, fetch(ex, key)), not a lambda that makes it: it inherits "
                  "the deadline's token (docs/coroutine-traps.md #7)");
}
template <class F>
requires(!awaitable<F> &&
         std::invocable<F&, cancellation_token>) void with_timeout(executor&, std::uint64_t, F&&) {
    static_assert(detail::always_false<F>,
                  "with_deadline/with_timeout take the operation itself, "
                  "with_timeout(ex, ns, fetch(ex, key)), not a lambda that makes it: it inherits "
                  "the deadline's token (docs/coroutine-traps.md #7)");
}

}  // namespace airlock::async
