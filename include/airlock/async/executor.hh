// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/executor.hh: one executor per thread, running coroutines.
//
// Defines `executor` (runs ready coroutines, fires timers, polls its
// sources, idles on a doorbell), `source` (what the rpc layer implements for
// its rings), `work_item` posting, `spawn` for detached tasks, and the
// awaitables `schedule_operation` (yield, or hop to another executor) and
// `sleep_operation` (a timer, and a cancellation point). Time and idling
// come only from the `ring::wait_hooks` given at construction: no system
// call, thread creation or lock is made here, and at steady state nothing
// allocates (frames come from the executor's frame_pool; queued resumptions
// and timers are nodes in the awaitables).
//
// Ownership: a spawned task belongs to one executor at a time, the one it
// was spawned on, or the one it last hopped to with `co_await
// other.schedule()` (the hop carries it from one executor's list to the
// other's). Destroying an executor destroys the spawned tasks it holds,
// including those hopping towards it; it never touches one that has hopped
// away. Every queued resumption is a node owned by the awaitable that queued
// it (async/resumption.hh), so a destroyed coroutine is never resumed.
//
// Thread contract: an executor belongs to the thread that constructs it (its
// owner); it becomes that thread's `executor::current()` until destroyed.
// Everything is owner-thread only except the thread-safe entry points:
// `post`, `request_stop`, and `co_await ex.schedule()` from a coroutine on
// another thread of the same side (which posts a hop). Calling anything else
// from a foreign thread is a bug, caught by AIRLOCK_CHECK where cheap. An
// executor must outlive every post to it: destroy it only once no other
// thread can still post (hop) to it.
// Memory ordering: the inbox is a release-CAS / acquire-exchange list
// (async/inbox.hh); the stop flag is release/acquire; the doorbell follows
// the seq_cst-fence handshake of ring/wait.hh, so a post is never missed by
// an executor about to park.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "airlock/async/cancel_point.hh"
#include "airlock/async/cancellation.hh"
#include "airlock/async/frame_pool.hh"
#include "airlock/async/inbox.hh"
#include "airlock/async/resumption.hh"
#include "airlock/async/task.hh"
#include "airlock/async/timer_heap.hh"
#include "airlock/base/check.hh"
#include "airlock/base/expected.hh"
#include "airlock/ring/layout.hh"
#include "airlock/ring/wait.hh"

namespace airlock::async {

class executor;
class async_scope;

// `source` is something an executor polls each round: in practice the
// receiving end of a ring, whose records resume the coroutines they answer.
// Both calls run on the executor's thread and must never block.
class source {
  public:
    // Does at most `budget` units of work (records consumed, say) and returns
    // how many it did; 0 means it found nothing. The budget keeps one busy
    // source from starving the others and the ready coroutines.
    virtual std::size_t poll(std::size_t budget) noexcept = 0;
    // True when `poll` would find work now. Called repeatedly while the
    // executor idles, so it must be cheap and read shared state afresh.
    [[nodiscard]] virtual bool has_work() noexcept = 0;

  protected:
    ~source() = default;
};

// What a detached (spawned) task left behind: an exception it threw, or the
// error code of the `expected` it returned (`errc::ok` when neither).
struct task_failure {
    std::exception_ptr exception;
    errc code = errc::ok;
};

// Called on the executor's thread for each failed spawned task. The default
// prints one line to stderr; either way the executor counts the failure.
using error_handler = void (*)(void* context, const task_failure& failure) noexcept;

struct executor_options {
    // Ready coroutines resumed per round; the rest wait for the next round,
    // after the sources have been polled.
    std::size_t ready_budget = 256;
    // The budget each source's `poll` receives per round.
    std::size_t poll_budget = 64;
    // Preallocated capacity of the timer heap: exceeding it allocates once,
    // on the slow path.
    std::size_t timer_capacity = 64;
    // The idle wait (ring/wait.hh): spin, then yield, then park on the doorbell.
    std::uint32_t spin_iterations = 1024;
    std::uint32_t yield_iterations = 8;
    // Failures of spawned tasks; null selects the default (print and count).
    error_handler on_error = nullptr;
    void* on_error_context = nullptr;
    // Count in executor_stats::busy_ns the time of the rounds that did work:
    // how long this thread ran code rather than waited. Costs two readings of
    // the wait hooks' clock per round, so it is off unless asked for.
    bool measure_busy_time = false;
};

// Counters, read on the owner thread.
struct executor_stats {
    std::uint64_t rounds = 0;       // calls of run_once
    std::uint64_t resumptions = 0;  // ready coroutines resumed
    std::uint64_t posted = 0;       // work items run from the inbox
    std::uint64_t timers_fired = 0;
    std::uint64_t source_work = 0;  // sum of what the sources' polls returned
    std::uint64_t idle_waits = 0;   // times the executor went into wait_until
    std::uint64_t failures = 0;     // failed spawned tasks reported
    std::uint64_t busy_ns = 0;      // with measure_busy_time: rounds that did work
};

// `schedule_operation` is what `co_await ex.schedule()` awaits: the
// coroutine suspends and resumes in a later round of `ex`, behind the
// coroutines already ready. On the owner thread it is a fair yield; from
// another thread it hops the coroutine onto `ex`'s thread through the inbox
// (thread-safe), carrying its spawned task along (see executor). Never fails.
// Movable until awaited.
class [[nodiscard("co_await it")]] schedule_operation : private work_item {
  public:
    explicit schedule_operation(executor & ex) noexcept : executor_(&ex) {}
    schedule_operation(schedule_operation && other) noexcept : executor_(other.executor_) {
        AIRLOCK_CHECK(!other.waiter_, "a schedule operation moved after it was awaited");
    }
    schedule_operation& operator=(schedule_operation&&) = delete;
    ~schedule_operation();

