// SPDX-License-Identifier: Apache-2.0
// The executor's round, its setup and teardown, spawned tasks and their
// hops, timers, and failure reporting.
#include "airlock/async/executor.hh"

#include <cstdio>
#include <exception>

#include "airlock/async/scope.hh"

namespace airlock::async {

namespace {

void print_failure(void* /*context*/, const task_failure& failure) noexcept {
    if (failure.exception) {
        try {
            std::rethrow_exception(failure.exception);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "airlock: spawned task failed: exception: %s\n", e.what());
        } catch (...) {
            std::fprintf(stderr, "airlock: spawned task failed: non-standard exception\n");
        }
        return;
    }
    const std::string_view name = to_string(failure.code);
    std::fprintf(stderr, "airlock: spawned task failed: error: %.*s\n",
                 static_cast<int>(name.size()), name.data());
}

}  // namespace

// ============================================================================
// Setup and teardown

executor::executor(ring::wire::doorbell& bell, ring::wait_hooks& hooks, executor_options options)
    : bell_(bell),
      hooks_(hooks),
      options_(options),
      owner_marker_(&detail::tls_thread_marker),
      previous_executor_(detail::tls_executor),
      pool_(frame_pool::create()),
      previous_pool_(detail::tls_frame_pool) {
    AIRLOCK_CHECK(options_.ready_budget > 0, "a ready budget of 0 would never resume anything");
    if (options_.on_error == nullptr) options_.on_error = &print_failure;
    timers_.reserve(options_.timer_capacity);
    sources_.reserve(8);
    detail::tls_executor = this;
    detail::tls_frame_pool = pool_;
}

executor::~executor() {
    AIRLOCK_CHECK(is_owner_thread(), "executor destroyed on a foreign thread");
    AIRLOCK_CHECK(!in_round_, "executor destroyed from inside its own round");
    // Posts that never ran: each undoes itself. A hop towards this executor
    // brings its spawned task into the list, to be destroyed with the rest.
    taken_.append(inbox_.take_all());
    while (work_item* item = taken_.pop()) {
        if (item->discard != nullptr) item->discard(*item);
    }
    // Spawned tasks still suspended here: destroying the wrapper destroys
    // the task it awaits, and with it every frame of the chain; each
    // awaitable undoes what it registered, and the wrapper unlinks itself.
    while (spawned_head_ != nullptr)
        std::coroutine_handle<detail::detached_promise>::from_promise(*spawned_head_).destroy();
    // Resumptions and timers of frames the program still owns: forget them,
    // so those awaitables' destructors find nothing to undo here.
    ready_.clear();
    timers_.clear();
    AIRLOCK_CHECK(detail::tls_executor == this, "executors destroyed out of nesting order");
    detail::tls_executor = previous_executor_;
    detail::tls_frame_pool = previous_pool_;
    frame_pool::retire(pool_);
}

void executor::set_error_handler(error_handler fn, void* context) noexcept {
    options_.on_error = fn != nullptr ? fn : &print_failure;
    options_.on_error_context = context;
}

const frame_pool_stats& executor::frame_stats() noexcept {
    pool_->reclaim_remote();
    return pool_->stats();
}

void executor::add_source(source& s) {
    AIRLOCK_CHECK(is_owner_thread(), "add_source from a foreign thread");
    sources_.push_back(&s);
}

void executor::remove_source(source& s) noexcept {
    for (source*& slot : sources_) {
        if (slot == &s) {
            slot = nullptr;
            sources_removed_ = true;
        }
    }
    if (!in_round_) {
        std::erase(sources_, nullptr);
        sources_removed_ = false;
    }
}

bool executor::withdraw(work_item& item) noexcept {
    AIRLOCK_CHECK(is_owner_thread(),
                  "a posted item withdrawn on another thread (a suspended "
                  "coroutine destroyed away from its executor)");
    taken_.append(inbox_.take_all());
    return taken_.remove(item);
}

// ============================================================================
// Spawned tasks

void executor::adopt(std::coroutine_handle<detail::detached_promise> h, bool start_now,
                     async_scope* scope, cancellation_token token) {
    AIRLOCK_CHECK(is_owner_thread(), "spawn from a foreign thread");
    detail::detached_promise& p = h.promise();
    p.context_.token = std::move(token);
    p.scope_ = scope;
    link_spawned(p);
    if (scope != nullptr) scope->child_added();
    if (start_now)
        h.resume();  // runs to its first suspension; may finish and retire here
    else
        ready_.push(p.start_, h);
}

