// SPDX-License-Identifier: Apache-2.0
#pragma once
// bench/support.hh: what every airlock-bench subcommand shares.
//
// Options common to all subcommands (--cpus, --reps, --seconds, --json),
// thread pinning, a start gate that gives all threads of a repetition one
// start time, a back-off for spin loops, interleaved repetitions with their
// medians, an aligned shared region, and the JSON-line and table printers.
// Timing is plain std::chrono::steady_clock; there is no benchmark framework.
//
// Thread contract: the runner and the printers are used from the main
// thread; `start_gate`, `backoff` and `pin_to_cpu` from the benchmark
// threads, each on its own objects except the gate, which all share.
// Memory ordering: the gate publishes its start time with a release store
// that every thread reads with acquire.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "airlock/ring/region.hh"
#include "airlock/ring/wait.hh"

namespace CLI {
class App;  // <CLI/CLI.hpp>, in the files that build the command line only
}  // namespace CLI

namespace airlock::bench {

using clock = std::chrono::steady_clock;

// Options every subcommand takes.
struct common_options {
    // CPUs to pin threads to, in role order (see each subcommand); empty: no pinning.
    std::vector<int> cpus{0, 1};
    int reps = 7;          // interleaved rounds; each figure is a median over them
    double seconds = 0.2;  // length of one repetition
    bool json = false;     // one JSON object per line instead of a table
};

// Adds --cpus, --reps, --seconds and --json to `sub`.
void add_common_options(CLI::App& sub, common_options& options);

// Adds --sizes (message sizes in bytes) to `sub`.
void add_sizes_option(CLI::App& sub, std::vector<std::size_t>& sizes);

// The CPU for thread role `role`: cpus[role % cpus.size()], or -1 (no
// pinning) when `cpus` is empty.
[[nodiscard]] int cpu_for(const std::vector<int>& cpus, std::size_t role);

// Pins the calling thread to `cpu` (-1: leave it alone). Exits with a message
// if the CPU does not exist.
void pin_to_cpu(int cpu);

// "model name" from /proc/cpuinfo, or "unknown".
[[nodiscard]] std::string cpu_model();

// `start_gate` releases `threads` threads together and gives them one start
// time, taken by the last to arrive.
class start_gate {
  public:
    explicit start_gate(int threads) : threads_(threads) {}
    // Blocks (spinning) until every thread arrived; returns the start time.
    clock::time_point arrive_and_wait() noexcept;

  private:
    int threads_;
    alignas(128) std::atomic<int> arrived_{0};
    alignas(128) std::atomic<bool> open_{false};
    clock::time_point start_{};  // written before open_ (release), read after (acquire)
};

// `backoff` is the wait of every spin loop in airlock-bench, the same for
// every implementation: a pause per failed attempt and, every 1024 failures
// in a row, a yield (so oversubscribed CPUs still make progress).
class backoff {
  public:
    void pause() noexcept {
        if (++failures_ % 1024 == 0) [[unlikely]]
            std::this_thread::yield();
        else
            ring::cpu_relax();
    }
    // After a success: the next failure starts a new run.
    void reset() noexcept { failures_ = 0; }

  private:
    std::uint32_t failures_ = 0;
};

// `isolated<T>` is a T alone on its cache lines. Allocate it on the heap
// (std::make_unique) for every piece of state one benchmark thread writes:
// two threads' private state on one line would add false sharing to the
// figures (two endpoints of a ring never share memory in real use).
template <class T>
struct alignas(128) isolated {
    // A constructor, not an aggregate: clang 14 has no parenthesised
    // aggregate initialisation, which std::make_unique needs.
    template <class... A>
    explicit isolated(A&&... args) : value{std::forward<A>(args)...} {}
    T value;
};

// `private_bytes` is a heap buffer of `size` bytes on cache lines of its own.
class private_bytes {
  public:
    explicit private_bytes(std::size_t size);
    ~private_bytes();
    private_bytes(private_bytes&& other) noexcept
        : size_(std::exchange(other.size_, 0)), data_(std::exchange(other.data_, nullptr)) {}
    private_bytes& operator=(private_bytes&&) = delete;
    [[nodiscard]] std::span<std::byte> span() const noexcept { return {data_, size_}; }
    [[nodiscard]] std::byte* data() const noexcept { return data_; }