    [[nodiscard]] bool await_ready() const noexcept {
        return false;
    }
    template <class P>
    void await_suspend(std::coroutine_handle<P> waiter) noexcept {
        suspend(waiter, detail::context_of(waiter));
    }
    void await_resume() const noexcept {}

  private:
    void suspend(std::coroutine_handle<> waiter, const detail::task_context* context) noexcept;
    static void on_run(work_item & self) noexcept;
    static void on_discard(work_item & self) noexcept;
    executor* executor_;
    std::coroutine_handle<> waiter_;
    resumption resume_;
    detail::detached_promise* carried_ = nullptr;  // a spawned task moving with the hop
    bool posted_ = false;                          // in the target's inbox, not yet run
};

// `sleep_operation` is what `co_await ex.sleep_until(t, token)` awaits: it
// resumes, in a round of `ex`, once `now_ns() >= t` (with an empty result),
// or as soon as cancellation is requested (with `errc::cancelled`), through
// `token` or through the awaiting task's own token (async/task.hh), from
// any thread. A deadline already past resumes in the next round. Awaited on
// the owner thread only. Destroying the awaiting frame disarms everything.
// Movable until awaited.
class [[nodiscard("co_await it")]] sleep_operation : private detail::timer_node {
  public:
    sleep_operation(executor & ex, std::uint64_t deadline, cancellation_token token) noexcept
        : executor_(&ex), token_(std::move(token)) {
        deadline_ns = deadline;
    }
    sleep_operation(sleep_operation && other) noexcept
        : executor_(other.executor_), token_(std::move(other.token_)) {
        AIRLOCK_CHECK(!other.waiter_, "a sleep moved after it was awaited");
        deadline_ns = other.deadline_ns;
    }
    sleep_operation& operator=(sleep_operation&&) = delete;
    ~sleep_operation();

    [[nodiscard]] bool await_ready() noexcept {
        if (!token_.is_cancellation_requested()) return false;
        result_ = errc::cancelled;
        return true;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> waiter) noexcept {
        const detail::task_context* context = detail::context_of(waiter);
        return suspend(waiter, context != nullptr ? &context->token : nullptr);
    }
    [[nodiscard]] expected<void> await_resume() const noexcept {
        if (result_ != errc::ok) return unexpected(result_);
        return {};
    }

  private:
    bool suspend(std::coroutine_handle<> waiter, const cancellation_token* inherited) noexcept;
    static void on_fire(detail::timer_node & self) noexcept;
    static void on_cancel(void* self) noexcept;
    void complete(errc result) noexcept;
    executor* executor_;
    cancellation_token token_;
    detail::cancel_point given_;      // token_
    detail::cancel_point inherited_;  // the awaiting task's token
    resumption resume_;
    std::coroutine_handle<> waiter_;
    errc result_ = errc::ok;
    bool done_ = false;
};

namespace detail {

inline thread_local constinit executor* tls_executor = nullptr;

class detached_promise;
struct detached_task {
    using promise_type = detached_promise;
    std::coroutine_handle<detached_promise> handle;
};

// The promise of the wrapper coroutine `spawn` puts around a task: the root
// of a spawned chain. It is linked into the list of the executor that holds
// it (so that executor can destroy it when it dies), carries the context its
// task inherits (its token, itself as root), and, when the task finishes,
// reports a failure and destroys itself on the executor that holds it:
// directly when it finishes there, through the inbox when it finishes on
// another thread. Its destructor unlinks it and tells its scope.
class detached_promise : public pooled_frame, private work_item {
    struct final_awaiter {
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<detached_promise> self) noexcept {
            self.promise().finished();
        }
        void await_resume() const noexcept {}
    };