void executor::link_spawned(detail::detached_promise& p) noexcept {
    p.owner_ = this;
    p.prev_ = nullptr;
    p.next_ = spawned_head_;
    if (spawned_head_ != nullptr) spawned_head_->prev_ = &p;
    spawned_head_ = &p;
    ++spawned_count_;
}

void executor::unlink_spawned(detail::detached_promise& p) noexcept {
    AIRLOCK_CHECK(is_owner_thread(), "a spawned task destroyed away from the executor holding it");
    if (p.prev_ != nullptr)
        p.prev_->next_ = p.next_;
    else
        spawned_head_ = p.next_;
    if (p.next_ != nullptr) p.next_->prev_ = p.prev_;
    p.prev_ = p.next_ = nullptr;
    p.owner_ = nullptr;
    --spawned_count_;
}

void executor::retire_detached(detail::detached_promise& p) noexcept {
    if (p.failure_.exception || p.failure_.code != errc::ok) [[unlikely]]
        report(p.failure_);
    // The promise's destructor unlinks it and tells its scope.
    std::coroutine_handle<detail::detached_promise>::from_promise(p).destroy();
}

void executor::report(const task_failure& failure) noexcept {
    ++stats_.failures;
    options_.on_error(options_.on_error_context, failure);
}

detail::detached_promise::~detached_promise() {
    if (owner_ != nullptr) owner_->unlink_spawned(*this);
    if (scope_ != nullptr) scope_->child_gone(failure_);
}

// ============================================================================
// The round

std::size_t executor::run_once() {
    AIRLOCK_CHECK(is_owner_thread(), "run on a foreign thread");
    AIRLOCK_CHECK(!in_round_, "run_once from inside a round (sync_wait in a coroutine?)");
    in_round_ = true;
    const std::uint64_t start = options_.measure_busy_time ? hooks_.now_ns() : 0;
    std::size_t work = drain_inbox();
    work += fire_due_timers();
    work += run_ready();
    work += poll_sources();
    if (options_.measure_busy_time && work != 0) stats_.busy_ns += hooks_.now_ns() - start;
    in_round_ = false;
    ++stats_.rounds;
    return work;
}

std::size_t executor::drain_inbox() noexcept {
    taken_.append(inbox_.take_all());
    std::size_t n = 0;
    // Items posted while these run (by other threads, or by an item) wait
    // for the next round.
    for (work_item* item = taken_.pop(); item != nullptr; item = taken_.pop(), ++n)
        item->run(*item);  // the item may be gone once it has run
    stats_.posted += n;
    return n;
}

std::size_t executor::fire_due_timers() noexcept {
    if (timers_.empty()) return 0;
    const std::uint64_t now = hooks_.now_ns();
    // Fire at most the timers armed before this round: a callback that arms
    // an already-due timer cannot keep the loop going.
    std::size_t n = 0;
    for (std::size_t limit = timers_.size(); n < limit && !timers_.empty(); ++n) {
        detail::timer_node& t = timers_.top();
        if (t.deadline_ns > now) break;
        timers_.remove(t);
        t.fire(t);
    }
    stats_.timers_fired += n;
    return n;
}

std::size_t executor::run_ready() noexcept {
    // Only what was ready when the round began (and at most the budget):
    // a coroutine that yields waits for the next round. A resumed coroutine
    // may withdraw later entries (by destroying their frames): stop early
    // when the queue runs out.
    const std::size_t n = std::min(ready_.size(), options_.ready_budget);
    std::size_t done = 0;
    for (; done < n && !ready_.empty(); ++done)
        ready_.pop().resume();
    stats_.resumptions += done;
    return done;
}

std::size_t executor::poll_sources() noexcept {
    std::size_t work = 0;
    // By index: a poll may add or remove sources.
    for (std::size_t i = 0; i < sources_.size(); ++i) {
        if (source* s = sources_[i]) work += s->poll(options_.poll_budget);
    }
    if (sources_removed_) {
        std::erase(sources_, nullptr);
        sources_removed_ = false;
    }
    stats_.source_work += work;
    return work;
}

bool executor::wake_pending() noexcept {
    if (!ready_.empty() || !taken_.empty() || inbox_.maybe_nonempty()) return true;
    // acquire: pairs with request_stop's release.
    if (stop_requested_.load(std::memory_order_acquire)) return true;
    for (source* s : sources_) {
        if (s != nullptr && s->has_work()) return true;
    }
    return false;
}

std::uint64_t executor::idle_timeout_ns() noexcept {
    if (!ready_.empty() || !taken_.empty()) return 0;
    if (timers_.empty()) return std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t now = hooks_.now_ns();
    const std::uint64_t due = timers_.top().deadline_ns;
    return due <= now ? 0 : due - now;
}

