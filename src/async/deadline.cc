// SPDX-License-Identifier: Apache-2.0
// deadline_source: arming, firing and disarming its timer.
#include "airlock/async/deadline.hh"

namespace airlock::async {

deadline_source::deadline_source(executor& ex, std::uint64_t deadline_ns,
                                 const cancellation_token& parent,
                                 const cancellation_token& second_parent)
    : executor_(ex), source_(parent, second_parent) {
    timer_.deadline_ns = deadline_ns;
    timer_.fire = &on_deadline;
    timer_.owner = this;
    if (source_.is_cancellation_requested()) return;  // the parent was cancelled already
    if (ex.now_ns() >= deadline_ns) {
        expired_ = source_.request_cancellation();
        return;
    }
    executor_.arm_timer(timer_);
}

deadline_source::~deadline_source() {
    executor_.disarm_timer(timer_);
}

void deadline_source::on_deadline(detail::timer_node& node) noexcept {
    deadline_source& self = *static_cast<timer&>(node).owner;
    // Only the first request counts: a parent that cancelled first keeps
    // the cause "cancelled".
    self.expired_ = self.source_.request_cancellation();
}

}  // namespace airlock::async
