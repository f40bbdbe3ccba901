// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/sync_wait.hh: call a coroutine from synchronous code.
//
// `sync_wait(ex, t)` runs executor `ex`'s loop on the calling thread until
// task `t` finishes, then returns its result (or rethrows its exception).
// Meanwhile the executor runs everything else it has: spawned tasks, timers,
// sources. It is how legacy synchronous code (an ecall handler, `main`)
// calls into coroutine code. If `t` finishes on another executor's thread,
// it hops back to `ex` before `sync_wait` returns.
//
// Thread contract: on `ex`'s owner thread, outside any round of `ex`: never
// from inside a coroutine or a source running on `ex` (that would nest the
// loop; `co_await` instead). AIRLOCK_CHECK catches both mistakes. It takes
// any awaitable (async/task.hh, `awaitable`), not only tasks.

#include <coroutine>
#include <exception>
#include <utility>

#include "airlock/async/executor.hh"
#include "airlock/async/frame_pool.hh"
#include "airlock/async/task.hh"
#include "airlock/base/check.hh"

namespace airlock::async {
namespace detail {

class sync_wait_promise;

// The coroutine sync_wait drives: awaits the task, comes home if it finished
// elsewhere, then sets the flag run_until watches.
class sync_wait_driver {
  public:
    using promise_type = sync_wait_promise;
    explicit sync_wait_driver(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    // Movable only because clang 14 moves the return object out of the promise.
    sync_wait_driver(sync_wait_driver&& other) noexcept
        : handle_(std::exchange(other.handle_, {})) {}
    sync_wait_driver& operator=(sync_wait_driver&&) = delete;
    ~sync_wait_driver() {
        if (handle_) handle_.destroy();
    }
    [[nodiscard]] std::coroutine_handle<> handle() const noexcept { return handle_; }

  private:
    std::coroutine_handle<promise_type> handle_;
};

class sync_wait_promise : public pooled_frame {
  public:
    sync_wait_driver get_return_object() noexcept {
        return sync_wait_driver(std::coroutine_handle<sync_wait_promise>::from_promise(*this));
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    // The body only awaits when_ready() and schedule(), which never throw.
    [[noreturn]] void unhandled_exception() const noexcept { std::terminate(); }
};

template <class T>
sync_wait_driver make_sync_wait_driver(executor& ex, task<T>& t, bool& done) {
    co_await t.when_ready();
    if (!ex.is_owner_thread()) co_await ex.schedule();
    done = true;
}

}  // namespace detail

// Runs `ex` on this thread until `t` finishes; returns its result. `t` runs
// in no context: its token can never be cancelled.
template <class T>
T sync_wait(executor& ex, task<T> t) {
    AIRLOCK_CHECK(ex.is_owner_thread(), "sync_wait on a foreign executor");
    AIRLOCK_CHECK(t.valid(), "sync_wait on an empty task");
    bool done = false;
    resumption start;  // outlives the driver's place in the ready queue
    const detail::sync_wait_driver driver = detail::make_sync_wait_driver(ex, t, done);
    ex.enqueue(start, driver.handle());
    ex.run_until([&done] { return done; });
    return detail::task_access::take(t);
}

// The same on the calling thread's current executor, which must exist.
template <class T>
T sync_wait(task<T> t) {
    executor* ex = executor::current();
    AIRLOCK_CHECK(ex != nullptr, "sync_wait needs an executor on this thread");
    return sync_wait(*ex, std::move(t));
}

// sync_wait for any other awaitable (an rpc call, a sleep, a lock).
template <awaitable A>
requires(!detail::is_task_v<std::remove_cvref_t<A>>) auto sync_wait(executor& ex, A&& a) {
    return sync_wait(ex, as_task(std::forward<A>(a)));
}
template <awaitable A>
requires(!detail::is_task_v<std::remove_cvref_t<A>>) auto sync_wait(A&& a) {
    return sync_wait(as_task(std::forward<A>(a)));
}

}  // namespace airlock::async