  public:
    detached_promise() noexcept { context_.root = this; }
    ~detached_promise();
    detached_task get_return_object() noexcept {
        return {std::coroutine_handle<detached_promise>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { failure_.exception = std::current_exception(); }
    void return_value(errc code) noexcept { failure_.code = code; }
    [[nodiscard]] const task_context* context() const noexcept { return &context_; }

  private:
    friend class async::executor;
    friend class async::schedule_operation;
    friend class async::async_scope;
    void finished() noexcept;
    static void on_run(work_item& self) noexcept;

    executor* owner_ = nullptr;  // the executor holding it; null while it hops
    detached_promise* prev_ = nullptr;
    detached_promise* next_ = nullptr;
    async_scope* scope_ = nullptr;
    task_context context_;
    resumption start_;
    task_failure failure_;
};

template <class T>
struct is_expected : std::false_type {};
template <class T, class E>
struct is_expected<expected<T, E>> : std::true_type {};

// The body `spawn` runs: awaits the task and hands its outcome to the promise.
template <class T>
detached_task run_detached(task<T> t) {
    if constexpr (is_expected<std::remove_cvref_t<T>>::value) {
        const auto outcome = co_await std::move(t);
        if constexpr (std::is_same_v<typename std::remove_cvref_t<T>::error_type, errc>)
            co_return outcome.has_value() ? errc::ok : outcome.error();
        else
            co_return outcome.has_value() ? errc::ok : errc::rpc_handler_failed;
    } else {
        co_await std::move(t);
        co_return errc::ok;
    }
}

}  // namespace detail

// `executor` runs the coroutines of one thread. Each round (`run_once`) it
// runs the work items posted from other threads, fires the due timers,
// resumes up to `ready_budget` ready coroutines, and polls every source once
// with `poll_budget`; a round never blocks. `run`/`run_until` repeat rounds
// and, when a round found nothing to do, idle through ring::wait_until on
// the doorbell: spin, yield, then park until a post, a source with work, a
// stop request or the next timer. Not copyable or movable.
class executor {
  public:
    // `bell` is the word the executor parks on: in production a doorbell in
    // the shared region, so the peer's producers wake it with
    // ring::ring_doorbell; `hooks` supplies yield/park/unpark and the clock.
    // Both must outlive the executor. Makes it the calling thread's current
    // executor (and its frame pool the thread's pool) until destruction.
    executor(ring::wire::doorbell& bell, ring::wait_hooks& hooks, executor_options options = {});
    // Owner thread. Discards unrun posts (hops towards it bring their
    // spawned tasks home first), destroys the spawned tasks it holds (their
    // locals, timers and registrations with them), forgets timers and
    // resumptions of frames the program still owns, and restores the
    // previous current executor. Frames of this executor's pool that are
    // still alive make the pool leak rather than dangle (frame_pool::retire).
    ~executor();
    executor(const executor&) = delete;
    executor& operator=(const executor&) = delete;

    // The executor current on the calling thread (the innermost alive one
    // constructed there), or null.
    [[nodiscard]] static executor* current() noexcept { return detail::tls_executor; }
    [[nodiscard]] bool is_owner_thread() const noexcept {
        return &detail::tls_thread_marker == owner_marker_;
    }

    // --- running (owner thread) ---------------------------------------------

    // One round; returns the work done (items, timers, resumptions, source
    // work). Never blocks. Must not be called from inside a round.
    std::size_t run_once();
    // Rounds until `done()` is true, idling when a round finds nothing.
    // `done` is checked between rounds and while idling.
    template <class Done>
    void run_until(Done&& done) {
        while (!done()) {
            if (run_once() == 0 && !done()) idle(done);
        }
    }
    // Rounds until `request_stop`; then clears the request and returns.
    void run() {
        run_until([this] {
            // acquire: pairs with request_stop's release.
            return stop_requested_.load(std::memory_order_acquire);
        });
        stop_requested_.store(false, std::memory_order_relaxed);
    }

    // --- coroutines (owner thread) ------------------------------------------

