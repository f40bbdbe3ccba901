// SPDX-License-Identifier: Apache-2.0
// RDRAND inside the enclave (random.hh).
#include "airlock/sys/random.hh"

#include <cpuid.h>

#include <cstring>

namespace airlock::sys {

namespace {

bool cpu_has_rdrand() noexcept {
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(1, &a, &b, &c, &d) == 0) return false;
    return (c & bit_RDRND) != 0;
}

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

}  // namespace

result<void> random_bytes(std::span<std::byte> out) noexcept {
    static const bool available = cpu_has_rdrand();
    if (!available) return fail(errc::platform_unavailable);
    while (!out.empty()) {
        std::uint64_t w = 0;
        if (!rdrand64(w)) return fail(errc::platform_unavailable);
        const std::size_t n = out.size() < 8 ? out.size() : 8;
        std::memcpy(out.data(), &w, n);
        out = out.subspan(n);
    }
    return {};
}

result<std::uint64_t> random_u64() noexcept {
    std::uint64_t v = 0;
    if (auto r = random_bytes(std::as_writable_bytes(std::span(&v, 1))); !r)
        return unexpected(r.error());
    return v;
}

}  // namespace airlock::sys
