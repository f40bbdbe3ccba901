// SPDX-License-Identifier: Apache-2.0
#include "airlock/platform/futex_wait.hh"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>

namespace airlock::platform {
namespace {

// The futex word is the low half of the 8-byte doorbell word.
std::uint32_t* futex_word(ring::shared_u64& word) {
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "futex on the low half");
    return reinterpret_cast<std::uint32_t*>(&word);
}

}  // namespace

void futex_wait_hooks::yield() noexcept {
    sched_yield();
}

void futex_wait_hooks::park(ring::shared_u64& word, std::uint64_t expected,
                            std::uint64_t timeout_ns) noexcept {
    timespec ts{};
    timespec* timeout = nullptr;
    if (timeout_ns != UINT64_MAX) {
        ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
        timeout = &ts;
    }
    // Returns at once if the word no longer holds `expected` (EAGAIN), on a
    // wake-up, a signal or the timeout: the caller re-checks in every case.
    syscall(SYS_futex, futex_word(word), FUTEX_WAIT, static_cast<std::uint32_t>(expected), timeout,
            nullptr, 0);
}

void futex_wait_hooks::unpark(ring::shared_u64& word) noexcept {
    syscall(SYS_futex, futex_word(word), FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
}

std::uint64_t futex_wait_hooks::now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000 +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

futex_wait_hooks& futex_wait_hooks::instance() noexcept {
    static futex_wait_hooks hooks;
    return hooks;
}

}  // namespace airlock::platform
