// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/ring/fan_in.hh: many producers into one consumer.
//
// `fan_in_consumer` owns one `ring_consumer` per producer (each producer has
// an SPSC ring of its own) and serves them round-robin, one message per ring
// per turn, so no producer can starve another. A ring that faults is set
// aside with its reason and the others go on (DESIGN.md: "other channels go
// on"). All producers ring one shared doorbell, so the consumer can park on
// a single word when every ring is empty.
//
// Why SPSC rings and not one MPSC ring: producers never contend on a shared
// index (no CAS loop, no cache line bounced between producers), each ring is
// validated on its own so a hostile or broken producer faults only its ring,
// and per-producer order is kept by construction. docs/ring.md gives the
// measurement (`airlock-bench fanin`) against an MPSC peer.
//
// Thread contract: one consumer thread; producer i uses ring i from one
// thread, constructed with `endpoint_options::peer_bell = &bell()`.
// Memory ordering: as ring/spsc_ring.hh, per ring.

#include <cstddef>
#include <span>
#include <vector>

#include "airlock/base/expected.hh"
#include "airlock/ring/spsc_ring.hh"

namespace airlock::ring {

// A message from a fan-in, with the index of the ring it came from.
struct fan_in_message {
    std::size_t ring = 0;
    std::uint16_t tag = 0;
    std::span<const std::byte> bytes;
};

class fan_in_consumer {
  public:
    // `rings` are consumed by this object; `bell` is the doorbell every
    // producer rings; `options` apply to every ring (peer_bell is ignored).
    fan_in_consumer(std::span<const ring_view> rings, wire::doorbell& bell,
                    consumer_options options = {});

    // The next message from the next ring with one, in round-robin order.
    // Returns ring_empty when no healthy ring has a message; when every ring
    // has faulted, the first ring's fault.
    [[nodiscard]] expected<fan_in_message> try_receive();
    // Like try_receive, but waits under `policy` (parking on bell()); the
    // timeout bounds the whole receive.
    [[nodiscard]] expected<fan_in_message> receive(const wait_policy& policy);
    // Makes released space visible to every producer now.
    void publish() noexcept;

    [[nodiscard]] std::size_t ring_count() const noexcept { return consumers_.size(); }
    // Rings that have not faulted.
    [[nodiscard]] std::size_t healthy_rings() const noexcept;
    // The fault of ring `i`, or errc::ok.
    [[nodiscard]] errc fault(std::size_t i) const noexcept { return consumers_.at(i).fault(); }
    [[nodiscard]] wire::doorbell& bell() const noexcept { return *bell_; }

  private:
    std::vector<ring_consumer> consumers_;
    wire::doorbell* bell_;
    std::size_t next_ = 0;  // ring to try first
};

}  // namespace airlock::ring
