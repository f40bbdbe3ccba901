// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/alarm.hh: a callback timer that an object owns.
//
// `alarm` is one executor timer embedded in its owner (no allocation when
// armed, beyond the executor's timer heap growing past its capacity once):
// armed for a time on the executor's clock, it calls its function once, in
// a round of the executor, when that time has come. It is for machinery
// that needs to wake up now and then whatever the number of things it
// watches (an rpc endpoint's sweep of its waiting calls), where a
// sleep_operation would need a coroutine and a deadline_source a timer per
// watched thing.
//
// Thread contract: the executor's owner thread only. No atomics.

#include <cstdint>

#include "airlock/async/executor.hh"
#include "airlock/async/timer_heap.hh"

namespace airlock::async {

// `alarm` calls `fn(context)` once when the executor's clock reaches the
// time it was armed for. Destroying it disarms it. Not copyable or movable
// (the executor points at it while it is armed).
class alarm {
  public:
    using function = void (*)(void* context) noexcept;
    alarm(executor& ex, function fn, void* context) noexcept
        : executor_(&ex), fn_(fn), context_(context) {
        node_.fire = &on_fire;
        node_.owner = this;
    }
    ~alarm() { disarm(); }
    alarm(const alarm&) = delete;
    alarm& operator=(const alarm&) = delete;

    // Arms it for `deadline_ns` (re-arms it if armed). A time already past
    // fires in the next round. May allocate once (timer heap growth).
    void arm_at(std::uint64_t deadline_ns);
    void disarm() noexcept { executor_->disarm_timer(node_); }
    [[nodiscard]] bool armed() const noexcept { return node_.armed(); }

  private:
    struct node : detail::timer_node {
        alarm* owner = nullptr;
    };
    static void on_fire(detail::timer_node& n) noexcept;

    executor* executor_;
    function fn_;
    void* context_;
    node node_;
};

}  // namespace airlock::async