// ============================================================================
// schedule_operation: yields and hops

void schedule_operation::suspend(std::coroutine_handle<> waiter,
                                 const detail::task_context* context) noexcept {
    waiter_ = waiter;
    if (executor_->is_owner_thread()) [[likely]] {
        executor_->enqueue(resume_, waiter);
        return;
    }
    // A hop from another thread. A spawned task held by the executor we are
    // leaving goes with us: from now on the target holds it.
    detail::detached_promise* root = context != nullptr ? context->root : nullptr;
    executor* here = executor::current();
    if (root != nullptr && here != nullptr && root->owner_ == here) {
        here->unlink_spawned(*root);
        carried_ = root;
    }
    run = &on_run;
    discard = &on_discard;
    posted_ = true;
    // After post() this object may already be gone (the target can resume
    // the waiter at once): touch nothing after.
    executor_->post(*this);
}

void schedule_operation::on_run(work_item& self) noexcept {
    auto& op = static_cast<schedule_operation&>(self);
    op.posted_ = false;
    if (op.carried_ != nullptr) op.executor_->link_spawned(*std::exchange(op.carried_, nullptr));
    op.executor_->enqueue(op.resume_, op.waiter_);
}

void schedule_operation::on_discard(work_item& self) noexcept {
    // The target dies with the hop unrun: it takes the task it carries, to
    // destroy it with its own; the coroutine is never resumed.
    auto& op = static_cast<schedule_operation&>(self);
    op.posted_ = false;
    if (op.carried_ != nullptr) op.executor_->link_spawned(*std::exchange(op.carried_, nullptr));
}

// ============================================================================
// sleep_operation: a timer that is also a cancellation point

bool sleep_operation::suspend(std::coroutine_handle<> waiter,
                              const cancellation_token* inherited) noexcept {
    AIRLOCK_CHECK(executor_->is_owner_thread(), "sleep on a foreign executor");
    waiter_ = waiter;
    if (inherited != nullptr && inherited->is_cancellation_requested()) {
        result_ = errc::cancelled;
        return false;
    }
    fire = &on_fire;
    executor_->arm_timer(*this);
    const bool listening = given_.arm(*executor_, token_, &on_cancel, this) &&
                           (inherited == nullptr || *inherited == token_ ||
                            inherited_.arm(*executor_, *inherited, &on_cancel, this));
    if (!listening) {  // cancelled between the checks and the registration
        executor_->disarm_timer(*this);
        given_.disarm();
        inherited_.disarm();
        result_ = errc::cancelled;
        return false;
    }
    return true;
}

void sleep_operation::on_fire(detail::timer_node& self) noexcept {
    static_cast<sleep_operation&>(self).complete(errc::ok);
}

void sleep_operation::on_cancel(void* self) noexcept {
    auto& op = *static_cast<sleep_operation*>(self);
    op.executor_->disarm_timer(op);
    op.complete(errc::cancelled);
}

void sleep_operation::complete(errc result) noexcept {
    if (done_) return;  // the timer and a cancellation raced: the first one counts
    done_ = true;
    given_.disarm();
    inherited_.disarm();
    result_ = result;
    executor_->enqueue(resume_, waiter_);
}

// ============================================================================
// cancel_point

namespace detail {

bool cancel_point::arm(executor& ex, const cancellation_token& token, callback on_cancel,
                       void* context) noexcept {
    executor_ = &ex;
    on_cancel_ = on_cancel;
    context_ = context;
    if (registration_.try_register(token, &on_token, this)) return true;
    // Not registered: already cancelled, or it never can be.
    return !token.is_cancellation_requested();
}

void cancel_point::on_token(void* self) noexcept {
    auto& point = *static_cast<cancel_point*>(self);
    if (point.executor_->is_owner_thread()) {
        point.on_cancel_(point.context_);
        return;
    }
    // Another thread asked: the awaitable's state is the executor's, so the
    // cancellation runs there. disarm() waits for this callback to return,
    // so it sees posted_ set before it looks.
    point.run = &on_posted;
    point.discard = &on_discarded;
    point.posted_.store(true, std::memory_order_release);
    point.executor_->post(point);
}

void cancel_point::on_posted(work_item& self) noexcept {
    auto& point = static_cast<cancel_point&>(self);
    point.posted_.store(false, std::memory_order_relaxed);
    point.on_cancel_(point.context_);
}

void cancel_point::on_discarded(work_item& self) noexcept {
    static_cast<cancel_point&>(self).posted_.store(false, std::memory_order_relaxed);
}

void cancel_point::withdraw() noexcept {
    (void)executor_->withdraw(*this);
    posted_.store(false, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace airlock::async
