// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/platform/switchless.hh: Intel-style switchless calls, the baseline.
//
// Defines `switchless_pool`, a model of the Intel SGX SDK's switchless calls
// (sdk/switchless in intel/linux-sgx) that benchmarks compare Airlock
// against: worker threads poll a fixed array of call slots; a caller claims a
// free slot, publishes its call and SPINS until a worker has run it. The
// caller's thread does nothing else meanwhile; that idle caller is what
// Airlock removes. When no slot is free, or no worker accepts the call within
// `retries_before_fallback` pauses, the call falls back to a regular
// (modelled) transition, as the SDK does. The pool lives in ordinary process
// memory and trusts it: it models the SDK's cost, not its hardening.
//
// Thread contract: `call` and `run_switchless` may be called from any number
// of threads at once; workers are the pool's own threads; construction and
// destruction on one thread, with no call in progress at destruction.
// Memory ordering: a caller writes its task into a slot it claimed (acquire
// CAS on the free bitmap), publishes it with a release fetch_or of its event
// bit; a worker takes the bit with an acq_rel fetch_and, runs the task and
// stores `done` with release; the caller reads `done` with acquire, then
// frees the slot with a release fetch_or. Parking uses ring::wait_until.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "airlock/platform/transition.hh"
#include "airlock/ring/layout.hh"
#include "airlock/ring/wait.hh"

namespace airlock::platform {

// How a switchless pool behaves; the defaults are the SDK's.
struct switchless_options {
    // Pauses a caller spins waiting for a worker to accept its call before
    // it revokes the call and falls back (SDK: SL_DEFAULT_FALLBACK_RETRIES).
    std::uint32_t retries_before_fallback = 20'000;
    // Empty polls (each one pause) a worker makes before it parks on a futex
    // (SDK: SL_DEFAULT_SLEEP_RETRIES).
    std::uint32_t retries_before_sleep = 20'000;
    // The regular transition a refused call falls back to; must outlive the
    // pool. nullptr: the pool owns a modelled_transition of the default cost.
    modelled_transition* fallback = nullptr;
    // Park, unpark and yield for idle workers; must outlive the pool.
    // nullptr: futex_wait_hooks (platform/futex_wait.hh).
    ring::wait_hooks* hooks = nullptr;
    // Runs first on each worker thread with the worker's index (the SDK's
    // START callback); benchmarks pin the worker to a CPU here.
    std::function<void(std::size_t worker)> on_worker_start;
};

// Counters since construction. Exact once no call is in progress.
struct switchless_stats {
    std::uint64_t served = 0;                 // calls a worker ran
    std::uint64_t fallback_no_slot = 0;       // no free slot: regular transition
    std::uint64_t fallback_not_accepted = 0;  // no worker in time: regular transition
    [[nodiscard]] std::uint64_t fallbacks() const noexcept {
        return fallback_no_slot + fallback_not_accepted;
    }
    [[nodiscard]] std::uint64_t calls() const noexcept { return served + fallbacks(); }
};

// Why `run_switchless` did or did not run a task.
enum class switchless_outcome : std::uint8_t {
    served,        // a worker ran it; the caller waited
    no_free_slot,  // every slot was busy; the task did not run
    not_accepted,  // no worker took it in time; revoked, the task did not run
};

// A task as a slot holds it: a function and its context (the SDK's func_id
// and marshalling struct). Must not throw.
using switchless_task = void (*)(void* context) noexcept;

namespace detail {

// Where a worker leaves the result of a `call` for the waiting caller: the
// value, a pointer for references, nothing for void, or the exception.
template <class R>
struct switchless_result {
    std::optional<R> value;
    template <class G>
    void run(G&& g) {
        value.emplace(std::invoke(std::forward<G>(g)));
    }
    R take() { return std::move(*value); }
};
template <class R>
requires std::is_reference_v<R>
struct switchless_result<R> {
    std::remove_reference_t<R>* value = nullptr;
    template <class G>
    void run(G&& g) {
        value = std::addressof(std::invoke(std::forward<G>(g)));
    }
    R take() { return static_cast<R>(*value); }
};
template <>
struct switchless_result<void> {
    template <class G>
    void run(G&& g) {
        std::invoke(std::forward<G>(g));
    }
    void take() {}
};

// A `call` in flight: lives on the caller's stack, which stays put because
// the caller waits until the worker is done with it.
template <class F>
class switchless_call {
  public:
    using result_type = std::invoke_result_t<F>;
    explicit switchless_call(std::remove_reference_t<F>& f) noexcept : f_(std::addressof(f)) {}

