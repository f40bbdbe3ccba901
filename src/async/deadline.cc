// SPDX-License-Identifier: Apache-2.0
// deadline_source: arming, firing and disarming its timer.
#include "airlock/async/deadline.hh"

namespace airlock::async {

deadline_source::deadline_source(executor& ex, std::uint64_t deadline_ns, cancellation_token parent)
    : executor_(ex) {
    timer_.deadline_ns = deadline_ns;
    timer_.fire = &on_deadline;
    timer_.owner = this;
    if (ex.now_ns() >= deadline_ns) {
        expired_ = true;
        source_.request_cancellation();
        return;
    }
    if (!parent_registration_.try_register(parent, &on_parent, this) &&
        parent.is_cancellation_requested()) {
        source_.request_cancellation();  // the parent was cancelled already
        return;
    }
    executor_.arm_timer(timer_);
}

deadline_source::~deadline_source() {
    executor_.disarm_timer(timer_);
}

void deadline_source::on_deadline(detail::timer_node& node) noexcept {
    deadline_source& self = *static_cast<timer&>(node).owner;
    self.expired_ = true;
    self.parent_registration_.deregister();
    self.source_.request_cancellation();
}

void deadline_source::on_parent(void* self) noexcept {
    auto& d = *static_cast<deadline_source*>(self);
    d.executor_.disarm_timer(d.timer_);
    d.source_.request_cancellation();
}

}  // namespace airlock::async
