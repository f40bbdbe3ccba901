// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/rpc/protocol.hh: the rpc protocol's records, an endpoint's options
// and counters.
//
// Messages (record tag, then payload; integers little-endian):
//   call   (tag 1): call id (8 bytes), method id (8 bytes), encoded arguments
//   reply  (tag 2): call id (8 bytes), error code (8 bytes, 0 = ok), encoded result if ok
//   cancel (tag 3): call id (8 bytes): the caller gave up on that call; the
//                   handler's token is cancelled and no reply is sent
//   pooled (tag 4): inner tag (8 bytes: 1 call or 2 reply), offset (8),
//                   length (8): a call or reply whose bytes lie in the
//                   sender's buffer pool (ring/buffer_pool.hh), not in the ring
//   pool return (tag 5): offset (8), length (8): the receiver of a pooled
//                   message is done with its buffer; the sender may reuse it
// Call ids come from each side's own call_table, so the two directions have
// separate id spaces; a cancel names an id of the sender's calls.
//
// Thread contract: constants and plain structs; any thread.

#include <cstddef>
#include <cstdint>

#include "airlock/ring/region.hh"
#include "airlock/ring/wait.hh"

namespace airlock::rpc {

enum class side : std::uint8_t { enclave, host };

// Record tags of the rpc protocol.
inline constexpr std::uint16_t call_tag = 1;
inline constexpr std::uint16_t reply_tag = 2;
inline constexpr std::uint16_t cancel_tag = 3;
inline constexpr std::uint16_t pooled_tag = 4;
inline constexpr std::uint16_t pool_return_tag = 5;
// Bytes before the arguments of a call and before the result of a reply.
inline constexpr std::size_t message_header_bytes = 16;
// Bytes of a cancel record.
inline constexpr std::size_t cancel_message_bytes = 8;
// Bytes of a pooled record and of a pool return record.
inline constexpr std::size_t pooled_message_bytes = 24;
inline constexpr std::size_t pool_return_bytes = 16;

struct endpoint_options {
    std::size_t max_in_flight = 256;                 // calls this side may have outstanding
    std::size_t max_serving = 256;                   // incoming calls whose handlers run at once
    std::size_t max_message = std::size_t{1} << 21;  // trusted cap on a received message
    std::size_t poll_budget = 64;                    // messages handled per poll
    // The default deadline of a call made without one of its own
    // (call_operation::with_deadline/with_timeout): such a call ends with
    // deadline_exceeded between this and 1.25 times this after it was made,
    // as an explicit deadline does (the peer is told, a late reply is
    // dropped). Checked by one sweep of the waiting calls every quarter of
    // it, not a timer per call. 0 turns it off: calls then wait as long as
    // the peer takes.
    std::uint64_t default_call_timeout_ns = 30'000'000'000;
    // Messages (calls and replies, encoded) of at least this many bytes go
    // through the sender's buffer pool when the channel has one
    // (endpoint_wiring::out_pool): written there once, announced by a
    // 24-byte record. Smaller ones, and any when the pool has no room, go
    // through the ring. Chosen by measurement (docs/benchmarks.md).
    std::size_t pool_threshold = std::size_t{8} << 10;
    // The host side only: a message (call or reply, encoded) larger than
    // this streams through the ring instead of the pool when the enclave
    // has nothing else of the host's to read (no pool buffer out, the ring
    // drained). The enclave copies a pooled message into private memory
    // only once all of it is written, but a streamed one fragment by
    // fragment while the host writes the next; with more of the host's
    // messages waiting, the pool overlaps them already (the enclave copies
    // one while the host writes the next). The host reads the enclave's
    // pool in place, so no cap applies that way. SIZE_MAX: no cap.
    // Chosen by measurement (docs/benchmarks.md, "Buffer pools").
    std::size_t host_pool_max = std::size_t{768} << 10;
};

// How the endpoint wakes the other side: the platform's hooks and the
// doorbell the peer's executor parks on.
struct endpoint_wiring {
    ring::wait_hooks* hooks = nullptr;
    ring::wire::doorbell* peer_bell = nullptr;
    // The buffer pool this side sends large messages through, and the one
    // the peer sends through (ring/buffer_pool.hh); size 0: none.
    ring::pool_view out_pool{};
    ring::pool_view in_pool{};
};

struct endpoint_stats {
    std::uint64_t calls_sent = 0;
    std::uint64_t replies_received = 0;
    std::uint64_t calls_served = 0;
    std::uint64_t replies_dropped = 0;   // unknown, stale or duplicate call ids
    std::uint64_t unknown_methods = 0;   // calls for a method not served here
    std::uint64_t malformed = 0;         // messages too short or with an unknown tag
    std::uint64_t overloaded = 0;        // calls refused at max_serving
    std::uint64_t cancels_sent = 0;      // calls this side gave up on after sending them
    std::uint64_t cancels_dropped = 0;   // of those, cancels that found no room to be sent
    std::uint64_t cancels_received = 0;  // handlers cancelled because their caller gave up
    std::uint64_t calls_timed_out = 0;   // calls ended by the default deadline
    std::uint64_t pooled_sent = 0;       // messages sent through the buffer pool
    std::uint64_t pool_fallbacks = 0;    // large messages streamed: the pool cannot hold them
    std::uint64_t pool_capped = 0;  // host messages above host_pool_max streamed to an idle peer
    std::uint64_t pool_waits = 0;   // large messages that waited for the peer to return buffers
    std::uint64_t pooled_received = 0;       // pooled messages received (their buffers returned)
    std::uint64_t pool_returns_dropped = 0;  // returns that found no room to be sent
};

}  // namespace airlock::rpc