    // Runs on a worker thread.
    static void run(void* self) noexcept {
        auto& c = *static_cast<switchless_call*>(self);
        try {
            c.result_.run(std::forward<F>(*c.f_));
        } catch (...) {
            c.error_ = std::current_exception();
        }
    }
    // Runs on the caller thread after the worker is done.
    result_type take() {
        if (error_) [[unlikely]]
            std::rethrow_exception(error_);
        return result_.take();
    }

  private:
    std::remove_reference_t<F>* f_;
    switchless_result<result_type> result_;
    std::exception_ptr error_;
};

}  // namespace detail

// `switchless_pool` runs calls on its worker threads while each caller spins
// until its own call is done, exactly one call per waiting caller, at most
// `slots()` calls in flight; everything else falls back to the regular
// transition. Like the SDK: slots are claimed from a free bitmap, announced in
// an event bitmap, served in bitmap-scan order (not FIFO), and a call a worker
// has accepted is waited for without limit.
class switchless_pool {
  public:
    // The SDK's limit: 8 bitmap words of 64 slots.
    static constexpr std::size_t max_slots = 512;

    // Starts `workers` threads serving `slots` slots. Preconditions (checked,
    // abort): workers >= 1, 1 <= slots <= max_slots. Host side: spawns threads.
    switchless_pool(std::size_t workers, std::size_t slots, switchless_options options = {});
    // Stops and joins the workers (waking parked ones). Precondition: no call
    // is in progress.
    ~switchless_pool();
    switchless_pool(const switchless_pool&) = delete;
    switchless_pool& operator=(const switchless_pool&) = delete;

    // --- calls ---------------------------------------------------------------

    // Runs `f()` on a worker while this thread spins, or, if the pool refuses
    // it, through the fallback transition on this thread. Returns what `f`
    // returns; an exception thrown by `f` is rethrown here. Blocks (spinning,
    // never parking) until the call is done; never allocates.
    template <class F>
    std::invoke_result_t<F> call(F&& f) {
        detail::switchless_call<F> task(f);
        if (run_switchless(&detail::switchless_call<F>::run, &task) == switchless_outcome::served)
            [[likely]]
            return task.take();
        return fallback_->call(std::forward<F>(f));
    }

    // The mechanism without the fallback: claims a slot, publishes
    // `task(context)`, wakes a parked worker if any, and spins until a worker
    // has run it (`served`). Returns `no_free_slot` or `not_accepted` when the
    // task did not run; the caller then falls back. Never allocates.
    [[nodiscard]] switchless_outcome run_switchless(switchless_task task, void* context) noexcept {
        const std::size_t index = claim_slot();
        if (index == no_slot) [[unlikely]] {
            fallback_no_slot_.fetch_add(1, std::memory_order_relaxed);  // statistic only
            return switchless_outcome::no_free_slot;
        }
        slot& s = slots_[index];
        s.task = task;  // the slot is ours: claimed with an acquire CAS
        s.context = context;
        s.status.store(slot_submitted, std::memory_order_relaxed);  // published below
        std::atomic<std::uint64_t>& events = events_.words[index / 64];
        const std::uint64_t bit = std::uint64_t{1} << (index % 64);
        events.fetch_or(bit, std::memory_order_release);  // publish task, context, status
        ring::ring_doorbell(bell_, hooks_);  // wake parked workers; a fence and a load if none

        if (wait_accepted(s) == slot_submitted) [[unlikely]] {
            // Nobody took it in time. Revoke the event bit; if a worker
            // cleared it first, the call is accepted and must be waited for.
            if ((events.fetch_and(~bit, std::memory_order_acq_rel) & bit) != 0) {
                release_slot(index);
                fallback_not_accepted_.fetch_add(1, std::memory_order_relaxed);  // statistic
                return switchless_outcome::not_accepted;
            }
        }
        while (s.status.load(std::memory_order_acquire) != slot_done)  // acquire: the results
            ring::cpu_relax();
        s.status.store(slot_free, std::memory_order_relaxed);  // published by release_slot
        release_slot(index);
        return switchless_outcome::served;
    }

