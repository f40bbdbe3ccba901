// SPDX-License-Identifier: Apache-2.0
// The allocation probe of the rpc fuzz driver (rpc_fuzz_driver.hh): the
// global operator new and delete are replaced, with plain malloc underneath
// so ASan still sees every block, to record the largest single allocation
// while the enclave runs (HOSTILE-INPUTS #19). Out of line in a file of
// their own, so that gcc does not inline them into callers and misreport
// new/free pairs.
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#include "rpc_fuzz_driver.hh"

namespace {
// Atomics: libFuzzer's own threads allocate too.
std::atomic<bool> armed{false};
std::atomic<std::size_t> largest{0};

void* allocate_or_null(std::size_t n) noexcept {
    if (armed.load(std::memory_order_relaxed)) {
        std::size_t seen = largest.load(std::memory_order_relaxed);
        while (n > seen && !largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
        }
    }
    return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

void airlock::fuzz::arm_allocation_probe() noexcept {
    largest.store(0, std::memory_order_relaxed);
    armed.store(true, std::memory_order_relaxed);
}

std::size_t airlock::fuzz::disarm_allocation_probe() noexcept {
    armed.store(false, std::memory_order_relaxed);
    return largest.load(std::memory_order_relaxed);
}

void* operator new(std::size_t n) {
    if (void* p = allocate_or_null(n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    if (void* p = allocate_or_null(n)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    return allocate_or_null(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return allocate_or_null(n);
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
