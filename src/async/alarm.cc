// SPDX-License-Identifier: Apache-2.0
// alarm: arming and firing an owned callback timer.
#include "airlock/async/alarm.hh"

namespace airlock::async {

void alarm::arm_at(std::uint64_t deadline_ns) {
    executor_->disarm_timer(node_);
    node_.deadline_ns = deadline_ns;
    executor_->arm_timer(node_);
}

void alarm::on_fire(detail::timer_node& n) noexcept {
    alarm& self = *static_cast<node&>(n).owner;
    self.fn_(self.context_);  // may re-arm it
}

}  // namespace airlock::async