    // --- observers -----------------------------------------------------------

    [[nodiscard]] switchless_stats stats() const noexcept;
    [[nodiscard]] std::size_t workers() const noexcept { return worker_count_; }
    [[nodiscard]] std::size_t slots() const noexcept { return slot_count_; }
    [[nodiscard]] modelled_transition& fallback() const noexcept { return *fallback_; }

  private:
    // Cache-line stride with the adjacent line (ring/layout.hh explains 128).
    static constexpr std::size_t line = ring::wire::hot_word_stride;
    static constexpr std::size_t no_slot = SIZE_MAX;

    // A slot's status, as in the SDK: free -> submitted -> accepted -> done.
    static constexpr std::uint32_t slot_free = 0;
    static constexpr std::uint32_t slot_submitted = 1;
    static constexpr std::uint32_t slot_accepted = 2;
    static constexpr std::uint32_t slot_done = 3;

    // One call slot per line: callers spinning on their own slot's status do
    // not disturb each other.
    struct alignas(line) slot {
        std::atomic<std::uint32_t> status{slot_free};
        switchless_task task = nullptr;
        void* context = nullptr;
    };
    static_assert(sizeof(slot) == line);

    // A bitmap of up to max_slots bits, on its own lines.
    struct alignas(line) bitmap {
        std::atomic<std::uint64_t> words[max_slots / 64] = {};
    };

    struct worker;

    // Claims the lowest free slot or returns no_slot.
    [[nodiscard]] std::size_t claim_slot() noexcept {
        for (std::size_t w = 0; w < bitmap_words_; ++w) {
            std::atomic<std::uint64_t>& word = free_.words[w];
            std::uint64_t bits = word.load(std::memory_order_relaxed);
            while (bits != 0) {
                const std::uint64_t lowest = bits & (~bits + 1);
                // acquire: the previous owner's use of the slot happened before.
                if (word.compare_exchange_weak(bits, bits & ~lowest, std::memory_order_acquire,
                                               std::memory_order_relaxed))
                    return w * 64 + static_cast<std::size_t>(std::countr_zero(lowest));
            }
        }
        return no_slot;
    }
    void release_slot(std::size_t index) noexcept {
        // release: our writes to the slot happen before its next owner's.
        free_.words[index / 64].fetch_or(std::uint64_t{1} << (index % 64),
                                         std::memory_order_release);
    }
    // Spins while the slot is still `submitted`, at most the retry budget.
    [[nodiscard]] std::uint32_t wait_accepted(const slot& s) const noexcept {
        std::uint32_t status = s.status.load(std::memory_order_acquire);
        for (std::uint32_t i = 0; status == slot_submitted && i < retries_before_fallback_; ++i) {
            ring::cpu_relax();
            status = s.status.load(std::memory_order_acquire);  // a hint; `done` is re-read
        }
        return status;
    }

    void worker_main(std::size_t index) noexcept;
    [[nodiscard]] bool serve_pending(worker& self) noexcept;
    [[nodiscard]] bool has_pending() const noexcept;

    // Written by callers, read by workers: each on its own lines.
    bitmap events_;                // 1 = a submitted call waits for a worker
    bitmap free_;                  // 1 = slot free
    ring::wire::doorbell bell_{};  // workers park here; callers ring it
    std::unique_ptr<slot[]> slots_;

    // Read-mostly configuration.
    std::size_t worker_count_;
    std::size_t slot_count_;
    std::size_t bitmap_words_;
    std::uint32_t retries_before_fallback_;
    ring::wait_hooks* hooks_;
    ring::wait_policy idle_policy_;
    std::function<void(std::size_t)> on_worker_start_;
    std::unique_ptr<modelled_transition> owned_fallback_;
    modelled_transition* fallback_;

    alignas(line) std::atomic<bool> stop_{false};
    alignas(line) std::atomic<std::uint64_t> fallback_no_slot_{0};
    std::atomic<std::uint64_t> fallback_not_accepted_{0};
    std::unique_ptr<worker[]> workers_;
};

}  // namespace airlock::platform
