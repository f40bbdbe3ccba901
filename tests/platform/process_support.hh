// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/platform/process_support.hh: helpers for the process-platform tests.
//
// `process_config` is an enclave_config for the process platform, small
// enough for CI; `sanitized_build` says whether a sanitizer runtime is in
// the binary (its allocator ignores the fixed heap); `readable_in_this_process`
// reads /proc/self/maps to tell whether an address is mapped readable here;
// `platform_name` names a platform for parameterised test names;
// `host_view_of_region` attaches the host's view of an enclave's region.
//
// Thread contract: any thread of the test (host) process.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "airlock/base/sanitizers.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/ring/region.hh"

namespace airlock::test {

inline constexpr bool sanitized_build = AIRLOCK_ASAN || AIRLOCK_TSAN;
inline constexpr bool thread_sanitized_build = AIRLOCK_TSAN;

// Process-platform tests skip under ThreadSanitizer: its runtime does not
// support threads started after a fork of a multi-threaded process (the
// watchdog, the monitor), and it makes system calls outside the sandbox's
// allow-list with signals blocked, which the kernel answers with SIGSYS.
#define AIRLOCK_SKIP_PROCESS_UNDER_TSAN(kind)                                         \
    do {                                                                              \
        if (::airlock::test::thread_sanitized_build &&                                \
            (kind) == ::airlock::platform::platform_kind::process)                    \
            GTEST_SKIP() << "ThreadSanitizer does not support the forked, sandboxed " \
                            "enclave process";                                        \
    } while (false)

inline platform::enclave_config process_config(std::size_t threads = 1) {
    platform::enclave_config config;
    config.platform = platform::platform_kind::process;
    config.enclave_threads = threads;
    config.ring_capacity = std::size_t{1} << 14;
    config.enclave_memory = std::size_t{32} << 20;
    return config;
}

// True when [addr, addr + size) lies in one readable mapping of this process.
inline bool readable_in_this_process(std::uintptr_t addr, std::size_t size) {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        std::istringstream in(line);
        std::uintptr_t begin = 0;
        std::uintptr_t end = 0;
        char dash = 0;
        std::string perms;
        in >> std::hex >> begin >> dash >> end >> perms;
        if (addr >= begin && addr + size <= end) return !perms.empty() && perms[0] == 'r';
    }
    return false;
}

// The host's own view of the region an enclave laid out, attached from its
// mapping and geometry, for tests that play a hostile host on it.
inline expected<ring::region> host_view_of_region(const platform::enclave& e) {
    auto size = ring::region::required_size(e.geometry());
    if (!size) return unexpected(size.error());
    auto* base = static_cast<std::byte*>(const_cast<void*>(e.region_base()));
    return ring::region::attach({base, *size}, e.geometry());
}

inline std::string platform_name(platform::platform_kind k) {
    return k == platform::platform_kind::sim ? "sim" : "process";
}

}  // namespace airlock::test
