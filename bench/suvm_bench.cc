// SPDX-License-Identifier: Apache-2.0
// airlock-bench suvm: paging data larger than the enclave memory budget.
//
// Modes, each over data of --factors times the --budget-mib budget:
//   plain     the data in ordinary memory, only where it fits (factor <= 1):
//             what an enclave does when nothing is paged.
//   suvm      the data in a suvm::space whose page cache is the budget, its
//             sealed pages in a backing store of ordinary memory.
//   suvm_direct  rand_8 only: the data in a direct-mode suvm::space
//             (--sub-page-bytes, each size a mode of its own): no page
//             cache; each 8-byte load opens one sealed sub-page from the
//             store, each store also seals it back. Accessed through an
//             s_ptr moved by pointer arithmetic, with load()/store() (a
//             direct space has nothing for `*p` to point into).
//   hw_model  MODELLED hardware EPC paging: the data in ordinary memory and
//             an exact LRU list of the budget's worth of 4 KiB pages; an
//             access to a page not in it costs --swap-cycles TSC cycles
//             (default 40,000, the page-swap cost Eleos measured) of CPU time
//             burnt on this thread, plus a 4 KiB copy of the page (the load),
//             and evicts the least recently used page. Hits cost the LRU
//             bookkeeping (a move to the front), which real hardware does not
//             pay: the model is that much slower than hardware on hits.
// Patterns: rand_8 (an aligned 8-byte word at a random place), rand_4k (a
// random aligned 4 KiB block, copied out or in), seq (the 8-byte words in
// order, wrapping), --patterns picks some; op read or write. One thread,
// pinned to --cpus[0]; with --threads N > 1, N threads (thread i pinned to
// --cpus[i]) run the suvm and suvm_direct modes, each mode on one space at
// once, each thread with its own random seed and sequential start, and the
// rate is their ops per wall-clock second together (a thread waiting for
// another's miss or sub-page burns no CPU, so CPU time would hide the
// wait); `cpu_share` is the threads' mean CPU time per wall-clock second of
// their runs (below 1: the machine did not give each thread a whole CPU),
// and `per_thread_cpu` a thread's ops per CPU-second (mean over threads),
// the figure to hold against a one-thread run's.
// Every figure is the median of interleaved repetitions.
//
// Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), for every mode,
// and the modelled swap burns CPU time: on a shared machine the thread may
// get a small share of a CPU, which would stretch suvm's work (the crypto)
// but not a wall-clock wait. Rates are operations per CPU-second.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "airlock/platform/transition.hh"
#include "airlock/suvm/s_ptr.hh"
#include "airlock/suvm/space.hh"
#include "commands.hh"
#include "support.hh"

namespace airlock::bench {
namespace {

struct suvm_options : common_options {
    suvm_options() {
        reps = 3;
        seconds = 0.05;
    }
    std::size_t budget_mib = 8;
    std::vector<double> factors{0.5, 2, 5};
    std::uint64_t swap_cycles = 40'000;
    std::size_t page_size = 4096;
    std::size_t threads = 1;
    std::vector<std::size_t> sub_pages{256};
    std::vector<std::string> patterns{"rand_8", "rand_4k", "seq"};
};

constexpr std::size_t hw_page = 4096;
const char* const ops[] = {"read", "write"};

// xorshift64*: cheap and the same sequence for every mode.
struct rng {
    std::uint64_t s;
    std::uint64_t next() noexcept {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545F4914F6CDD1DULL;
    }
};

// 64-byte-aligned memory, zeroed and touched so that no mode pays first-touch faults.
struct block {
    explicit block(std::size_t n)
        : size(n), p(static_cast<std::byte*>(std::aligned_alloc(64, (n + 63) / 64 * 64))) {
        if (p == nullptr) fail("out of memory for the data");
        std::memset(p, 1, n);
    }
    ~block() { std::free(p); }
    block(const block&) = delete;
    block& operator=(const block&) = delete;
    std::size_t size;
    std::byte* p;
};

// The calling thread's CPU time in nanoseconds.
std::uint64_t thread_cpu_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// Burns `ns` nanoseconds of this thread's CPU time.
void spin_cpu_ns(std::uint64_t ns) noexcept {
    const std::uint64_t start = thread_cpu_ns();
    while (thread_cpu_ns() - start < ns) {
    }
}

// The modelled hardware: an exact LRU of `capacity` 4 KiB pages.
class epc_model {
  public:
    epc_model(std::size_t pages, std::size_t capacity, std::uint64_t swap_ns, const std::byte* data)
        : prev_(pages, none),
          next_(pages, none),
          in_(pages, 0),
          capacity_(capacity),
          swap_ns_(swap_ns),
          data_(data),
          frame_(hw_page) {}

