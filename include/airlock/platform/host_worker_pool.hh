// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/platform/host_worker_pool.hh: host threads for blocking work.
//
// A host handler runs on its channel's executor thread; a blocking call in
// it (a file write, a database query) stalls every other call on that
// channel. `host_worker_pool` is N host threads with a bounded queue: a
// handler writes `co_await pool.run(fn)`, fn runs on a worker, and the
// handler resumes on its own executor (the worker posts the resumption to
// it, the executor's thread-safe entry point) with fn's result.
//
// Thread contract: host side only (never enclave code: it makes threads).
// Construct and destroy on one thread; `run` from a coroutine on any
// executor thread. The destructor runs the queued work and joins the
// workers; the executors that await run's results must outlive the work
// they handed out. Memory ordering: a mutex orders the queue; the post to
// the executor publishes fn's result (async/executor.hh).

#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "airlock/async/executor.hh"
#include "airlock/base/check.hh"
#include "airlock/base/expected.hh"

namespace airlock::platform {

template <class R>
class host_work_operation;

class host_worker_pool {
  public:
    // `threads` workers (at least one) and room for `queue_capacity` pieces
    // of work waiting for one.
    explicit host_worker_pool(std::size_t threads, std::size_t queue_capacity = 1024);
    ~host_worker_pool();
    host_worker_pool(const host_worker_pool&) = delete;
    host_worker_pool& operator=(const host_worker_pool&) = delete;

    // Runs `fn()` on a worker; `co_await` it from a coroutine on an
    // executor's thread: it resumes there with expected<R> (R = fn's
    // result): fn's value, host_pool_full when the queue is full (nothing
    // ran: back-pressure, try later), or host_work_failed when fn threw.
    // Destroying the awaiting coroutine while fn runs is safe: fn finishes
    // and its result is dropped. With gcc 12, name a lambda that owns memory
    // before the co_await (`auto work = [...]{...}; co_await
    // pool.run(std::move(work));`): docs/coroutine-traps.md, 7.
    template <class F>
    [[nodiscard("co_await it")]] host_work_operation<std::invoke_result_t<F&>> run(F fn) {
        return host_work_operation<std::invoke_result_t<F&>>(*this, std::move(fn));
    }

    [[nodiscard]] std::size_t threads() const noexcept { return workers_.size(); }

    // Queues `job` unless the queue is full (returns false). Any thread.
    [[nodiscard]] bool try_submit(std::function<void()> job);

  private:
    void work() noexcept;

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> queue_;
    std::size_t capacity_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

// What `co_await pool.run(fn)` awaits.
template <class R>
class [[nodiscard("co_await it")]] host_work_operation {
    struct state;
    struct posted : async::work_item {
        state* owner = nullptr;
    };
    struct state {
        std::function<R()> fn;
        std::optional<expected<R>> result;
        async::executor* home = nullptr;
        host_work_operation* op = nullptr;  // null once the awaiter is gone (home's thread)
        posted item;
        std::shared_ptr<state> keep;  // the post's reference, from the worker to home
    };

  public:
    template <class F>
    host_work_operation(host_worker_pool & pool, F fn)
        : pool_(&pool), state_(std::make_shared<state>()) {
        state_->fn = std::move(fn);
    }
    host_work_operation(host_work_operation &&) = delete;
    ~host_work_operation() {
        if (state_) state_->op = nullptr;  // on home's thread, as on_run
    }

    bool await_ready() const noexcept {
        return false;
    }
    bool await_suspend(std::coroutine_handle<> waiter) {
        async::executor* home = async::executor::current();
        AIRLOCK_CHECK(home != nullptr, "co_await pool.run(...) on a thread with no executor");
        waiter_ = waiter;
        state_->home = home;
        state_->op = this;
        state_->item.owner = state_.get();
        state_->item.run = &on_run;
        state_->item.discard = &on_discard;
        std::shared_ptr<state> s = state_;
        const bool queued = pool_->try_submit([s]() mutable noexcept {
            try {
                if constexpr (std::is_void_v<R>) {
                    s->fn();
                    s->result.emplace();
                } else {
                    s->result.emplace(s->fn());
                }
            } catch (...) {
                s->result.emplace(unexpected(errc::host_work_failed));
            }
            s->keep = s;
            async::executor* home_executor = s->home;
            async::work_item& item = s->item;
            s.reset();
            home_executor->post(item);  // touch nothing after: home may run it at once
        });
        if (!queued) {
            state_->result.emplace(unexpected(errc::host_pool_full));
            return false;
        }
        return true;
    }
    expected<R> await_resume() {
        return std::move(*state_->result);
    }

  private:
    static state& owner(async::work_item & item) noexcept {
        return *static_cast<posted&>(item).owner;
    }
    static void on_run(async::work_item & item) noexcept {
        state& s = owner(item);
        std::shared_ptr<state> hold = std::move(s.keep);
        if (s.op != nullptr) s.home->enqueue(s.op->resume_, s.op->waiter_);
    }
    static void on_discard(async::work_item & item) noexcept {
        std::shared_ptr<state> hold = std::move(owner(item).keep);
    }

    host_worker_pool* pool_;
    std::shared_ptr<state> state_;
    std::coroutine_handle<> waiter_;
    async::resumption resume_;
};

}  // namespace airlock::platform
