// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/when_any.hh: await the first of several tasks.
//
// `when_any(task<Ts>...)` returns a `task<when_any_result<Ts...>>`: the
// index of the task that finished first and its result (a variant, by
// index); `when_any(std::vector<task<T>>)` returns `task<std::pair<std::size_t,
// T>>`. Any other awaitable may stand in for a task. All tasks start in
// argument order on the awaiting thread; the first to finish wins, and the
// others are cancelled (their token, async/task.hh, which also follows the
// awaiter's) and awaited until they stop, so nothing outlives the call.
// The losers' results, exceptions included, are dropped; an exception of
// the winner is rethrown. A loser that never reaches a cancellation point
// keeps when_any waiting: cancellation is cooperative.
//
// Thread contract and memory ordering: as when_all (async/when_all.hh); the
// winner is decided by one compare-exchange.

#include <cstddef>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "airlock/async/task.hh"
#include "airlock/async/when_all.hh"

namespace airlock::async {

// The winner of a `when_any` over tasks of types Ts...: its index, and its
// result in the variant alternative of that index (`std::monostate` for void).
template <class... Ts>
struct when_any_result {
    std::size_t index = 0;
    std::variant<detail::when_all_element_t<Ts>...> value;
};

namespace detail {
template <class Result, class... Ts, std::size_t... I>
void take_winner(Result& out, std::size_t winner, std::index_sequence<I...> /*unused*/,
                 task<Ts>&... tasks) {
    out.index = winner;
    // Exactly one alternative is taken: the winner's.
    ((winner == I ? (out.value.template emplace<I>(take_element(tasks)), 0) : 0), ...);
}
}  // namespace detail

// Runs the tasks until one finishes; cancels and awaits the others.
template <class... Ts>
requires(sizeof...(Ts) > 0) task<when_any_result<Ts...>> when_any(task<Ts>... tasks) {
    const detail::task_context* parent = co_await detail::current_context{};
    detail::combinator_state state(sizeof...(Ts), parent, detail::combine::first_wins);
    auto drivers = detail::drive_all(state, std::index_sequence_for<Ts...>{}, tasks...);
    co_await detail::combinator_awaitable{state, drivers};
    when_any_result<Ts...> out;
    detail::take_winner(out, state.winner(), std::index_sequence_for<Ts...>{}, tasks...);
    co_return out;
}

// The same for any awaitables, mixed with tasks.
template <awaitable... As>
requires(sizeof...(As) > 0 &&
         !(detail::is_task_v<std::remove_cvref_t<As>> && ...)) auto when_any(As&&... operations) {
    return when_any(as_task(std::forward<As>(operations))...);
}

// Runs the tasks until one finishes; yields its index and result.
// Precondition: `tasks` is not empty.
template <class T>
requires std::is_object_v<T> task<std::pair<std::size_t, T>> when_any(std::vector<task<T>> tasks) {
    AIRLOCK_CHECK(!tasks.empty(), "when_any of no task");
    const detail::task_context* parent = co_await detail::current_context{};
    detail::combinator_state state(tasks.size(), parent, detail::combine::first_wins);
    std::vector<detail::combinator_driver> drivers = detail::drive_all(state, tasks);
    co_await detail::combinator_awaitable{state, drivers};
    const std::size_t winner = state.winner();
    co_return std::pair<std::size_t, T>(winner, detail::task_access::take(tasks[winner]));
}

// Runs the tasks until one finishes; yields its index.
inline task<std::size_t> when_any(std::vector<task<void>> tasks) {
    AIRLOCK_CHECK(!tasks.empty(), "when_any of no task");
    const detail::task_context* parent = co_await detail::current_context{};
    detail::combinator_state state(tasks.size(), parent, detail::combine::first_wins);
    std::vector<detail::combinator_driver> drivers = detail::drive_all(state, tasks);
    co_await detail::combinator_awaitable{state, drivers};
    const std::size_t winner = state.winner();
    detail::task_access::take(tasks[winner]);
    co_return winner;
}

}  // namespace airlock::async