    void touch(std::uint32_t page) noexcept {
        if (in_[page]) {
            if (head_ == page) return;
            unlink(page);
            push_front(page);
            return;
        }
        if (count_ == capacity_) {
            const std::uint32_t victim = tail_;
            unlink(victim);
            in_[victim] = 0;
            --count_;
        }
        push_front(page);
        in_[page] = 1;
        ++count_;
        ++misses_;
        // The swap: EWB of a victim and ELDU of this page, with their exits
        // and the OS fault, as one modelled cost; then the page's 4 KiB copy.
        spin_cpu_ns(swap_ns_);
        std::memcpy(frame_.data(), data_ + std::size_t{page} * hw_page, hw_page);
        asm volatile("" : : "r"(frame_.data()) : "memory");
    }
    std::uint64_t misses() const noexcept { return misses_; }

  private:
    static constexpr std::uint32_t none = ~0u;
    void unlink(std::uint32_t p) noexcept {
        if (prev_[p] != none)
            next_[prev_[p]] = next_[p];
        else
            head_ = next_[p];
        if (next_[p] != none)
            prev_[next_[p]] = prev_[p];
        else
            tail_ = prev_[p];
    }
    void push_front(std::uint32_t p) noexcept {
        prev_[p] = none;
        next_[p] = head_;
        if (head_ != none) prev_[head_] = p;
        head_ = p;
        if (tail_ == none) tail_ = p;
    }
    std::vector<std::uint32_t> prev_, next_;
    std::vector<std::uint8_t> in_;
    std::size_t capacity_;
    std::size_t count_ = 0;
    std::uint32_t head_ = none, tail_ = none;
    std::uint64_t swap_ns_;  // --swap-cycles at the calibrated TSC rate
    std::uint64_t misses_ = 0;
    const std::byte* data_;
    std::vector<std::byte> frame_;
};

// Everything one data size needs, built once.
struct data_set {
    double factor = 0;
    std::size_t bytes = 0;
    std::unique_ptr<block> plain;  // only when it fits
    std::unique_ptr<block> hw_data;
    std::unique_ptr<epc_model> hw;
    std::unique_ptr<block> store;
    std::unique_ptr<suvm::space> space;
    // Direct-mode spaces, one per --sub-page-bytes, in that order.
    std::vector<std::unique_ptr<block>> direct_stores;
    std::vector<std::unique_ptr<suvm::space>> direct_spaces;
};

// The wall-clock time in nanoseconds (threaded runs: a thread that waits
// for another's miss burns no CPU time, and that wait is what they measure).
std::uint64_t wall_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// Runs `op(i)` in batches of `batch` until `seconds` pass on `now` (this
// thread's CPU time unless told); returns ops per second of it.
template <class Op>
double timed(double seconds, std::size_t batch, Op&& op,
             std::uint64_t (*now)() noexcept = thread_cpu_ns) {
    const std::uint64_t t0 = now();
    const auto budget = static_cast<std::uint64_t>(seconds * 1e9);
    std::uint64_t n = 0;
    std::uint64_t t1;
    for (;;) {
        for (std::size_t i = 0; i < batch; ++i)
            op(n + i);
        n += batch;
        t1 = now();
        if (t1 - t0 >= budget) break;
    }
    return static_cast<double>(n) * 1e9 / static_cast<double>(t1 - t0);
}

// Random 8-byte words through an s_ptr<T> moved by pointer arithmetic,
// `access(p, word)` at each, in batches of `batch`: ops per second of `now`.
template <class T, class Access>
double random_words(suvm::space& s, std::uint64_t words, rng& r, double seconds, std::size_t batch,
                    Access access, std::uint64_t (*now)() noexcept) {
    suvm::s_ptr<T> p(s, 0);
    std::uint64_t at = 0;
    return timed(
        seconds, batch,
        [&](std::uint64_t) {
            const std::uint64_t w = r.next() % words;
            p += static_cast<std::ptrdiff_t>(w - at);
            at = w;
            access(p, w);
        },
        now);
}

// The suvm mode of one (pattern, op): ops per second of `now`. `seed` and
// `start_word` place this thread's accesses (threads start apart).
double suvm_rate(suvm::space& s, std::uint64_t bytes, const std::string& pattern, bool write,
                 double seconds, std::uint64_t seed, std::uint64_t start_word,
                 std::uint64_t (*now)() noexcept) {
    const std::uint64_t words = bytes / 8;
    const std::uint64_t blocks = bytes / 4096;
    rng r{seed};
    std::vector<std::byte> buf(4096, std::byte{7});
    std::uint64_t sink = 0;
    double rate = 0;
    if (pattern == "rand_8") {
        rate =
            write
                ? random_words<std::uint64_t>(
                      s, words, r, seconds, 1024, [](auto& p, std::uint64_t w) { *p = w; }, now)
                : random_words<const std::uint64_t>(
                      s, words, r, seconds, 1024, [&](auto& p, std::uint64_t) { sink += *p; }, now);
    } else if (pattern == "rand_4k") {
        rate = timed(
            seconds, 64,
            [&](std::uint64_t) {
                const std::uint64_t b = r.next() % blocks;
                if (write)
                    (void)s.write(b * 4096, buf);
                else
                    (void)s.read(b * 4096, buf);
            },
            now);
    } else {
        const std::uint64_t start = start_word % words;
        if (write) {
            suvm::s_ptr<std::uint64_t> p(s, start * 8);
            std::uint64_t w = start;
            rate = timed(
                seconds, 4096,
                [&](std::uint64_t) {
                    *p = w;
                    ++p;
                    if (++w == words) {
                        w = 0;
                        p -= static_cast<std::ptrdiff_t>(words);
                    }
                },
                now);
        } else {
            suvm::s_ptr<const std::uint64_t> p(s, start * 8);
            std::uint64_t w = start;
            rate = timed(
                seconds, 4096,
                [&](std::uint64_t) {
                    sink += *p;
                    ++p;
                    if (++w == words) {
                        w = 0;
                        p -= static_cast<std::ptrdiff_t>(words);
                    }
                },
                now);
        }
    }
    if (s.fault() != errc::ok) fail("suvm space faulted: " + std::string(to_string(s.fault())));
    asm volatile("" : : "r"(sink) : "memory");
    return rate;
}

// The suvm_direct mode, rand_8: ops per second of `now`, from `seed`.
double direct_rate(suvm::space& s, std::uint64_t bytes, bool write, double seconds,
                   std::uint64_t seed, std::uint64_t (*now)() noexcept) {
    const std::uint64_t words = bytes / 8;
    rng r{seed};
    std::uint64_t sink = 0;
    // Through load and store: a direct space has no page for * to refer to.
    const double rate =
        write ? random_words<std::uint64_t>(
                    s, words, r, seconds, 256, [](auto& p, std::uint64_t w) { (void)p.store(w); },
                    now)
              : random_words<const std::uint64_t>(
                    s, words, r, seconds, 256,
                    [&](auto& p, std::uint64_t) { sink += p.load().value_or(0); }, now);
    if (s.fault() != errc::ok) fail("suvm space faulted: " + std::string(to_string(s.fault())));
    asm volatile("" : : "r"(sink) : "memory");
    return rate;
}

// "suvm_direct/<sub-page bytes>": the mode's name and its sub-page size.
bool is_direct(const std::string& mode) {
    return mode.rfind("suvm_direct/", 0) == 0;
}
std::size_t direct_sub_page(const std::string& mode) {
    return static_cast<std::size_t>(std::stoul(mode.substr(mode.find('/') + 1)));
}
suvm::space& direct_space(data_set& d, const std::string& mode) {
    for (auto& s : d.direct_spaces)
        if (s->sub_page_bytes() == direct_sub_page(mode)) return *s;
    fail("no direct space for " + mode);
}

// One repetition of (mode, pattern, op) over `d`.
// A read trial of the cached space starts with no dirty page in the cache,
// as a read-only workload runs: the dirty pages the write trials before it
// left behind are sealed now, outside the timed window, not by its first
// evictions. (The hardware model has no clean pages to skip: EWB writes
// back every page it evicts.)
void start_clean(data_set& d, bool write) {
    if (!write && !d.space->flush()) fail("suvm flush");
}

double run_one(data_set& d, const std::string& mode, const std::string& pattern, bool write,
               double seconds) {
    const std::uint64_t words = d.bytes / 8;
    const std::uint64_t blocks = d.bytes / 4096;
    rng r{0x9E3779B97F4A7C15ULL};
    std::vector<std::byte> buf(4096, std::byte{7});
    std::uint64_t sink = 0;
    double rate = 0;

    if (mode == "plain" || mode == "hw_model") {
        std::byte* base = mode == "plain" ? d.plain->p : d.hw_data->p;
        epc_model* hw = mode == "hw_model" ? d.hw.get() : nullptr;
        if (pattern == "rand_8") {
            rate = timed(seconds, 1024, [&](std::uint64_t) {
                const std::uint64_t w = r.next() % words;
                if (hw) hw->touch(static_cast<std::uint32_t>(w * 8 / hw_page));
                auto* p = reinterpret_cast<std::uint64_t*>(base) + w;
                if (write)
                    *p = w;
                else
                    sink += *p;
            });
        } else if (pattern == "rand_4k") {
            rate = timed(seconds, 64, [&](std::uint64_t) {
                const std::uint64_t b = r.next() % blocks;
                if (hw) hw->touch(static_cast<std::uint32_t>(b));
                if (write)
                    std::memcpy(base + b * 4096, buf.data(), 4096);
                else
                    std::memcpy(buf.data(), base + b * 4096, 4096);
            });
        } else {
            std::uint64_t w = 0;
            std::uint32_t last = ~0u;
            rate = timed(seconds, 4096, [&](std::uint64_t) {
                if (hw) {
                    const auto page = static_cast<std::uint32_t>(w * 8 / hw_page);
                    if (page != last) hw->touch(last = page);
                }
                auto* p = reinterpret_cast<std::uint64_t*>(base) + w;
                if (write)
                    *p = w;
                else
                    sink += *p;
                if (++w == words) w = 0;
            });
        }
    } else if (is_direct(mode)) {
        return direct_rate(direct_space(d, mode), d.bytes, write, seconds, r.s, thread_cpu_ns);
    } else {
        start_clean(d, write);
        return suvm_rate(*d.space, d.bytes, pattern, write, seconds, r.s, 0, thread_cpu_ns);
    }
    asm volatile("" : : "r"(sink) : "memory");
    return rate;
}

// `threads` threads on one space at once (--threads > 1: the suvm mode or
// a suvm_direct one), each with its own seed and, for seq, its own start.
// Returns {ops per wall-clock second of all of them together, their mean
// CPU time per wall-clock second, a thread's ops per CPU-second (mean)}.
// Thread 0 makes the accesses of a one-thread run.
std::vector<double> run_threaded(data_set& d, const std::string& mode, const std::string& pattern,
                                 bool write, double seconds, std::size_t threads,
                                 const std::vector<int>& cpus) {
    struct result {
        double rate = 0;
        double cpu_share = 0;
    };
    std::vector<std::unique_ptr<isolated<result>>> results;
    for (std::size_t t = 0; t < threads; ++t)
        results.push_back(std::make_unique<isolated<result>>());
    if (!is_direct(mode)) start_clean(d, write);
    start_gate gate(static_cast<int>(threads));
    run_threads(threads, cpus, [&](std::size_t t) {
        (void)gate.arrive_and_wait();
        const std::uint64_t seed = 0x9E3779B97F4A7C15ULL + t * 0x632BE59BD9B4E019ULL;
        const std::uint64_t c0 = thread_cpu_ns(), w0 = wall_ns();
        const double rate = is_direct(mode) ? direct_rate(direct_space(d, mode), d.bytes, write,
                                                          seconds, seed, wall_ns)
                                            : suvm_rate(*d.space, d.bytes, pattern, write, seconds,
                                                        seed, t * (d.bytes / 8) / threads, wall_ns);
        const std::uint64_t c1 = thread_cpu_ns(), w1 = wall_ns();
        results[t]->value = {rate, static_cast<double>(c1 - c0) / static_cast<double>(w1 - w0)};
    });
    double sum = 0, share = 0, per_cpu = 0;
    for (const auto& r : results) {
        sum += r->value.rate;
        share += r->value.cpu_share;
        // ops / wall over CPU / wall (the same run, but for the few
        // microseconds of setup around the timed loop): ops per CPU-second.
        per_cpu += r->value.rate / r->value.cpu_share;
    }
    const auto n = static_cast<double>(threads);
    return {sum, share / n, per_cpu / n};
}

std::string key(const std::string& mode, double factor, const std::string& pattern,
                const std::string& op) {
    return mode + "|" + fixed(factor, 1) + "|" + pattern + "|" + op;
}

void run_suvm(const suvm_options& o) {
    const std::size_t budget = o.budget_mib << 20;
    pin_to_cpu(cpu_for(o.cpus, 0));
    const auto swap_ns = static_cast<std::uint64_t>(
        platform::tsc_clock::calibrated().cycles_to_ns(static_cast<double>(o.swap_cycles)));
    std::vector<std::unique_ptr<data_set>> sets;
    for (double f : o.factors) {
        auto d = std::make_unique<data_set>();
        d->factor = f;
        d->bytes = static_cast<std::size_t>(f * static_cast<double>(budget)) / hw_page * hw_page;
        if (d->bytes < hw_page) fail("--factors too small for the budget");
        if (f <= 1.0) d->plain = std::make_unique<block>(d->bytes);
        d->hw_data = std::make_unique<block>(d->bytes);
        d->hw = std::make_unique<epc_model>(d->bytes / hw_page, budget / hw_page, swap_ns,
                                            d->hw_data->p);
        suvm::space_options so;
        so.size = d->bytes;
        so.page_size = o.page_size;
        so.cache_bytes = budget;
        auto need = suvm::space::store_size(so);
        if (!need) fail("bad suvm options");
        d->store = std::make_unique<block>(*need);
        auto s = suvm::space::create(so, {d->store->p, *need});
        if (!s) fail("suvm::space::create: " + std::string(to_string(s.error())));
        d->space = std::move(*s);
        // Every page written once, so that reads decrypt real pages.
        if (!d->space->fill(0, std::byte{1}, d->bytes)) fail("suvm fill");
        for (std::size_t sub : o.sub_pages) {
            auto ds = so;
            ds.sub_page_bytes = sub;
            auto dneed = suvm::space::store_size(ds);
            if (!dneed) fail("bad --sub-page-bytes");
            d->direct_stores.push_back(std::make_unique<block>(*dneed));
            auto dsp = suvm::space::create(ds, {d->direct_stores.back()->p, *dneed});
            if (!dsp) fail("suvm::space::create (direct): " + std::string(to_string(dsp.error())));
            // Every sub-page sealed once, so that reads open real sub-pages.
            if (!(*dsp)->fill(0, std::byte{1}, d->bytes)) fail("suvm direct fill");
            d->direct_spaces.push_back(std::move(*dsp));
        }
        sets.push_back(std::move(d));
    }

    for (const std::string& p : o.patterns)
        if (p != "rand_8" && p != "rand_4k" && p != "seq") fail("unknown pattern " + p);
    std::vector<std::string> modes{"plain", "suvm", "hw_model"};
    for (std::size_t sub : o.sub_pages)
        modes.push_back("suvm_direct/" + std::to_string(sub));
    std::vector<trial> trials;
    for (auto& d : sets)
        for (const std::string& pattern : o.patterns)
            for (const char* op : ops)
                for (const std::string& mode : modes) {
                    if (mode == "plain" && !d->plain) continue;
                    if (is_direct(mode) && pattern != "rand_8") continue;
                    // The plain and hw_model modes are one thread's.
                    if (o.threads > 1 && (mode == "plain" || mode == "hw_model")) continue;
                    data_set* ds = d.get();
                    const std::string m = mode, p = pattern, w = op;
                    trials.push_back({key(m, ds->factor, p, w),
                                      0,
                                      [ds, m, p, w, &o](double secs) {
                                          if (o.threads > 1)
                                              return run_threaded(*ds, m, p, w == "write", secs,
                                                                  o.threads, o.cpus);
                                          return std::vector<double>{
                                              run_one(*ds, m, p, w == "write", secs)};
                                      },
                                      {}});
                }

    print_environment("suvm", o);
    print_note(
        "suvm", o,
        "budget " + std::to_string(o.budget_mib) + " MiB; suvm page " +
            std::to_string(o.page_size) + " B, cipher " +
            (sets.front()->space->cipher_in_use() == suvm::cipher::aes256gcm
                 ? "aes256gcm"
                 : "xchacha20poly1305") +
            "; hw_model: " + std::to_string(o.swap_cycles) + " TSC cycles (" +
            std::to_string(swap_ns) +
            " ns of CPU) + a 4 KiB copy per miss of an exact LRU over the budget; " +
            "suvm_direct: rand_8 through s_ptr load/store, no cache; " +
            (o.threads > 1 ? std::to_string(o.threads) +
                                 " threads on one space, suvm and suvm_direct only; rates per "
                                 "wall-clock second of all threads together; cpu_share: their mean "
                                 "CPU-seconds per wall-clock second; per_thread_cpu: a thread's "
                                 "ops per CPU-second"
                           : std::string("rates per CPU-second of the thread")));
    run_interleaved(trials, o);

    std::vector<std::string> headers{"data_x_budget", "pattern", "op", "mode",
                                     "ops/s",         "min",     "max"};
    if (o.threads > 1) {
        headers.push_back("cpu_share");
        headers.push_back("per_thread_cpu");
    }
    table out(headers);
    for (const trial& t : trials) {
        // key: mode|factor|pattern|op
        std::vector<std::string> part;
        std::size_t at = 0;
        for (std::size_t bar; (bar = t.impl.find('|', at)) != std::string::npos; at = bar + 1)
            part.push_back(t.impl.substr(at, bar - at));
        part.push_back(t.impl.substr(at));
        const summary rate = summarize(t, 0);
        const double cpu_share = o.threads > 1 ? summarize(t, 1).median : 1.0;
        const double per_thread_cpu = o.threads > 1 ? summarize(t, 2).median : rate.median;
        if (o.json) {
            json_line line;
            line.str("bench", "suvm");
            if (is_direct(part[0]))
                line.str("mode", "suvm_direct").integer("sub_page_bytes", direct_sub_page(part[0]));
            else
                line.str("mode", part[0]);
            line.num("data_x_budget", std::stod(part[1]), 1)
                .str("pattern", part[2])
                .str("op", part[3])
                .integer("threads", o.threads)
                .num("ops_per_sec", rate.median);
            if (o.threads > 1)
                line.num("cpu_share", cpu_share, 2).num("per_thread_cpu", per_thread_cpu);
            line.print();
        } else {
            std::vector<std::string> row{
                part[1],           part[2],          part[3], part[0], grouped(rate.median),
                grouped(rate.min), grouped(rate.max)};
            if (o.threads > 1) {
                row.push_back(fixed(cpu_share, 2));
                row.push_back(grouped(per_thread_cpu));
            }
            out.add_row(row);
        }
    }
    if (!o.json) {
        out.print();
        std::printf("\n");
    }
    for (auto& d : sets)
        for (const std::string& pattern : o.patterns)
            for (const char* op : ops)
                for (const char* peer : {"hw_model", "plain"}) {
                    const trial* a = find_trial(trials, key("suvm", d->factor, pattern, op), 0);
                    const trial* b = find_trial(trials, key(peer, d->factor, pattern, op), 0);
                    if (a == nullptr || b == nullptr) continue;
                    const double ratio = summarize(*a, 0).median / summarize(*b, 0).median;
                    if (o.json)
                        json_line()
                            .str("bench", "suvm")
                            .str("ratio", std::string("suvm/") + peer)
                            .num("data_x_budget", d->factor, 1)
                            .str("pattern", pattern)
                            .str("op", op)
                            .num("value", ratio, 3)
                            .print();
                    else
                        std::printf("suvm/%s at %sx, %s %s: %.2f\n", peer,
                                    fixed(d->factor, 1).c_str(), pattern.c_str(), op, ratio);
                }
    // Direct mode against the cached space and the model (rand_8 only).
    for (auto& d : sets)
        for (const std::string& mode : modes) {
            if (!is_direct(mode)) continue;
            for (const char* op : ops)
                for (const char* peer : {"suvm", "hw_model"}) {
                    const trial* a = find_trial(trials, key(mode, d->factor, "rand_8", op), 0);
                    const trial* b = find_trial(trials, key(peer, d->factor, "rand_8", op), 0);
                    if (a == nullptr || b == nullptr) continue;
                    const double ratio = summarize(*a, 0).median / summarize(*b, 0).median;
                    if (o.json)
                        json_line()
                            .str("bench", "suvm")
                            .str("ratio", std::string("suvm_direct/") + peer)
                            .integer("sub_page_bytes", direct_sub_page(mode))
                            .num("data_x_budget", d->factor, 1)
                            .str("pattern", "rand_8")
                            .str("op", op)
                            .num("value", ratio, 3)
                            .print();
                    else
                        std::printf("%s/%s at %sx, rand_8 %s: %.2f\n", mode.c_str(), peer,
                                    fixed(d->factor, 1).c_str(), op, ratio);
                }
        }
}

}  // namespace

void add_suvm_command(CLI::App& app) {
    auto options = std::make_shared<suvm_options>();
    CLI::App* sub = app.add_subcommand(
        "suvm",
        "Secure paging beyond the enclave budget against plain memory and modelled EPC paging");
    add_common_options(*sub, *options);
    sub->add_option("--budget-mib", options->budget_mib, "Enclave memory budget (the page cache)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
        ->capture_default_str();
    sub->add_option("--factors", options->factors, "Data sizes as multiples of the budget")
        ->capture_default_str();
    sub->add_option("--swap-cycles", options->swap_cycles,
                    "Modelled cost of one hardware page swap, in TSC cycles")
        ->capture_default_str();
    sub->add_option("--page-size", options->page_size, "suvm page size in bytes")
        ->capture_default_str();
    sub->add_option("--sub-page-bytes", options->sub_pages,
                    "Sub-page sizes of the suvm_direct mode (256, 512, 1024), one mode each")
        ->capture_default_str();
    sub->add_option("--patterns", options->patterns, "Access patterns: rand_8, rand_4k, seq")
        ->capture_default_str();
    sub->add_option("--threads", options->threads,
                    "Threads on one space at once (above 1: suvm and suvm_direct modes only, "
                    "wall-clock rates)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
        ->capture_default_str();
    sub->callback([options] { run_suvm(*options); });
}

}  // namespace airlock::bench
