// SPDX-License-Identifier: Apache-2.0
#include "airlock/platform/switchless.hh"

#include <limits>
#include <thread>

#include "airlock/base/check.hh"
#include "airlock/platform/futex_wait.hh"

namespace airlock::platform {

// A worker's thread and its counter, on their own lines: only the worker
// writes `served`, stats() reads it.
struct alignas(ring::wire::hot_word_stride) switchless_pool::worker {
    std::atomic<std::uint64_t> served{0};
    std::thread thread;
};

switchless_pool::switchless_pool(std::size_t workers, std::size_t slots, switchless_options options)
    : slots_(new slot[slots == 0 ? 1 : slots]),
      worker_count_(workers),
      slot_count_(slots),
      bitmap_words_((slots + 63) / 64),
      retries_before_fallback_(options.retries_before_fallback),
      hooks_(options.hooks != nullptr ? options.hooks : &futex_wait_hooks::instance()),
      // Idle workers spin, then park on a futex, as the SDK's workers do
      // (retries_before_sleep pauses, then FUTEX_WAIT, no yield phase): an
      // idle pool burns a CPU per worker for the spin budget and the first
      // call after a lull pays a futex wake-up, which is the cost this
      // baseline must show. ring::wait_until supplies the announce, fence,
      // re-check handshake, so a call submitted while a worker falls asleep
      // is never lost, with the wait loop the rest of Airlock uses.
      idle_policy_{.spin_iterations = options.retries_before_sleep,
                   .yield_iterations = 0,
                   .timeout_ns = std::numeric_limits<std::uint64_t>::max(),
                   .hooks = hooks_},
      on_worker_start_(std::move(options.on_worker_start)),
      owned_fallback_(options.fallback == nullptr ? std::make_unique<modelled_transition>()
                                                  : nullptr),
      fallback_(options.fallback != nullptr ? options.fallback : owned_fallback_.get()),
      workers_(new worker[workers == 0 ? 1 : workers]) {
    AIRLOCK_CHECK(workers >= 1, "switchless_pool needs at least one worker");
    AIRLOCK_CHECK(slots >= 1 && slots <= max_slots, "switchless_pool slots must be in [1, 512]");
    ring::shared::store_relaxed(bell_.word, 0);
    for (std::size_t w = 0; w < bitmap_words_; ++w) {
        const std::size_t in_word = slots - w * 64 >= 64 ? 64 : slots - w * 64;
        const std::uint64_t bits =
            in_word == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << in_word) - 1;
        free_.words[w].store(bits, std::memory_order_relaxed);  // published by thread start
    }
    for (std::size_t i = 0; i < workers; ++i)
        workers_[i].thread = std::thread([this, i] { worker_main(i); });
}

switchless_pool::~switchless_pool() {
    stop_.store(true, std::memory_order_release);  // seen by every worker's wait predicate
    ring::ring_doorbell(bell_, hooks_);            // wakes the parked ones
    for (std::size_t i = 0; i < worker_count_; ++i)
        workers_[i].thread.join();
}

bool switchless_pool::has_pending() const noexcept {
    for (std::size_t w = 0; w < bitmap_words_; ++w)
        if (events_.words[w].load(std::memory_order_relaxed) != 0) return true;  // a hint
    return false;
}

// One scan of the event bitmap, like the SDK's sl_siglines_process_signals:
// each set bit is test-and-cleared; whoever clears it owns the call.
bool switchless_pool::serve_pending(worker& self) noexcept {
    bool served_any = false;
    for (std::size_t w = 0; w < bitmap_words_; ++w) {
        std::atomic<std::uint64_t>& word = events_.words[w];
        std::uint64_t bits = word.load(std::memory_order_relaxed);  // a snapshot to try
        while (bits != 0) {
            const std::uint64_t lowest = bits & (~bits + 1);
            bits &= ~lowest;
            // acq_rel: acquire the caller's task; the caller's revoking
            // fetch_and sees whether we took it.
            if ((word.fetch_and(~lowest, std::memory_order_acq_rel) & lowest) == 0) continue;
            slot& s = slots_[w * 64 + static_cast<std::size_t>(std::countr_zero(lowest))];
            s.status.store(slot_accepted, std::memory_order_relaxed);  // a hint to the caller
            s.task(s.context);
            self.served.store(self.served.load(std::memory_order_relaxed) + 1,
                              std::memory_order_relaxed);          // single writer; statistic
            s.status.store(slot_done, std::memory_order_release);  // publish the results
            served_any = true;
        }
    }
    return served_any;
}

void switchless_pool::worker_main(std::size_t index) noexcept {
    if (on_worker_start_) on_worker_start_(index);
    worker& self = workers_[index];
    for (;;) {
        if (serve_pending(self)) continue;
        if (stop_.load(std::memory_order_acquire)) return;
        // Nothing to do: spin, then park until a caller rings or the pool stops.
        // Without a timeout the wait only returns once the predicate holds.
        static_cast<void>(ring::wait_until(
            [this] { return has_pending() || stop_.load(std::memory_order_relaxed); }, bell_,
            idle_policy_));
    }
}

switchless_stats switchless_pool::stats() const noexcept {
    switchless_stats s;
    for (std::size_t i = 0; i < worker_count_; ++i)
        s.served += workers_[i].served.load(std::memory_order_relaxed);
    s.fallback_no_slot = fallback_no_slot_.load(std::memory_order_relaxed);
    s.fallback_not_accepted = fallback_not_accepted_.load(std::memory_order_relaxed);
    return s;
}

}  // namespace airlock::platform
