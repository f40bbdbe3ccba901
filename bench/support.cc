// SPDX-License-Identifier: Apache-2.0
#include <CLI/CLI.hpp>

#include "support.hh"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>

namespace airlock::bench {

void add_common_options(CLI::App& sub, common_options& options) {
    sub.add_option("--cpus", options.cpus,
                   "CPUs to pin threads to, comma-separated, in role order (empty: no pinning)")
        ->delimiter(',')
        ->expected(0, 64)
        ->capture_default_str();
    sub.add_option("--reps", options.reps, "Interleaved repetitions; figures are their medians")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    sub.add_option("--seconds", options.seconds, "Seconds per repetition")
        ->check(CLI::Range(0.001, 60.0))
        ->capture_default_str();
    sub.add_flag("--json", options.json, "Print one JSON object per line");
}

void add_sizes_option(CLI::App& sub, std::vector<std::size_t>& sizes) {
    sub.add_option("--sizes", sizes, "Message sizes in bytes, comma-separated")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{8}, std::size_t{1} << 24))
        ->capture_default_str();
}

int cpu_for(const std::vector<int>& cpus, std::size_t role) {
    return cpus.empty() ? -1 : cpus[role % cpus.size()];
}

void pin_to_cpu(int cpu) {
    if (cpu < 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (const int e = pthread_setaffinity_np(pthread_self(), sizeof set, &set); e != 0)
        fail("cannot pin a thread to CPU " + std::to_string(cpu) + ": " + std::strerror(e));
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) {
                const auto start = line.find_first_not_of(' ', colon + 1);
                return start == std::string::npos ? "unknown" : line.substr(start);
            }
        }
    }
    return "unknown";
}

clock::time_point start_gate::arrive_and_wait() noexcept {
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) + 1 == threads_) {
        start_ = clock::now();
        open_.store(true, std::memory_order_release);  // start_ before open_
    } else {
        backoff b;
        while (!open_.load(std::memory_order_acquire))
            b.pause();
    }
    return start_;
}

void run_threads(std::size_t count, const std::vector<int>& cpus,
                 const std::function<void(std::size_t)>& work) {
    std::vector<std::thread> threads;
    threads.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        threads.emplace_back([&, i] {
            pin_to_cpu(i < cpus.size() ? cpus[i] : -1);
            work(i);
        });
    }
    for (auto& t : threads)
        t.join();
}

private_bytes::private_bytes(std::size_t size)
    : size_(size),
      data_(static_cast<std::byte*>(
          ::operator new ((size + 127) / 128 * 128, std::align_val_t{128}))) {
    std::memset(data_, 0, (size + 127) / 128 * 128);
}

private_bytes::~private_bytes() {
    if (data_ != nullptr) ::operator delete (data_, std::align_val_t{128});
}

void fail(const std::string& why) {
    std::fflush(stdout);
    std::fprintf(stderr, "airlock-bench: %s\n", why.c_str());
    std::exit(1);
}

// ---------------------------------------------------------------------------

void run_interleaved(std::span<trial> trials, const common_options& options) {
    const bool progress = isatty(STDERR_FILENO) != 0;
    for (trial& t : trials)
        (void)t.run(std::min(options.seconds, 0.05));  // warm-up, not kept
    for (int round = 0; round < options.reps; ++round) {
        if (progress) std::fprintf(stderr, "\rround %d/%d ", round + 1, options.reps);
        for (std::size_t k = 0; k < trials.size(); ++k) {
            trial& t = trials[round % 2 == 0 ? k : trials.size() - 1 - k];
            t.samples.push_back(t.run(options.seconds));
        }
    }
    if (progress) std::fprintf(stderr, "\r%20s\r", "");
}

summary summarize(const trial& t, std::size_t metric) {
    std::vector<double> v;
    v.reserve(t.samples.size());
    for (const auto& s : t.samples)
        v.push_back(s.at(metric));
    if (v.empty()) return {};
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    const double median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return {median, v.front(), v.back()};
}

summary paired_ratio(const trial& a, const trial& b, std::size_t metric) {
    trial ratios;
    for (std::size_t i = 0; i < std::min(a.samples.size(), b.samples.size()); ++i)
        ratios.samples.push_back({a.samples[i].at(metric) / b.samples[i].at(metric)});
    return summarize(ratios, 0);
}

const trial* find_trial(std::span<const trial> trials, const std::string& impl, std::size_t bytes) {
    for (const trial& t : trials)
        if (t.impl == impl && t.bytes == bytes) return &t;
    return nullptr;
}

