// SPDX-License-Identifier: Apache-2.0
// The global operator new and delete replacements behind allocation_probe.hh:
// plain malloc underneath, so the sanitizers still see every block (the
// aligned forms keep the library's own implementation).
#include <cstddef>
#include <cstdlib>
#include <new>

#include "rpc/allocation_probe.hh"

void* operator new(std::size_t n) {
    airlock::test::note_allocation(n);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
    airlock::test::note_allocation(n);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
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
