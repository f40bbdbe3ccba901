// SPDX-License-Identifier: Apache-2.0
#include "airlock/ring/fan_in.hh"

namespace airlock::ring {

fan_in_consumer::fan_in_consumer(std::span<const ring_view> rings, wire::doorbell& bell,
                                 consumer_options options)
    : bell_(&bell) {
    options.peer_bell = nullptr;  // each consumer wakes its own ring's producer
    consumers_.reserve(rings.size());
    for (const ring_view& r : rings)
        consumers_.emplace_back(r, options);
}

expected<fan_in_message> fan_in_consumer::try_receive() {
    const std::size_t n = consumers_.size();
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (next_ + k) % n;
        ring_consumer& c = consumers_[i];
        if (c.faulted()) continue;
        auto m = c.try_receive();
        if (m) {
            next_ = (i + 1) % n;  // the next call starts after the ring just served
            return fan_in_message{i, m->tag, m->bytes};
        }
    }
    if (n != 0 && healthy_rings() == 0) return unexpected(consumers_.front().fault());
    return unexpected(errc::ring_empty);
}

expected<fan_in_message> fan_in_consumer::receive(const wait_policy& policy) {
    wait_budget budget(policy);  // the timeout bounds the whole receive
    for (;;) {
        auto m = try_receive();
        if (m || m.error() != errc::ring_empty) return m;
        auto ready = [&] {
            for (ring_consumer& c : consumers_)
                if (c.has_data()) return true;
            return healthy_rings() == 0;
        };
        expected<wait_policy> p = budget.next();
        if (!p) return unexpected(p.error());
        auto w = wait_until(ready, *bell_, *p);
        if (!w) return unexpected(w.error());
    }
}

std::size_t fan_in_consumer::healthy_rings() const noexcept {
    std::size_t healthy = 0;
    for (const ring_consumer& c : consumers_)
        healthy += c.faulted() ? 0 : 1;
    return healthy;
}

void fan_in_consumer::publish() noexcept {
    for (ring_consumer& c : consumers_)
        c.publish();
}

}  // namespace airlock::ring
