// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/rpc/call_checks.hh: reading call results in rpc tests.
//
// `error_of(r)` is the error an `expected` holds, or errc::ok when it holds
// a value, so that `EXPECT_EQ(error_of(r), errc::rpc_overloaded)` prints
// both codes by name on failure (PrintTo in ring_test_support.hh).
// `gate` holds coroutine handlers "busy" for as long as a test needs: they
// `co_await g.wait()` until the test calls `g.open()`. No timer is involved,
// so an idle executor cannot end the wait by advancing the manual clock (it
// aborts instead: a gate nobody opens is a test bug, not a hang).
//
// Thread contract: the executor's thread, like everything in rpc tests.

#include <coroutine>
#include <cstddef>
#include <vector>

#include "airlock/async/event.hh"
#include "airlock/async/executor.hh"
#include "airlock/base/expected.hh"
#include "support/ring_test_support.hh"

namespace airlock::test {

template <class T>
errc error_of(const expected<T>& r) {
    return r.has_value() ? errc::ok : r.error();
}

// A gate is an async_event that opens once: waits before open() suspend,
// waits after it pass at once.
class gate {
  public:
    explicit gate(async::executor& /*ex*/) {}
    [[nodiscard("co_await it")]] auto wait() { return event_.wait(); }
    // Resumes every waiter in a later round, in the order they came.
    void open() { event_.set(); }

  private:
    async::async_event event_;
};

}  // namespace airlock::test
