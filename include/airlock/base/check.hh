// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/base/check.hh: AIRLOCK_CHECK, the always-on internal invariant check.
//
// AIRLOCK_CHECK(cond, "why") aborts with file, line and the message when an
// invariant of Airlock's *own* state is broken (a bug). It is never used for
// anything the host or a peer controls: hostile input becomes an `errc`
// value and a faulted channel, not an abort (DESIGN.md, trust rules).
//
// Thread contract: any thread, either side. The failure path is cold and
// out of line; the check itself is one predicted branch.

namespace airlock::detail {
[[noreturn, gnu::cold]] void check_failed(const char* expr, const char* why, const char* file,
                                          int line) noexcept;
}  // namespace airlock::detail

#define AIRLOCK_CHECK(cond, why)                                               \
    do {                                                                       \
        if (!(cond)) [[unlikely]]                                              \
            ::airlock::detail::check_failed(#cond, (why), __FILE__, __LINE__); \
    } while (false)

// AIRLOCK_DCHECK(cond, "why"): AIRLOCK_CHECK in debug builds (NDEBUG unset),
// nothing in release builds. For misuse that release builds report as an
// error value instead (a call made on the wrong thread), so a debug build
// stops at the mistake.
#ifdef NDEBUG
#define AIRLOCK_DCHECK(cond, why) \
    do {                          \
    } while (false)
#else
#define AIRLOCK_DCHECK(cond, why) AIRLOCK_CHECK(cond, why)
#endif
