// SPDX-License-Identifier: Apache-2.0
// What every platform shares: the platform named by the environment, the
// channel layout of the region, and enclave::create's dispatch.
#include <pthread.h>
#include <sched.h>

#include <cstdlib>
#include <string_view>

#include "airlock/platform/enclave.hh"
#include "enclave_internal.hh"
#include "log_internal.hh"

// The sanitizer runtimes, if the program linked one: weak references, null
// when it did not. Whether the application is sanitized is decided when it
// runs, not when this library was compiled, so an application built with
// ASan against a library that was not still gets the sanitizer's sandbox.
extern "C" {
void __asan_init() __attribute__((weak));
void __tsan_init() __attribute__((weak));
void __msan_init() __attribute__((weak));
void __hwasan_init() __attribute__((weak));
void __ubsan_handle_builtin_unreachable(void*) __attribute__((weak));
}

namespace airlock::platform {

bool sanitizer_runtime_present() noexcept {
    return __asan_init != nullptr || __tsan_init != nullptr || __msan_init != nullptr ||
           __hwasan_init != nullptr || __ubsan_handle_builtin_unreachable != nullptr;
}

expected<platform_kind> platform_from_environment(platform_kind fallback) {
    const char* name = std::getenv("AIRLOCK_PLATFORM");
    if (name == nullptr || *name == '\0') return fallback;
    const std::string_view n(name);
    if (n == "sim") return platform_kind::sim;
    if (n == "process") return platform_kind::process;
    return unexpected(errc::invalid_argument);
}

ring::region_geometry channel_geometry(std::size_t channels, std::size_t ring_capacity,
                                       std::size_t links_per_channel, std::size_t link_capacity,
                                       std::size_t pool_bytes) {
    ring::region_geometry g;
    g.ring_capacities.assign(2 * channels, ring_capacity);
    // Then each enclave thread's log ring (platform/log.hh), then the links.
    g.ring_capacities.resize(3 * channels, detail::log_ring_capacity);
    g.ring_capacities.resize(3 * channels + 2 * channels * links_per_channel, link_capacity);
    g.doorbells = 2 * channels + channels * links_per_channel * (1 + service_link_words);
    if (pool_bytes != 0) g.pool_sizes.assign(2 * channels, pool_bytes);
    return g;
}

service_link link_view(const ring::region& region, std::size_t channels,
                       std::size_t links_per_channel, std::size_t i, std::size_t l) {
    const std::size_t n = i * links_per_channel + l;
    const std::size_t bell = 2 * channels + n * (1 + service_link_words);
    service_link s;
    s.to_service = region.ring(3 * channels + 2 * n);
    s.from_service = region.ring(3 * channels + 2 * n + 1);
    s.service_bell = &region.doorbell(bell);
    s.enclave_bell = &region.doorbell(enclave_bell(i));
    s.words = &region.doorbell(bell + 1);
    return s;
}

void detail::pin_enclave_thread(const enclave_config& config, std::size_t i) noexcept {
    if (config.cpus.empty()) return;
    const int cpu = config.cpus[i % config.cpus.size()];
    if (cpu < 0 || cpu >= CPU_SETSIZE) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

expected<std::unique_ptr<enclave>> enclave::create(const enclave_config& config,
                                                   enclave_program program) {
    if (program == nullptr) return unexpected(errc::invalid_argument);
    detail::program_entry entry;
    entry.program = reinterpret_cast<detail::program_entry::erased>(program);
    entry.run = [](detail::program_entry::erased p, enclave_thread& thread, void*) {
        reinterpret_cast<enclave_program>(p)(thread);
    };
    return create(config, std::move(entry));
}

expected<std::unique_ptr<enclave>> enclave::create(const enclave_config& config,
                                                   detail::program_entry entry) {
    if (config.enclave_threads == 0 || entry.program == nullptr || entry.run == nullptr ||
        config.untrusted_memory > max_untrusted_memory)
        return unexpected(errc::invalid_argument);
    switch (config.platform) {
        case platform_kind::sim:
            return detail::create_sim_enclave(config, std::move(entry));
        case platform_kind::process:
            return detail::create_process_enclave(config, std::move(entry));
    }
    return unexpected(errc::platform_unavailable);
}

}  // namespace airlock::platform
