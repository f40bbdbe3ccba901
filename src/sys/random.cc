// SPDX-License-Identifier: Apache-2.0
// RDRAND inside the enclave (random.hh), through base's cpu_random.
#include "airlock/sys/random.hh"

#include "airlock/base/cpu_random.hh"

namespace airlock::sys {

result<void> random_bytes(std::span<std::byte> out) noexcept {
    if (!cpu_random_bytes(out)) return fail(errc::platform_unavailable);
    return {};
}

result<std::uint64_t> random_u64() noexcept {
    std::uint64_t v = 0;
    if (auto r = random_bytes(std::as_writable_bytes(std::span(&v, 1))); !r)
        return unexpected(r.error());
    return v;
}

}  // namespace airlock::sys
