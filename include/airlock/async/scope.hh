// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/scope.hh: structured concurrency: a scope owns the tasks spawned into it.
//
// `async_scope` is a task group on one executor. `spawn` runs a task
// detached but counted; `co_await scope.join()` resumes once every task of
// the scope has finished; `request_stop()` cancels the scope's token, which
// every task of the scope inherits (async/task.hh), so each stops at its next
// cancellation point. A server keeps one scope for its connections: each
// connection is a task of it, and shutting down is
//
//     scope.request_stop();
//     co_await scope.join();
//
// A task's failure goes to the executor's error handler, as for
// `executor::spawn`, and is counted in `stats()`. Destroying a scope cancels
// and destroys the tasks of it still suspended on its executor (the same
// teardown as an executor's); a task of it that hopped to another executor
// must have finished by then (join first: AIRLOCK_CHECK otherwise).
//
// A task may finish on another executor's thread (after hopping). The last
// one to finish there does not take the count to zero itself: it posts a
// wake-up to the scope's executor and touches the scope no more, and the
// wake-up, run on the owner thread, takes the count to zero and resumes the
// joiners. So a join cannot complete, nor the scope be destroyed after it,
// while another thread still uses the scope.
//
// Thread contract: construction, spawn, join and destruction on the owner
// thread of the executor; `request_stop`, `active` and `stats` on any
// thread. Tasks may finish on other threads (after hopping).
// Memory ordering: the count of active tasks is an acq_rel atomic, and
// reaches zero only on the owner thread; the wake-up posted by a task
// finishing elsewhere is ordered by the executor's inbox (release push,
// acquire take).

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "airlock/async/cancellation.hh"
#include "airlock/async/executor.hh"
#include "airlock/async/inbox.hh"
#include "airlock/async/resumption.hh"
#include "airlock/async/task.hh"

namespace airlock::async {

struct scope_stats {
    std::uint64_t spawned = 0;
    std::uint64_t finished = 0;  // including failed and destroyed ones
    std::uint64_t failed = 0;
};

class async_scope;

// `join_operation` is what `co_await scope.join()` awaits: it resumes, in a
// round of the scope's executor, once the scope has no active task. Ready
// at once when it has none. Not a cancellation point: a join waits for its
// tasks, which cancellation stops. Owner thread.
class [[nodiscard("co_await it")]] join_operation {
  public:
    explicit join_operation(async_scope & scope) noexcept : scope_(&scope) {}
    join_operation(const join_operation&) = delete;
    join_operation& operator=(const join_operation&) = delete;
    ~join_operation();

    [[nodiscard]] bool await_ready() const noexcept;
    bool await_suspend(std::coroutine_handle<> waiter) noexcept;
    void await_resume() const noexcept {}

  private:
    friend class async_scope;
    async_scope* scope_;
    std::coroutine_handle<> waiter_;
    resumption resume_;
    join_operation* prev_ = nullptr;
    join_operation* next_ = nullptr;
    bool linked_ = false;
};

class async_scope {
  public:
    // A scope on `ex`, whose token also follows `parent`.
    explicit async_scope(executor& ex, const cancellation_token& parent = {});
    // Cancels, then destroys the tasks still suspended on the executor.
    // Precondition: no task of it runs elsewhere, and no join waits.
    ~async_scope();
    async_scope(const async_scope&) = delete;
    async_scope& operator=(const async_scope&) = delete;

    // Runs `t` as a task of this scope: it starts in a later round.
    template <class T>
    void spawn(task<T> t) {
        AIRLOCK_CHECK(t.valid(), "spawn of an empty task");
        executor_.adopt(detail::run_detached(std::move(t)).handle, /*start_now=*/false, this,
                        source_.token());
    }
    // Like spawn, but `t` starts at once and this returns at its first
    // suspension or its end.
    template <class T>
    void spawn_now(task<T> t) {
        AIRLOCK_CHECK(t.valid(), "spawn of an empty task");
        executor_.adopt(detail::run_detached(std::move(t)).handle, /*start_now=*/true, this,
                        source_.token());
    }

    // Resumes once no task of the scope is active.
    [[nodiscard]] join_operation join() noexcept { return join_operation(*this); }
    // Cancels the scope's token: every task of it, and every task spawned
    // into it later, observes a cancelled token. Any thread.
    bool request_stop() noexcept { return source_.request_cancellation(); }
    [[nodiscard]] cancellation_token token() const noexcept { return source_.token(); }
    [[nodiscard]] bool stop_requested() const noexcept {
        return source_.is_cancellation_requested();
    }

    // Tasks spawned and not yet finished. Any thread. When the last of
    // them finishes on another executor's thread it still counts (active()
    // reads 1) until the owner thread runs the wake-up it posted.
    [[nodiscard]] std::size_t active() const noexcept {
        return active_.load(std::memory_order_acquire);
    }
    [[nodiscard]] scope_stats stats() const noexcept;
    [[nodiscard]] executor& get_executor() const noexcept { return executor_; }

  private:
    friend class executor;
    friend class detail::detached_promise;
    friend class join_operation;

    void child_added() noexcept;
    // A task of the scope is gone (finished, failed or destroyed), on the
    // thread of the executor that held it.
    void child_gone(const task_failure& failure) noexcept;
    void wake_joiners() noexcept;
    static void on_wake(work_item& self) noexcept;
    static void on_wake_discarded(work_item& self) noexcept;

    executor& executor_;
    linked_cancellation_source source_;
    std::atomic<std::size_t> active_{0};
    std::atomic<std::uint64_t> spawned_{0};
    std::atomic<std::uint64_t> finished_{0};
    std::atomic<std::uint64_t> failed_{0};
    join_operation* joiners_ = nullptr;  // owner thread
    // Posted when the last task finishes on another thread; it takes that
    // task's count off on the owner thread.
    struct wake_item : work_item {
        async_scope* scope = nullptr;
    } wake_;
    // Set (release) by that task just before it posts wake_; cleared on the
    // owner thread when wake_ runs or is withdrawn.
    std::atomic<bool> wake_posted_{false};
};

}  // namespace airlock::async
