// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/platform/log.hh: logging for enclave code, and one stream with
// the host's logs.
//
// Enclave code cannot print (on `process` a write to stderr is a system
// call the sandbox refuses). `airlock::log::info(...)` and its siblings,
// called on an enclave thread, put one record (level and text) into that
// thread's log ring in the shared region and return: never blocking, never
// a system call. When the ring is full the record is dropped and counted;
// the next record that fits carries the count. A host thread of the enclave
// drains the log rings and hands each record to the sink. On a host thread
// the same calls hand the record to the sink at once, so host and enclave
// logs reach one stream. The host chooses the sink (`set_sink`); the default
// writes one line per record to stderr: "airlock[enclave 0] info: text" or
// "airlock[host] info: text".
//
// Thread contract: any thread may log; set_sink and set_level on the host,
// before logging starts (they are atomic, but a record already in the sink
// finishes there). The sink is called from the drain thread and from host
// threads that log: it must be thread-safe. A record's text is whatever the
// log ring held (the host checks its framing, level and length, not its
// words); the default sink prints control bytes as '?', so one record is
// one line.

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace airlock::log {

enum class level : std::uint8_t { debug = 0, info = 1, warning = 2, error = 3 };

// Where a record comes from: an enclave thread's index, or the host.
inline constexpr std::int64_t from_host = -1;

struct record {
    log::level level = level::info;
    std::int64_t origin = from_host;   // enclave thread index, or from_host
    std::string_view text;             // valid during the sink call only
    std::uint64_t dropped_before = 0;  // this origin's records lost to a full ring before this
};

using sink = void (*)(void* context, const record& r) noexcept;

// The longest text a record carries; longer text is cut.
inline constexpr std::size_t max_text = 1024;

// Host: sends every record to `fn(context, record)` (null: the default
// stderr sink). Records below `min` (set_level) never reach it.
void set_sink(sink fn, void* context = nullptr) noexcept;
void set_level(level min) noexcept;
// The default sink: one line to stderr, written with one call.
void stderr_sink(void* context, const record& r) noexcept;

// Any thread: logs `text` at `l` (enclave thread: into its ring; host: to
// the sink). Never blocks on an enclave thread.
void write(level l, std::string_view text) noexcept;
// printf-style formatting into a private buffer of max_text bytes.
void writef(level l, const char* format, ...) noexcept __attribute__((format(printf, 2, 3)));
void vwritef(level l, const char* format, std::va_list args) noexcept;

#define AIRLOCK_LOG_LEVEL_FN(name)                                                            \
    inline void name(const char* format, ...) noexcept __attribute__((format(printf, 1, 2))); \
    inline void name(const char* format, ...) noexcept {                                      \
        std::va_list args;                                                                    \
        va_start(args, format);                                                               \
        vwritef(level::name, format, args);                                                   \
        va_end(args);                                                                         \
    }
AIRLOCK_LOG_LEVEL_FN(debug)
AIRLOCK_LOG_LEVEL_FN(info)
AIRLOCK_LOG_LEVEL_FN(warning)
AIRLOCK_LOG_LEVEL_FN(error)
#undef AIRLOCK_LOG_LEVEL_FN

// On an enclave thread: records this thread dropped because its ring was
// full, in all (0 on the host).
[[nodiscard]] std::uint64_t dropped() noexcept;

}  // namespace airlock::log