    // Runs `t` detached: it starts in a later round, and is owned by the
    // executor until it finishes (or the executor dies). An exception it
    // throws, or an error in the `expected` it returns, goes to the error
    // handler: never lost. Its token (async/task.hh) can never be
    // cancelled; spawn into an async_scope for one that can.
    template <class T>
    void spawn(task<T> t) {
        AIRLOCK_CHECK(t.valid(), "spawn of an empty task");
        adopt(detail::run_detached(std::move(t)).handle, /*start_now=*/false, nullptr, {});
    }
    // Like spawn, but `t` starts at once, on the calling (owner) thread, and
    // this returns at its first suspension or its end. For work that must
    // begin in the order it arrived: the rpc endpoint starts coroutine
    // handlers in ring order, beside handlers that run synchronously.
    // `token` is what the task's cancellation points observe.
    template <class T>
    void spawn_now(task<T> t, cancellation_token token = {}) {
        AIRLOCK_CHECK(t.valid(), "spawn of an empty task");
        adopt(detail::run_detached(std::move(t)).handle, /*start_now=*/true, nullptr,
              std::move(token));
    }
    // Queues `r` to resume `h` in a later round, in FIFO order: how an
    // awaitable of any layer (an rpc reply arriving in a source's poll)
    // makes its coroutine ready. `r` lives in the awaitable; destroying it
    // unqueues it.
    void enqueue(resumption& r, std::coroutine_handle<> h) noexcept {
        AIRLOCK_CHECK(is_owner_thread(), "enqueue from a foreign thread: use schedule() or post()");
        ready_.push(r, h);
    }
    // Yield (owner thread) or hop onto this executor (any other thread).
    [[nodiscard]] schedule_operation schedule() noexcept { return schedule_operation(*this); }
    // Resume after `duration_ns` of the hooks' clock, or early with
    // errc::cancelled when `token`, or the awaiting task's token, is cancelled.
    [[nodiscard]] sleep_operation sleep_for(std::uint64_t duration_ns,
                                            cancellation_token token = {}) {
        const std::uint64_t now = now_ns();
        const std::uint64_t deadline = duration_ns > std::numeric_limits<std::uint64_t>::max() - now
                                           ? std::numeric_limits<std::uint64_t>::max()
                                           : now + duration_ns;
        return sleep_operation(*this, deadline, std::move(token));
    }
    [[nodiscard]] sleep_operation sleep_until(std::uint64_t deadline_ns,
                                              cancellation_token token = {}) noexcept {
        return sleep_operation(*this, deadline_ns, std::move(token));
    }
    // The hooks' monotonic clock.
    [[nodiscard]] std::uint64_t now_ns() noexcept { return hooks_.now_ns(); }
    // The platform's wait hooks this executor idles with.
    [[nodiscard]] ring::wait_hooks& hooks() noexcept { return hooks_; }

    // --- sources (owner thread; setup path, may allocate) -------------------

    // Polls `s` every round from now on; `s` must stay alive until removed.
    void add_source(source& s);
    // Stops polling `s`; safe from inside a poll.
    void remove_source(source& s) noexcept;

    // --- thread-safe entry points -------------------------------------------

    // Any thread of this side: queues `item` to run on the owner thread in a
    // later round, then rings the doorbell. Lock-free, never allocates. The
    // executor must be alive when the call begins; once the item is queued
    // the call touches only the doorbell and the hooks (read before), so the
    // item may run and its owner destroy the executor before post returns,
    // as long as the doorbell and hooks outlive it (a platform's do: they
    // are in the region and static). Items still queued when the executor
    // dies are discarded (their `discard`, if any, runs instead).
    void post(work_item& item) noexcept {
        ring::wire::doorbell& bell = bell_;
        ring::wait_hooks* hooks = &hooks_;
        inbox_.push(item);
        ring::ring_doorbell(bell, hooks);
    }
    // Owner thread: takes back a posted item that has not run yet (its
    // poster is going away). Returns false when it is not queued here.
    bool withdraw(work_item& item) noexcept;
    // Any thread: makes `run()` return after its current round.
    void request_stop() noexcept {
        // Read the members first: once the flag is set, the owner may return
        // from run() and destroy this executor while we still ring the bell.
        ring::wire::doorbell& bell = bell_;
        ring::wait_hooks* hooks = &hooks_;
        // release: what the requester wrote before is visible when run returns.
        stop_requested_.store(true, std::memory_order_release);
        ring::ring_doorbell(bell, hooks);
    }

    // --- errors and observation (owner thread) ------------------------------

