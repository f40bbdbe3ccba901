// SPDX-License-Identifier: Apache-2.0
// Enclave logging: the producer on enclave threads, the drain on the host,
// and the sink they share.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "airlock/platform/log.hh"
#include "log_internal.hh"

namespace airlock::log {
namespace {

std::atomic<sink> g_sink{&stderr_sink};
std::atomic<void*> g_sink_context{nullptr};
std::atomic<level> g_level{level::debug};
std::atomic<bool> g_in_enclave_process{false};
thread_local platform::detail::enclave_logger* tls_logger = nullptr;

const char* name_of(level l) noexcept {
    switch (l) {
        case level::debug:
            return "debug";
        case level::info:
            return "info";
        case level::warning:
            return "warning";
        case level::error:
            return "error";
    }
    return "?";
}

void deliver(const record& r) noexcept {
    if (r.level < g_level.load(std::memory_order_relaxed)) return;
    g_sink.load(std::memory_order_acquire)(g_sink_context.load(std::memory_order_acquire), r);
}

}  // namespace

void set_sink(sink fn, void* context) noexcept {
    g_sink_context.store(context, std::memory_order_release);
    g_sink.store(fn != nullptr ? fn : &stderr_sink, std::memory_order_release);
}

void set_level(level min) noexcept {
    g_level.store(min, std::memory_order_relaxed);
}

void stderr_sink(void*, const record& r) noexcept {
    char line[max_text + 160];
    int n = 0;
    if (r.origin == from_host)
        n = std::snprintf(line, sizeof line, "airlock[host] %s: ", name_of(r.level));
    else
        n = std::snprintf(line, sizeof line,
                          "airlock[enclave %lld] %s: ", static_cast<long long>(r.origin),
                          name_of(r.level));
    if (n < 0) return;
    auto used = static_cast<std::size_t>(n);
    if (r.dropped_before != 0)
        used += static_cast<std::size_t>(
            std::max(0, std::snprintf(line + used, sizeof line - used, "(%llu records dropped) ",
                                      static_cast<unsigned long long>(r.dropped_before))));
    const std::size_t text = std::min(r.text.size(), sizeof line - used - 1);
    std::memcpy(line + used, r.text.data(), text);
    // One record, one line: a newline or another control byte in the text
    // (an enclave's text is whatever its ring held) cannot start a line
    // that looks like another record.
    for (std::size_t i = used; i < used + text; ++i)
        if (static_cast<unsigned char>(line[i]) < 0x20 || line[i] == 0x7f) line[i] = '?';
    used += text;
    line[used++] = '\n';
    (void)!::write(2, line, used);  // one call: lines from threads do not interleave
}

void write(level l, std::string_view text) noexcept {
    if (text.size() > max_text) text = text.substr(0, max_text);
    if (tls_logger != nullptr) {
        tls_logger->write(l, text);
        return;
    }
    // In the enclave process, with no logger (not an enclave thread): a
    // print would be a forbidden system call, so the record goes nowhere.
    if (g_in_enclave_process.load(std::memory_order_relaxed)) return;
    deliver(record{.level = l, .origin = from_host, .text = text});
}

void vwritef(level l, const char* format, std::va_list args) noexcept {
    char buffer[max_text + 1];
    const int n = std::vsnprintf(buffer, sizeof buffer, format, args);
    if (n < 0) return;
    write(l, {buffer, std::min(static_cast<std::size_t>(n), max_text)});
}

void writef(level l, const char* format, ...) noexcept {
    std::va_list args;
    va_start(args, format);
    vwritef(l, format, args);
    va_end(args);
}

std::uint64_t dropped() noexcept {
    return tls_logger != nullptr ? tls_logger->dropped() : 0;
}

}  // namespace airlock::log

namespace airlock::platform::detail {

// A record's payload: the drop count before it (8 bytes), then the text.
// The tag is the level.

enclave_logger::enclave_logger(ring::ring_view ring, std::size_t) noexcept
    : producer_(ring, {}) {  // no hooks: the drain polls, the enclave never rings
    log::tls_logger = this;
}

enclave_logger::~enclave_logger() {
    if (log::tls_logger == this) log::tls_logger = nullptr;
}

void enclave_logger::write(log::level l, std::string_view text) noexcept {
    auto r = producer_.try_reserve(8 + text.size(), static_cast<std::uint16_t>(l));
    if (!r) {  // full (or faulted): dropped, never waited for
        ++dropped_since_;
        ++dropped_total_;
        return;
    }
    std::byte payload[8 + log::max_text];
    std::memcpy(payload, &dropped_since_, 8);
    std::memcpy(payload + 8, text.data(), text.size());
    r->write({payload, 8 + text.size()});
    producer_.commit(*r);
    producer_.publish();
    dropped_since_ = 0;
}

void mark_enclave_process() noexcept {
    log::g_in_enclave_process.store(true, std::memory_order_relaxed);
}

log_drain::log_drain(const ring::region& region, std::size_t first, std::size_t count)
    : faulted_(count, false) {
    consumers_.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        consumers_.emplace_back(region.ring(first + i),
                                ring::consumer_options{{}, 8 + log::max_text});
    thread_ = std::thread([this] { run(); });
}

log_drain::~log_drain() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

bool log_drain::drain_once() noexcept {
    bool any = false;
    for (std::size_t i = 0; i < consumers_.size(); ++i) {
        if (faulted_[i]) continue;
        for (int n = 0; n < 256; ++n) {  // bounded, so one ring cannot starve the others
            auto m = consumers_[i].try_receive();
            if (!m) {
                if (m.error() != errc::ring_empty) {
                    faulted_[i] = true;
                    log::writef(log::level::error, "enclave thread %zu's log ring faulted: %s", i,
                                std::string(to_string(m.error())).c_str());
                }
                break;
            }
            any = true;
            // Everything here came from shared memory: checked before use.
            if (m->bytes.size() < 8 || m->tag > static_cast<std::uint16_t>(log::level::error))
                continue;
            std::uint64_t dropped = 0;
            std::memcpy(&dropped, m->bytes.data(), 8);
            log::deliver(log::record{
                .level = static_cast<log::level>(m->tag),
                .origin = static_cast<std::int64_t>(i),
                .text = {reinterpret_cast<const char*>(m->bytes.data()) + 8, m->bytes.size() - 8},
                .dropped_before = dropped});
        }
    }
    return any;
}

void log_drain::run() noexcept {
    for (;;) {
        if (drain_once()) continue;
        std::unique_lock lock(mutex_);
        if (stopping_) break;
        // Records are not urgent: poll every millisecond while idle, so the
        // enclave never has to ring a doorbell for a log line.
        wake_.wait_for(lock, std::chrono::milliseconds(1));
    }
    (void)drain_once();  // what arrived before the stop
}

}  // namespace airlock::platform::detail
