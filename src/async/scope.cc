// SPDX-License-Identifier: Apache-2.0
// async_scope: counting its tasks, waking its joiners, tearing down.
#include "airlock/async/scope.hh"

#include <thread>

namespace airlock::async {

async_scope::async_scope(executor& ex, const cancellation_token& parent)
    : executor_(ex), source_(parent) {
    wake_.run = &on_wake;
    wake_.discard = &on_wake_discarded;
    wake_.scope = this;
    AIRLOCK_CHECK(ex.is_owner_thread(), "a scope made on a foreign thread");
}

async_scope::~async_scope() {
    AIRLOCK_CHECK(executor_.is_owner_thread(), "a scope destroyed on a foreign thread");
    AIRLOCK_CHECK(joiners_ == nullptr, "a scope destroyed while a join waits on it");
    (void)source_.request_cancellation();
    // Destroy the tasks of this scope the executor holds; each one's
    // promise tells us as it goes (child_gone). Restart after each: a
    // destroyed frame may take others with it.
    for (detail::detached_promise* p = executor_.spawned_head_; p != nullptr;) {
        if (p->scope_ != this) {
            p = p->next_;
            continue;
        }
        std::coroutine_handle<detail::detached_promise>::from_promise(*p).destroy();
        p = executor_.spawned_head_;
    }
    // The last task finished on another thread and left its count to the
    // wake-up it posts: take the wake-up back (once its push has landed:
    // the flag is set just before it) and the count with it.
    // acquire: pairs with the finisher's release store of the flag.
    if (wake_posted_.load(std::memory_order_acquire)) {
        while (!executor_.withdraw(wake_))
            std::this_thread::yield();
        wake_posted_.store(false, std::memory_order_relaxed);
        active_.fetch_sub(1, std::memory_order_acq_rel);
    }
    AIRLOCK_CHECK(
        active() == 0,
        "a scope destroyed while some of its tasks run on another executor: join it first");
}

scope_stats async_scope::stats() const noexcept {
    return {spawned_.load(std::memory_order_relaxed), finished_.load(std::memory_order_relaxed),
            failed_.load(std::memory_order_relaxed)};
}

void async_scope::child_added() noexcept {
    spawned_.fetch_add(1, std::memory_order_relaxed);
    active_.fetch_add(1, std::memory_order_relaxed);
}

void async_scope::child_gone(const task_failure& failure) noexcept {
    finished_.fetch_add(1, std::memory_order_relaxed);
    if (failure.exception || failure.code != errc::ok)
        failed_.fetch_add(1, std::memory_order_relaxed);
    if (executor_.is_owner_thread()) {
        // acq_rel: a joiner that sees zero sees every task's effects.
        if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) wake_joiners();
        return;
    }
    // Finished on another executor's thread. The count reaches zero only on
    // the owner thread: were it to reach zero here, a join (or the scope's
    // destruction) could complete at once and free the scope while this
    // thread still posts its wake-up. So a task that is not the last takes
    // one off; the last leaves its count to the wake-up it posts, which
    // takes it off on the owner thread. Only one such wake-up is ever in
    // flight: while it is, its count keeps every other finisher from being
    // the last.
    std::size_t n = active_.load(std::memory_order_relaxed);
    while (n > 1) {
        // acq_rel: what this task did is visible to whoever takes the count to zero.
        if (active_.compare_exchange_weak(n, n - 1, std::memory_order_acq_rel,
                                          std::memory_order_relaxed))
            return;
    }
    // release: the destructor (acquire) may withdraw the wake-up only once
    // it is pushed; it waits for it from here on.
    wake_posted_.store(true, std::memory_order_release);
    executor_.post(wake_);  // the scope may be gone once the push lands: nothing after
}

void async_scope::wake_joiners() noexcept {
    if (active() != 0) return;  // a task was spawned since
    while (join_operation* j = joiners_) {
        joiners_ = j->next_;
        if (joiners_ != nullptr) joiners_->prev_ = nullptr;
        j->prev_ = j->next_ = nullptr;
        j->linked_ = false;
        executor_.enqueue(j->resume_, j->waiter_);
    }
}

void async_scope::on_wake(work_item& self) noexcept {
    async_scope& scope = *static_cast<wake_item&>(self).scope;
    // Cleared before the count drops: a later last finisher, which can only
    // come after a spawn that follows this, sets it again.
    scope.wake_posted_.store(false, std::memory_order_relaxed);
    // acq_rel: the count the finisher left; a joiner that sees zero sees its effects.
    if (scope.active_.fetch_sub(1, std::memory_order_acq_rel) == 1) scope.wake_joiners();
}

void async_scope::on_wake_discarded(work_item& self) noexcept {
    static_cast<wake_item&>(self).scope->wake_posted_.store(false, std::memory_order_release);
}

// ============================================================================
// join_operation

bool join_operation::await_ready() const noexcept {
    return scope_->active() == 0;
}

bool join_operation::await_suspend(std::coroutine_handle<> waiter) noexcept {
    AIRLOCK_CHECK(scope_->executor_.is_owner_thread(), "a scope joined on a foreign thread");
    // The count reaches zero only on this thread (child_gone), so it is
    // still above zero here: the wake-up that takes it there finds this joiner.
    waiter_ = waiter;
    next_ = scope_->joiners_;
    if (next_ != nullptr) next_->prev_ = this;
    scope_->joiners_ = this;
    linked_ = true;
    return true;
}

join_operation::~join_operation() {
    if (!linked_) return;
    if (prev_ != nullptr)
        prev_->next_ = next_;
    else
        scope_->joiners_ = next_;
    if (next_ != nullptr) next_->prev_ = prev_;
}

}  // namespace airlock::async