    void set_error_handler(error_handler fn, void* context) noexcept;
    [[nodiscard]] const executor_stats& stats() const noexcept { return stats_; }
    // Spawned tasks this executor holds, not yet finished.
    [[nodiscard]] std::size_t spawned() const noexcept { return spawned_count_; }
    [[nodiscard]] std::size_t timers_armed() const noexcept { return timers_.size(); }
    [[nodiscard]] std::size_t ready() const noexcept { return ready_.size(); }
    // The frame pool's counters, after reclaiming frames freed elsewhere.
    [[nodiscard]] const frame_pool_stats& frame_stats() noexcept;

  private:
    friend class sleep_operation;
    friend class schedule_operation;
    friend class detail::detached_promise;
    friend class deadline_source;
    friend class alarm;
    friend class async_scope;

    // Timers are armed by the awaitables (sleep_operation, deadline_source)
    // and by alarms.
    void arm_timer(detail::timer_node& node) {
        AIRLOCK_CHECK(is_owner_thread(), "a timer armed on a foreign executor");
        timers_.push(node);
    }
    void disarm_timer(detail::timer_node& node) noexcept {
        if (!node.armed()) return;
        AIRLOCK_CHECK(is_owner_thread(),
                      "a timer disarmed on another thread (a suspended "
                      "coroutine destroyed away from its executor)");
        timers_.remove(node);
    }

    void adopt(std::coroutine_handle<detail::detached_promise> h, bool start_now,
               async_scope* scope, cancellation_token token);
    void link_spawned(detail::detached_promise& p) noexcept;
    void unlink_spawned(detail::detached_promise& p) noexcept;
    void retire_detached(detail::detached_promise& p) noexcept;
    void report(const task_failure& failure) noexcept;

    std::size_t drain_inbox() noexcept;
    std::size_t fire_due_timers() noexcept;
    std::size_t run_ready() noexcept;
    std::size_t poll_sources() noexcept;
    // What may end an idle wait, besides `done`.
    [[nodiscard]] bool wake_pending() noexcept;
    // 0 when a timer is due now, UINT64_MAX without timers, else the time left.
    [[nodiscard]] std::uint64_t idle_timeout_ns() noexcept;

    template <class Done>
    void idle(Done& done) {
        const std::uint64_t timeout = idle_timeout_ns();
        if (timeout == 0) return;
        ++stats_.idle_waits;
        ring::wait_policy policy;
        policy.spin_iterations = options_.spin_iterations;
        policy.yield_iterations = options_.yield_iterations;
        policy.timeout_ns = timeout;
        policy.hooks = &hooks_;
        // timed_out only means the next timer is due: the next round fires it.
        (void)ring::wait_until([&] { return done() || wake_pending(); }, bell_, policy);
    }

    ring::wire::doorbell& bell_;
    ring::wait_hooks& hooks_;
    executor_options options_;
    const char* owner_marker_;
    executor* previous_executor_;
    frame_pool* pool_;
    frame_pool* previous_pool_;
    detail::ready_list ready_;
    detail::timer_heap timers_;
    detail::work_queue taken_;  // posts taken from the inbox, not yet run
    std::vector<source*> sources_;
    bool sources_removed_ = false;  // null slots to compact after polling
    bool in_round_ = false;
    detail::detached_promise* spawned_head_ = nullptr;
    std::size_t spawned_count_ = 0;
    executor_stats stats_{};
    // Written by other threads: on their own cache line.
    alignas(64) detail::mpsc_inbox inbox_;
    std::atomic<bool> stop_requested_{false};
};

// --- inline definitions that need the complete executor ----------------------

inline schedule_operation::~schedule_operation() {
    // Still in the target's inbox: only its owner thread may take it back
    // (withdraw checks); anywhere else the frame was destroyed mid-hop.
    if (posted_) (void)executor_->withdraw(*this);
}

inline sleep_operation::~sleep_operation() {
    executor_->disarm_timer(*this);
}

inline void detail::detached_promise::finished() noexcept {
    if (owner_ != nullptr && owner_->is_owner_thread()) [[likely]] {
        owner_->retire_detached(*this);  // destroys this frame
        return;
    }
    // Finished on another executor's thread (a child of it ran there last):
    // let the holder report and destroy it. Touch nothing after post().
    run = &on_run;
    discard = &on_run;
    owner_->post(*this);
}

inline void detail::detached_promise::on_run(work_item& self) noexcept {
    auto& p = static_cast<detached_promise&>(self);
    p.owner_->retire_detached(p);
}

}  // namespace airlock::async
