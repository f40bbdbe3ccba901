// SPDX-License-Identifier: Apache-2.0
#include "airlock/rpc/call_table.hh"

#include <bit>

#include "airlock/base/speculation.hh"

namespace airlock::rpc {

namespace {
constexpr std::uint32_t no_slot = UINT32_MAX;
}  // namespace

unsigned call_table::slot_bits_for(std::size_t capacity) noexcept {
    return capacity <= 1 ? 0u : static_cast<unsigned>(std::bit_width(capacity - 1));
}

call_table::call_table(std::size_t capacity)
    : slots_(capacity),
      slot_bits_(slot_bits_for(capacity)),
      slot_mask_((std::uint64_t{1} << slot_bits_) - 1),
      generation_mask_(~std::uint64_t{0} >> slot_bits_),
      free_head_(0) {
    AIRLOCK_CHECK(capacity >= 1 && capacity < no_slot, "call table capacity out of range");
    for (std::size_t i = 0; i < capacity; ++i)
        slots_[i].next_free = i + 1 < capacity ? static_cast<std::uint32_t>(i + 1) : no_slot;
}

expected<std::uint64_t> call_table::open(call_waiter& w) noexcept {
    if (free_head_ == no_slot) return unexpected(errc::ring_full);
    const std::uint32_t index = free_head_;
    slot& s = slots_[index];
    free_head_ = s.next_free;
    s.waiter = &w;
    ++outstanding_;
    return (s.generation << slot_bits_) | index;
}

std::size_t call_table::find(std::uint64_t id) const noexcept {
    const std::uint64_t index = id & slot_mask_;
    if (index >= slots_.size()) return slots_.size();
    // The reply id is the host's (HOSTILE-INPUTS #9, #12): clamp it, without
    // a branch, before it indexes the table.
    const std::size_t at = index_nospec(index, slots_.size());
    const slot& s = slots_[at];
    if (s.waiter == nullptr || s.generation != (id >> slot_bits_)) return slots_.size();
    return at;
}

void call_table::release(std::size_t index) noexcept {
    slot& s = slots_[index];
    s.waiter = nullptr;
    s.watched = false;
    // Every id handed out for this slot so far is now stale.
    s.generation = (s.generation + 1) & generation_mask_;
    s.next_free = free_head_;
    free_head_ = static_cast<std::uint32_t>(index);
    --outstanding_;
}

bool call_table::complete(std::uint64_t id, errc error,
                          std::span<const std::byte> result) noexcept {
    const std::size_t index = find(id);
    if (index == slots_.size()) {
        ++dropped_;
        return false;
    }
    call_waiter* w = slots_[index].waiter;
    release(index);  // before completing: the waiter may open a new call at once
    w->complete(error, result);
    return true;
}

bool call_table::abandon(std::uint64_t id) noexcept {
    const std::size_t index = find(id);
    if (index == slots_.size()) return false;
    release(index);
    return true;
}

void call_table::fail_all(errc error) noexcept {
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        if (call_waiter* w = slots_[i].waiter) {
            release(i);
            w->complete(error, {});
        }
    }
}

std::size_t call_table::sweep(std::uint64_t epoch, std::uint64_t max_age,
                              void (*expired)(void* context, std::uint64_t id) noexcept,
                              void* context) noexcept {
    std::size_t remaining = 0;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
        slot& s = slots_[i];
        if (s.waiter == nullptr || !s.watched) continue;
        if (epoch - s.since < max_age) {
            ++remaining;
            continue;
        }
        call_waiter* w = s.waiter;
        const std::uint64_t id = (s.generation << slot_bits_) | i;
        release(i);  // a reply that comes later is dropped
        expired(context, id);
        w->complete(errc::deadline_exceeded, {});
    }
    return remaining;
}

}  // namespace airlock::rpc
