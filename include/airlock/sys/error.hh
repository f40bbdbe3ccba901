// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/error.hh: the error a sys call returns, and `sys::result<T>`.
//
// `sys::error` is an `airlock::errc` plus, when the code is
// `errc::sys_errno`, the POSIX errno the host's system call produced, so a
// program can react to ECONNRESET or ENOENT as it would natively. The errno
// has been checked against the call's list before it reaches the caller (a
// number outside it faults the link instead). `to_string` prints both
// ("sys_errno ENOENT (No such file or directory)") without a system call.
//
// Thread contract: plain values; any thread.

#include <string>

#include "airlock/base/error.hh"
#include "airlock/base/expected.hh"

namespace airlock::sys {

struct error {
    errc code = errc::ok;
    int number = 0;  // the errno when code == errc::sys_errno, else 0

    [[nodiscard]] static error from_errno(int e) noexcept { return {errc::sys_errno, e}; }
    // True when the host reported exactly this errno.
    [[nodiscard]] bool is_errno(int e) const noexcept {
        return code == errc::sys_errno && number == e;
    }
    friend bool operator==(const error&, const error&) = default;
};

// `error{code}` from a bare code, for `unexpected(...)` in sys code.
[[nodiscard]] inline unexpected<error> fail(errc code) noexcept {
    return unexpected(error{code, 0});
}

// "sys_errno ECONNREFUSED (Connection refused)", or the code's name.
[[nodiscard]] std::string to_string(const error& e);

template <class T>
using result = expected<T, error>;

}  // namespace airlock::sys
