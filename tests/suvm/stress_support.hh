// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/suvm/stress_support.hh: the frame of the suvm thread stress tests.
// Several threads work on one s_array<std::uint64_t> at once, their elements
// interleaved (thread t owns element i when i % threads == t), so every page
// or sub-page is shared; each keeps a private reference copy of its own
// elements, checks it as it goes, and at the end every element is checked
// against its owner's copy. The test supplies only what one step does.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/region_fixture.hh"
#include "suvm_support.hh"

namespace airlock::suvm::test {

// One step of one thread: element `i` of the array, which is `ref[k]`.
struct stress_step {
    int thread;
    int threads;
    std::uint64_t k;
    std::uint64_t i;
    std::vector<std::uint64_t>& ref;
    std::mt19937_64& rng;
};

// What a step found: nothing wrong, an error from the space, or a value that
// differs from the reference copy.
struct step_outcome {
    enum class kind : std::uint8_t { ok, error, mismatch };
    kind what = kind::ok;
    errc error = errc::ok;
    static step_outcome passed() { return {}; }
    static step_outcome failed(errc e) { return {kind::error, e}; }
    static step_outcome differs() { return {kind::mismatch, errc::ok}; }
};

struct stress_plan {
    const char* name;  // for the watchdog's message
    int threads = 4;
    std::uint64_t ops = 0;   // steps per thread (scaled: stress_ops)
    std::uint64_t seed = 0;  // thread t's generator starts at seed + t
};

// `base` steps at AIRLOCK_STRESS_SCALE 1, at least 2000.
inline std::uint64_t stress_ops(double base) {
    return static_cast<std::uint64_t>(std::max(2000.0, base * airlock::test::stress_scale()));
}

// Runs the threads: thread t calls make_worker(t) once, on itself (a worker
// may hold pins), then calls the worker with a stress_step `plan.ops` times,
// on an element of its own picked at random, stopping at the first outcome
// that is not passed(). Then checks every element and that the space has
// not faulted. `arr` must read as zeros at the start.
template <class MakeWorker>
void run_interleaved_stress(space& s, const s_array<std::uint64_t>& arr, const stress_plan& plan,
                            MakeWorker&& make_worker) {
    const int threads = plan.threads;
    const std::uint64_t elements = arr.size();
    std::atomic<std::uint64_t> progress{0};
    airlock::test::watchdog dog(std::chrono::seconds(240), plan.name, [&] {
        std::fprintf(stderr, "progress %llu\n", static_cast<unsigned long long>(progress.load()));
    });
    std::vector<std::vector<std::uint64_t>> reference(threads);
    std::atomic<int> failures{0};
    std::atomic<int> mismatches{0};
    std::atomic<errc> first_error{errc::ok};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            auto& ref = reference[t];
            ref.assign(elements / threads, 0);
            std::mt19937_64 rng(plan.seed + t);
            auto worker = make_worker(t);
            for (std::uint64_t n = 0; n < plan.ops; ++n) {
                const std::uint64_t k = rng() % ref.size();
                stress_step step{t, threads, k, k * threads + t, ref, rng};
                const step_outcome o = worker(step);
                if (o.what == step_outcome::kind::error) {
                    first_error = o.error;
                    ++failures;
                    return;
                }
                if (o.what == step_outcome::kind::mismatch) {
                    ++mismatches;
                    return;
                }
                progress.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    for (auto& th : pool)
        th.join();
    ASSERT_EQ(failures.load(), 0) << to_string(first_error.load());
    ASSERT_EQ(mismatches.load(), 0) << "a value differed from its thread's reference copy";
    ASSERT_EQ(s.fault(), errc::ok);
    for (std::uint64_t i = 0; i < elements; ++i)
        ASSERT_EQ(arr.load(i).value(), reference[i % threads][i / threads]) << "element " << i;
}

}  // namespace airlock::suvm::test