// ---------------------------------------------------------------------------

bench_region::bench_region(std::vector<std::size_t> ring_capacities, std::size_t doorbells) {
    const ring::region_geometry geometry{std::move(ring_capacities), doorbells};
    auto size = ring::region::required_size(geometry);
    if (!size) fail("bad ring geometry");
    memory_ = static_cast<std::byte*>(::operator new (*size, std::align_val_t{4096}));
    std::memset(memory_, 0, *size);  // also faults every page in before timing
    auto r = ring::region::format({memory_, *size}, geometry);
    if (!r) fail("cannot format the region");
    region_ = std::move(*r);
}

bench_region::~bench_region() {
    ::operator delete (memory_, std::align_val_t{4096});
}

std::size_t ring_capacity_at_least(std::size_t n) {
    return std::bit_ceil(std::max(n, ring::wire::min_ring_capacity));
}

// ---------------------------------------------------------------------------

namespace {
std::string json_escape(const std::string& s) {
    std::string out;
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}
}  // namespace

json_line& json_line::str(const std::string& key, const std::string& value) {
    text_ += text_.empty() ? "{" : ",";
    text_ += "\"" + json_escape(key) + "\":\"" + json_escape(value) + "\"";
    return *this;
}

json_line& json_line::num(const std::string& key, double value, int decimals) {
    text_ += text_.empty() ? "{" : ",";
    text_ += "\"" + json_escape(key) + "\":";
    text_ += std::isfinite(value) ? fixed(value, decimals) : "null";
    return *this;
}

json_line& json_line::integer(const std::string& key, std::uint64_t value) {
    text_ += text_.empty() ? "{" : ",";
    text_ += "\"" + json_escape(key) + "\":" + std::to_string(value);
    return *this;
}

void json_line::print(std::FILE* out) const {
    std::fprintf(out, "%s}\n", text_.empty() ? "{" : text_.c_str());
}

table::table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void table::add_row(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
}

void table::print() const {
    std::vector<std::size_t> width(headers_.size());
    for (std::size_t c = 0; c < headers_.size(); ++c) {
        width[c] = headers_[c].size();
        for (const auto& row : rows_)
            width[c] = std::max(width[c], row[c].size());
    }
    // A column is numeric (right-aligned) when every cell starts with a digit.
    std::vector<bool> numeric(headers_.size(), true);
    for (const auto& row : rows_)
        for (std::size_t c = 0; c < row.size(); ++c)
            if (!row[c].empty() && (row[c][0] < '0' || row[c][0] > '9')) numeric[c] = false;
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (std::size_t c = 0; c < cells.size(); ++c) {
            const std::size_t pad = width[c] - cells[c].size();
            if (c != 0) out += "  ";
            if (numeric[c])
                out += std::string(pad, ' ') + cells[c];
            else
                out += cells[c] + std::string(c + 1 == cells.size() ? 0 : pad, ' ');
        }
        std::printf("%s\n", out.c_str());
    };
    line(headers_);
    std::vector<std::string> rule;
    for (const std::size_t w : width)
        rule.emplace_back(w, '-');
    line(rule);
    for (const auto& row : rows_)
        line(row);
}

std::string grouped(double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f", value);
    std::string digits = buf;
    std::string out;
    const std::size_t sign = !digits.empty() && digits[0] == '-' ? 1 : 0;
    for (std::size_t i = sign; i < digits.size(); ++i) {
        if (i != sign && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return (sign != 0 ? "-" : "") + out;
}

std::string fixed(double value, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    return buf;
}

void print_environment(const std::string& bench, const common_options& options) {
    std::string cpus;
    for (const int c : options.cpus)
        cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (options.json) {
        json_line()
            .str("bench", bench)
            .str("cpu_model", cpu_model())
            .integer("online_cpus", static_cast<std::uint64_t>(online))
            .str("pinned", cpus.empty() ? "none" : cpus)
            .integer("reps", static_cast<std::uint64_t>(options.reps))
            .num("seconds", options.seconds, 3)
            .print();
    } else {
        std::printf(
            "%s: %s, %ld CPUs online, pinned to %s; median of %d interleaved reps of %.2f s\n",
            bench.c_str(), cpu_model().c_str(), online, cpus.empty() ? "none" : cpus.c_str(),
            options.reps, options.seconds);
    }
}

void print_note(const std::string& bench, const common_options& options, const std::string& note) {
    if (options.json)
        json_line().str("bench", bench).str("note", note).print();
    else
        std::printf("note: %s\n", note.c_str());
}

}  // namespace airlock::bench
