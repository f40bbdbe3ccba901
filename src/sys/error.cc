// SPDX-License-Identifier: Apache-2.0
// Printing a sys::error. strerrorname_np and strerrordesc_np read glibc's
// tables: no locale, no system call, so the enclave may print its errors.
#include "airlock/sys/error.hh"

#include <cstring>

namespace airlock::sys {

std::string to_string(const error& e) {
    std::string s(airlock::to_string(e.code));
    if (e.code != errc::sys_errno) return s;
    const char* name = strerrorname_np(e.number);
    const char* desc = strerrordesc_np(e.number);
    s += ' ';
    s += name != nullptr ? std::string(name) : "errno " + std::to_string(e.number);
    if (desc != nullptr) {
        s += " (";
        s += desc;
        s += ')';
    }
    return s;
}

}  // namespace airlock::sys
