// SPDX-License-Identifier: Apache-2.0
// The executor's round, its setup and teardown, and failure reporting.
#include "airlock/async/executor.hh"

#include <cstdio>
#include <exception>

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

namespace detail {

ready_queue::ready_queue(std::size_t capacity) {
    const std::size_t rounded = std::bit_ceil(std::max<std::size_t>(capacity, 16));
    slots_ = std::make_unique<std::coroutine_handle<>[]>(rounded);
    mask_ = rounded - 1;
}

void ready_queue::grow() {
    const std::size_t capacity = mask_ + 1;
    auto bigger = std::make_unique<std::coroutine_handle<>[]>(capacity * 2);
    for (std::size_t i = 0; i < size_; ++i)
        bigger[i] = slots_[(head_ + i) & mask_];
    slots_ = std::move(bigger);
    mask_ = capacity * 2 - 1;
    head_ = 0;
}

}  // namespace detail

executor::executor(ring::wire::doorbell& bell, ring::wait_hooks& hooks, executor_options options)
    : bell_(bell),
      hooks_(hooks),
      options_(options),
      owner_marker_(&detail::tls_thread_marker),
      previous_executor_(detail::tls_executor),
      pool_(frame_pool::create()),
      previous_pool_(detail::tls_frame_pool),
      ready_(options.ready_capacity) {
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
    // Posted items are dropped unrun; ready handles belong to frames that are
    // destroyed below or owned by the program.
    (void)inbox_.take_all();
    ready_.clear();
    // Spawned tasks still suspended: destroying the wrapper destroys the task
    // it awaits, and with it every frame of the chain. Their awaitables
    // disarm their timers and deregister on the way.
    while (spawned_head_ != nullptr) {
        detail::detached_promise* p = spawned_head_;
        spawned_head_ = p->next_;
        --spawned_count_;
        std::coroutine_handle<detail::detached_promise>::from_promise(*p).destroy();
    }
    // Timers armed by frames the program still owns: forget them, so their
    // awaitables' destructors do not reach back into a dead executor.
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

void executor::adopt(std::coroutine_handle<detail::detached_promise> h, bool start_now) {
    AIRLOCK_CHECK(is_owner_thread(), "spawn from a foreign thread");
    detail::detached_promise& p = h.promise();
    p.owner_ = this;
    p.next_ = spawned_head_;
    if (spawned_head_ != nullptr) spawned_head_->prev_ = &p;
    spawned_head_ = &p;
    ++spawned_count_;
    if (start_now)
        h.resume();  // runs to its first suspension; may finish and retire here
    else
        ready_.push(h);
}

void executor::retire_detached(detail::detached_promise& p) noexcept {
    if (p.prev_ != nullptr)
        p.prev_->next_ = p.next_;
    else
        spawned_head_ = p.next_;
    if (p.next_ != nullptr) p.next_->prev_ = p.prev_;
    --spawned_count_;
    if (p.failure_.exception || p.failure_.code != errc::ok) [[unlikely]]
        report(p.failure_);
    std::coroutine_handle<detail::detached_promise>::from_promise(p).destroy();
}

void executor::report(const task_failure& failure) noexcept {
    ++stats_.failures;
    options_.on_error(options_.on_error_context, failure);
}

std::size_t executor::run_once() {
    AIRLOCK_CHECK(is_owner_thread(), "run on a foreign thread");
    AIRLOCK_CHECK(!in_round_, "run_once from inside a round (sync_wait in a coroutine?)");
    in_round_ = true;
    std::size_t work = drain_inbox();
    work += fire_due_timers();
    work += run_ready();
    work += poll_sources();
    in_round_ = false;
    ++stats_.rounds;
    return work;
}

std::size_t executor::drain_inbox() noexcept {
    std::size_t n = 0;
    for (work_item* item = inbox_.take_all(); item != nullptr; ++n) {
        work_item* next = item->next;  // the item may be gone once it has run
        item->run(*item);
        item = next;
    }
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
    // a coroutine that yields waits for the next round.
    const std::size_t n = std::min(ready_.size(), options_.ready_budget);
    for (std::size_t i = 0; i < n; ++i)
        ready_.pop().resume();
    stats_.resumptions += n;
    return n;
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
    if (!ready_.empty() || inbox_.maybe_nonempty()) return true;
    // acquire: pairs with request_stop's release.
    if (stop_requested_.load(std::memory_order_acquire)) return true;
    for (source* s : sources_) {
        if (s != nullptr && s->has_work()) return true;
    }
    return false;
}

std::uint64_t executor::idle_timeout_ns() noexcept {
    if (!ready_.empty()) return 0;
    if (timers_.empty()) return std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t now = hooks_.now_ns();
    const std::uint64_t due = timers_.top().deadline_ns;
    return due <= now ? 0 : due - now;
}

}  // namespace airlock::async
