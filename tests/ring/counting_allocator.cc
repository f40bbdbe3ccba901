// SPDX-License-Identifier: Apache-2.0
// The global operator new and delete replacements behind
// counting_allocator.hh: plain malloc underneath, so the sanitizers still see
// every block (the aligned forms keep the library's own implementation).
#include <cstddef>
#include <cstdlib>
#include <new>

#include "ring/counting_allocator.hh"

namespace {
void* counted_alloc(std::size_t n) {
    airlock::test::note_allocation(n);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
}  // namespace
void* operator new(std::size_t n) {
    return counted_alloc(n);
}
void* operator new[](std::size_t n) {
    return counted_alloc(n);
}
// These deletes free what the replaced operator new got from malloc; gcc at
// -O1 inlines a test's new and delete and then mistakes the pair for a
// mismatch (-Wmismatched-new-delete), so the warning is off for them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
