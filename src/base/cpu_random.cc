// SPDX-License-Identifier: Apache-2.0
// RDRAND inside the enclave (cpu_random.hh).
#include "airlock/base/cpu_random.hh"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace airlock {

namespace {

#if defined(__x86_64__)
// One word from RDRAND; false when the CPU reports no entropy ten times.
bool rdrand64(std::uint64_t& out) noexcept {
    for (int i = 0; i < 10; ++i) {
        unsigned char ok = 0;
        std::uint64_t v = 0;
        asm volatile("rdrand %0; setc %1" : "=r"(v), "=qm"(ok) : : "cc");
        if (ok != 0) {
            out = v;
            return true;
        }
    }
    return false;
}
#endif

}  // namespace

bool cpu_random_available() noexcept {
#if defined(__x86_64__)
    static const bool available = [] {
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
        return (c & bit_RDRND) != 0;
    }();
    return available;
#else
    return false;
#endif
}

bool cpu_random_bytes(std::span<std::byte> out) noexcept {
#if defined(__x86_64__)
    if (!cpu_random_available()) return false;
    while (!out.empty()) {
        std::uint64_t w = 0;
        if (!rdrand64(w)) return false;
        const std::size_t n = out.size() < 8 ? out.size() : 8;
        std::memcpy(out.data(), &w, n);
        out = out.subspan(n);
        // Keys are drawn here: leave no copy on the stack.
        w = 0;
        asm volatile("" : : "r"(&w) : "memory");
    }
    return true;
#else
    (void)out;
    return false;
#endif
}

}  // namespace airlock
