// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/rpc/default_deadline_support.hh: helpers shared by the tests of the
// default call deadline (on hostile_host.hh's manual clock).

#include <cstdint>
#include <memory>

#include "rpc/hostile_host.hh"

namespace airlock::test {

inline constexpr std::uint64_t ms = 1'000'000;

template <class T>
errc outcome_error(const std::shared_ptr<outcome<expected<T>>>& out) {
    if (!out->done()) return errc::broken_promise;  // "did not resume"
    return out->value->has_value() ? errc::ok : out->value->error();
}

// Moves the clock in `step`s, settling after each, until `done()` or
// `limit` has passed; returns the time that passed.
template <class Done>
std::uint64_t advance_until(hostile_host& f, std::uint64_t step, std::uint64_t limit, Done done) {
    const std::uint64_t start = f.now();
    f.settle();
    while (!done() && f.now() - start < limit) {
        f.advance(step);
        f.settle();
    }
    return f.now() - start;
}

}  // namespace airlock::test