  private:
    std::size_t size_;
    std::byte* data_;
};

// Runs `work(i)` for i in [0, count) on `count` threads, thread i pinned to
// `cpus[i]` (-1: unpinned), and joins them.
void run_threads(std::size_t count, const std::vector<int>& cpus,
                 const std::function<void(std::size_t)>& work);

// Seconds between two time points.
[[nodiscard]] inline double seconds_between(clock::time_point a, clock::time_point b) noexcept {
    return std::chrono::duration<double>(b - a).count();
}

// The check every benchmark makes of the bytes it moved, the same in every
// mode: the wrapping sum of `b` read as little-endian 8-byte words (the last
// one zero-padded). It reads every byte once and costs about one add per
// 8 bytes, so a lost, stale or torn word changes it.
[[nodiscard]] inline std::uint64_t word_sum(std::span<const std::byte> b) noexcept {
    std::uint64_t sum = 0;
    std::size_t i = 0;
    for (; i + 8 <= b.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, b.data() + i, 8);
        sum += w;
    }
    if (i < b.size()) {
        std::uint64_t w = 0;
        std::memcpy(&w, b.data() + i, b.size() - i);
        sum += w;
    }
    return sum;
}

// Aborts the benchmark with a message (a broken run is never a figure).
[[noreturn]] void fail(const std::string& why);

// ---------------------------------------------------------------------------
// Interleaved repetitions.

// One configuration under test. `run` performs one repetition of
// `seconds` and returns its metrics (always the same number, in the same
// order); `samples` collects them, one vector per repetition.
struct trial {
    std::string impl;
    std::size_t bytes = 0;
    std::function<std::vector<double>(double seconds)> run;
    std::vector<std::vector<double>> samples;
};

// Runs every trial once as a short warm-up, then `options.reps` rounds of
// every trial in turn (A B C A B C ...; odd rounds in reverse order so that
// drift over time hits every trial alike).
void run_interleaved(std::span<trial> trials, const common_options& options);

// Median, minimum and maximum of metric `metric` over a trial's repetitions.
struct summary {
    double median = 0;
    double min = 0;
    double max = 0;
};
[[nodiscard]] summary summarize(const trial& t, std::size_t metric);
// The ratio a / b of metric `metric`, taken round by round (the two ran
// within one round of each other) and summarised over the rounds. A VM whose
// vCPUs move between near and far cores in the middle of a run shifts whole
// rounds; a ratio of the two medians would then compare rounds run in
// different states, the per-round ratio does not.
[[nodiscard]] summary paired_ratio(const trial& a, const trial& b, std::size_t metric);

// The trial for (impl, bytes), or nullptr.
[[nodiscard]] const trial* find_trial(std::span<const trial> trials, const std::string& impl,
                                      std::size_t bytes);

// ---------------------------------------------------------------------------
// Shared memory for Airlock rings.

// `bench_region` owns page-aligned, zeroed, pre-faulted memory formatted as a
// region with the given ring capacities and doorbells.
class bench_region {
  public:
    explicit bench_region(std::vector<std::size_t> ring_capacities, std::size_t doorbells = 0);
    ~bench_region();
    bench_region(const bench_region&) = delete;
    bench_region& operator=(const bench_region&) = delete;
    [[nodiscard]] const ring::region& region() const noexcept { return region_; }

  private:
    std::byte* memory_ = nullptr;
    ring::region region_;
};

// The smallest power of two >= n (and >= wire::min_ring_capacity).
[[nodiscard]] std::size_t ring_capacity_at_least(std::size_t n);

// ---------------------------------------------------------------------------
// Output.

// `json_line` builds one flat JSON object and prints it on one line.
class json_line {
  public:
    json_line& str(const std::string& key, const std::string& value);
    json_line& num(const std::string& key, double value, int decimals = 0);
    json_line& integer(const std::string& key, std::uint64_t value);
    void print(std::FILE* out = stdout) const;

  private:
    std::string text_;
};

// `table` prints rows as aligned columns: text left, numbers right.
class table {
  public:
    explicit table(std::vector<std::string> headers);
    void add_row(std::vector<std::string> cells);
    void print() const;

  private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
};

// Formats a number with thousands separators ("12,345,678").
[[nodiscard]] std::string grouped(double value);
// Formats with `decimals` digits after the point.
[[nodiscard]] std::string fixed(double value, int decimals);

// The environment line: CPU model, CPUs online, pinning, repetitions.
void print_environment(const std::string& bench, const common_options& options);
// A note (a missing peer, a caveat): a JSON object with "note", or a line.
void print_note(const std::string& bench, const common_options& options, const std::string& note);

}  // namespace airlock::bench
