// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/rpc/call_table.hh: the outstanding calls of one endpoint.
//
// `call_table` hands out call ids and matches replies to the waiter that
// owns them. An id is (generation << slot_bits | slot): the slot indexes a
// fixed, private array sized from trusted configuration (slot_bits is the
// fewest bits that hold its indices), and the generation, every other bit
// of the id, changes every time the slot is freed. An id is valid twice only
// after 2^(64 - slot_bits) reuses of one slot: 2^56 for the default 256
// slots, centuries at any call rate. A reply whose id names no slot, a free slot,
// or an older generation (a reply for a call never made, already answered,
// timed out or cancelled) is dropped and counted, never delivered
// (HOSTILE-INPUTS #12, #15): the waiter that gave up may already be gone.
//
// A call may be watched by the endpoint's default deadline (rpc/protocol.hh):
// its slot then records the sweep epoch it was made in, and `sweep` fails
// the watched calls that have waited too many epochs with
// deadline_exceeded, the way a reply carrying that error would.
//
// Thread contract: one thread (the endpoint's executor) uses a table.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "airlock/base/error.hh"
#include "airlock/base/expected.hh"

namespace airlock::rpc {

// What a waiting call is told when its reply (or its failure) arrives.
class call_waiter {
  public:
    // `result` is the reply's result bytes in private memory (valid only
    // during the call) when `error == errc::ok`; otherwise empty.
    virtual void complete(errc error, std::span<const std::byte> result) noexcept = 0;

  protected:
    ~call_waiter() = default;
};

class call_table {
  public:
    // A table of `capacity` slots (at least 1, at most 2^32).
    explicit call_table(std::size_t capacity);

    // Registers `w` and returns its call id, or errc::ring_full when every
    // slot is taken (the caller waits for one to free up).
    [[nodiscard]] expected<std::uint64_t> open(call_waiter& w) noexcept;

    // Delivers a reply for `id` to its waiter and frees the slot. Returns
    // false (and counts it) for an id that is not outstanding.
    bool complete(std::uint64_t id, errc error, std::span<const std::byte> result) noexcept;

    // The waiter gives up (deadline, cancellation): frees the slot without
    // calling the waiter. A reply that comes later is dropped. Returns
    // false when `id` was not outstanding.
    bool abandon(std::uint64_t id) noexcept;

    // Fails every outstanding call with `error` (channel faulted).
    void fail_all(errc error) noexcept;

    // Watches the outstanding call `id`, made in sweep epoch `since`.
    // Precondition: `id` is outstanding (just opened by the caller).
    void watch(std::uint64_t id, std::uint64_t since) noexcept {
        slot& s = slots_[id & slot_mask_];
        s.since = since;
        s.watched = true;
    }
    // Completes with deadline_exceeded every watched call made `max_age` or
    // more epochs before `epoch` (frees its slot first, then calls
    // `expired(context, id)`, then its waiter). Returns how many watched
    // calls remain.
    std::size_t sweep(std::uint64_t epoch, std::uint64_t max_age,
                      void (*expired)(void* context, std::uint64_t id) noexcept,
                      void* context) noexcept;

    [[nodiscard]] std::size_t outstanding() const noexcept { return outstanding_; }
    // Calls `f(id)` for every outstanding call.
    template <class F>
    void for_each_outstanding(F&& f) const {
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].waiter != nullptr) f((slots_[i].generation << slot_bits_) | i);
    }
    // The bits of an id that name its slot (the rest are the generation).
    [[nodiscard]] unsigned slot_bits() const noexcept { return slot_bits_; }
    [[nodiscard]] static unsigned slot_bits_for(std::size_t capacity) noexcept;
    [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size(); }
    // Replies dropped because their id was not outstanding.
    [[nodiscard]] std::uint64_t dropped_replies() const noexcept { return dropped_; }

  private:
    struct slot {
        call_waiter* waiter = nullptr;  // null: free
        std::uint64_t generation = 0;   // below 2^(64 - slot_bits)
        std::uint64_t since = 0;        // the sweep epoch a watched call was made in
        std::uint32_t next_free = 0;
        bool watched = false;  // under the default deadline
    };
    // Returns the slot index for a live `id`, or capacity() if none.
    [[nodiscard]] std::size_t find(std::uint64_t id) const noexcept;
    void release(std::size_t index) noexcept;

    std::vector<slot> slots_;
    unsigned slot_bits_;
    std::uint64_t slot_mask_;
    std::uint64_t generation_mask_;
    std::uint32_t free_head_;
    std::size_t outstanding_ = 0;
    std::uint64_t dropped_ = 0;
};

}  // namespace airlock::rpc
