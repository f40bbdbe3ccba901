// SPDX-License-Identifier: Apache-2.0
#include "airlock/base/check.hh"

#include <cstdio>
#include <cstdlib>

namespace airlock::detail {

void check_failed(const char* expr, const char* why, const char* file, int line) noexcept {
    std::fprintf(stderr, "airlock: internal invariant broken at %s:%d: %s (%s)\n", file, line, why,
                 expr);
    std::fflush(stderr);
    std::abort();
}

}  // namespace airlock::detail
