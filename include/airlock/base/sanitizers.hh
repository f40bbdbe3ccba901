// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/base/sanitizers.hh: which sanitizer a translation unit is built
// with, alike on gcc (which defines __SANITIZE_ADDRESS__ and
// __SANITIZE_THREAD__) and clang (which answers __has_feature instead).
//
// AIRLOCK_ASAN and AIRLOCK_TSAN are 1 under AddressSanitizer and
// ThreadSanitizer, else 0: test them with #if, never #ifdef.

#if defined(__SANITIZE_ADDRESS__)
#define AIRLOCK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIRLOCK_ASAN 1
#endif
#endif
#ifndef AIRLOCK_ASAN
#define AIRLOCK_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define AIRLOCK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define AIRLOCK_TSAN 1
#endif
#endif
#ifndef AIRLOCK_TSAN
#define AIRLOCK_TSAN 0
#endif
