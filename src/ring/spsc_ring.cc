// SPDX-License-Identifier: Apache-2.0
// The slow paths of the SPSC ring: peer-index validation, faults,
// fragmentation and reassembly, and the blocking calls.
#include "airlock/ring/spsc_ring.hh"

#include <algorithm>
#include <cstring>

namespace airlock::ring {

// ============================================================================
// Producer
// ============================================================================

ring_producer::ring_producer(ring_view ring, endpoint_options options) noexcept
    : control_(ring.control),
      data_(ring.data),
      capacity_(ring.capacity),
      mask_(ring.capacity - 1),
      max_payload_(wire::max_record_payload(ring.capacity)),
      stream_chunk_(std::min<std::uint64_t>(max_payload_, stream_chunk)),
      hooks_(options.hooks),
      peer_bell_(options.peer_bell != nullptr ? options.peer_bell : &ring.control->consumer_bell) {
    AIRLOCK_CHECK(ring.control != nullptr && ring.capacity >= wire::min_ring_capacity,
                  "producer needs an attached ring");
}

void ring_producer::set_fault(errc e) noexcept {
    if (fault_ == errc::ok) fault_ = e;
    close_run();  // nothing joins a run once faulted
}

void ring_producer::finish_run() noexcept {
    const std::uint64_t count =
        (tail_ - run_header_ - wire::record_header_bytes) / wire::round_up8(run_length_);
    shared::store_relaxed(data_[(run_header_ & mask_) / 8],
                          wire::encode({run_length_, run_tag_, wire::record_kind::message,
                                        static_cast<std::uint16_t>(count)}));
}

bool ring_producer::refresh_head(std::uint64_t need) noexcept {
    // One snapshot of the consumer's index (HOSTILE-INPUTS #1-3).
    const std::uint64_t head = shared::load_acquire(control_->head);
    if (head % 8 != 0) {
        set_fault(errc::fault_index_misaligned);
        return false;
    }
    // The head may only move forward, and never past what was published.
    const std::uint64_t moved = head - head_cache_;
    if (moved > published_ - head_cache_) {
        set_fault(static_cast<std::int64_t>(moved) < 0 ? errc::fault_head_rewound
                                                       : errc::fault_head_beyond_tail);
        return false;
    }
    head_cache_ = head;
    if (tail_ + need - head_cache_ <= capacity_) return true;
    publish();  // full: let the consumer see everything so it can drain
    return false;
}

bool ring_producer::flush_abort() noexcept {
    abort_pending_ = false;
    auto r = reserve_record(0, 0, wire::record_kind::fragment_abort);
    if (!r) {
        abort_pending_ = true;
        return false;
    }
    commit(*r);
    return true;
}

std::size_t ring_producer::next_record_payload(const outgoing_message& m) const noexcept {
    const std::size_t total = m.bytes_.size();
    if (!m.started_)
        return total <= stream_chunk_ ? total : static_cast<std::size_t>(stream_chunk_);
    return std::min<std::size_t>(total - m.sent_, stream_chunk_);
}

expected<void> ring_producer::try_send(outgoing_message& m) noexcept {
    if (m.done_) return {};
    const std::size_t total = m.bytes_.size();
    if (!m.started_ && total <= stream_chunk_) {
        auto r = try_send(m.tag_, m.bytes_);
        if (r) m.done_ = true;
        return r;
    }
    // Fragments: first (8-byte total + data), middle..., last.
    for (;;) {
        const bool first = !m.started_;
        const std::size_t header = first ? 8 : 0;
        const std::size_t chunk = std::min<std::size_t>(total - m.sent_, stream_chunk_ - header);
        const bool last = !first && m.sent_ + chunk == total;
        const auto kind = first  ? wire::record_kind::fragment_first
                          : last ? wire::record_kind::fragment_last
                                 : wire::record_kind::fragment_middle;
        auto r = reserve_record(header + chunk, m.tag_, kind);
        if (!r) {
            publish();
            return unexpected(r.error());
        }
        if (first) r->write_word(0, total);
        r->write(m.bytes_.subspan(m.sent_, chunk), header);
        commit(*r);
        m.sent_ += chunk;
        m.started_ = true;
        publish();  // streaming: the consumer copies this while we write the next
        if (last) {
            m.done_ = true;
            return {};
        }
        // A first fragment may carry everything but still needs a last one,
        // so that every fragmented message ends with fragment_last.
    }
}

expected<std::size_t> ring_producer::try_send_run(std::uint16_t tag,
                                                  std::span<const std::byte> messages,
                                                  std::size_t message_bytes) noexcept {
    AIRLOCK_CHECK(message_bytes != 0 && messages.size() % message_bytes == 0,
                  "try_send_run needs whole messages of at least one byte");
    if (fault_ != errc::ok) [[unlikely]]
        return unexpected(fault_);
    if (message_bytes > max_payload_) [[unlikely]]
        return unexpected(errc::message_too_large);
    if (abort_pending_ && !flush_abort()) [[unlikely]]
        return unexpected(fault_ != errc::ok ? fault_ : errc::ring_full);
    close_run();
    const std::size_t total = messages.size() / message_bytes;
    const std::uint64_t stride = wire::round_up8(message_bytes);
    const std::byte* src = messages.data();
    std::size_t sent = 0;
    while (sent < total) {
        // One run record: as many messages as are left, at most
        // max_run_count, and no further than the end of the ring (a record
        // never wraps; padding_before moves it to the start when not even
        // one fits before the end).
        const std::uint64_t pad = padding_before(message_bytes);
        const std::uint64_t pos = pad != 0 ? 0 : tail_ & mask_;
        std::uint64_t count =
            std::min<std::uint64_t>({total - sent, wire::max_run_count,
                                     (capacity_ - pos - wire::record_header_bytes) / stride});
        // And as many as there is room for: the cached head first, then
        // one fresh read of the consumer's.
        if (tail_ + pad + wire::run_bytes(message_bytes, count) - head_cache_ > capacity_) {
            (void)refresh_head(pad + wire::run_bytes(message_bytes, count));
            if (fault_ != errc::ok) return unexpected(fault_);
            const std::uint64_t free = capacity_ - (tail_ - head_cache_);
            if (free < pad + wire::record_bytes(message_bytes)) break;
            count = std::min(count, (free - pad - wire::record_header_bytes) / stride);
        }
        if (pad != 0) {
            shared::store_relaxed(
                data_[(tail_ & mask_) / 8],
                wire::encode({static_cast<std::uint32_t>(pad - 8), 0, wire::record_kind::padding}));
            tail_ += pad;
        }
        shared_u64* payload = data_ + pos / 8 + 1;
        if (stride == message_bytes) {
            shared::copy_in(payload, src, count * message_bytes);
        } else {
            for (std::uint64_t i = 0; i < count; ++i)
                shared::copy_in(payload + i * (stride / 8), src + i * message_bytes, message_bytes);
        }
        shared::store_relaxed(
            data_[pos / 8],
            wire::encode({static_cast<std::uint32_t>(message_bytes), tag,
                          wire::record_kind::message, static_cast<std::uint16_t>(count)}));
        tail_ += wire::run_bytes(message_bytes, count);
        src += count * message_bytes;
        sent += count;
    }
    if (sent == 0) return unexpected(errc::ring_full);  // refresh_head has published
    publish();
    return sent;
}

void ring_producer::abandon(outgoing_message& m) noexcept {
    if (m.started_ && !m.done_) {
        abort_pending_ = true;
        if (flush_abort()) publish();
    }
    m.done_ = true;
}

expected<void> ring_producer::wait_for_space(std::size_t payload_bytes, const wait_policy& policy) {
    if (payload_bytes > max_payload_) return unexpected(errc::message_too_large);
    publish();
    auto ready = [&] {
        if (fault_ != errc::ok) return true;
        const std::uint64_t need =
            padding_before(payload_bytes) + wire::record_bytes(payload_bytes);
        if (tail_ + need - head_cache_ <= capacity_) return true;
        return refresh_head(need);
    };
    auto w = wait_until(ready, control_->producer_bell, policy);
    if (fault_ != errc::ok) return unexpected(fault_);
    return w;
}

expected<void> ring_producer::send(std::uint16_t tag, std::span<const std::byte> bytes,
                                   const wait_policy& policy) {
    outgoing_message m(tag, bytes);
    wait_budget budget(policy);  // the timeout bounds the whole send, not each wait
    for (;;) {
        auto r = try_send(m);
        if (r || r.error() != errc::ring_full) return r;
        expected<wait_policy> p = budget.next();
        auto w = p ? wait_for_space(next_record_payload(m), *p) : unexpected(p.error());
        if (!w) {
            abandon(m);
            return w;
        }
    }
}

// ============================================================================
// Consumer
// ============================================================================

ring_consumer::ring_consumer(ring_view ring, consumer_options options)
    : control_(ring.control),
      data_(ring.data),
      capacity_(ring.capacity),
      mask_(ring.capacity - 1),
      max_payload_(wire::max_record_payload(ring.capacity)),
      publish_threshold_(ring.capacity / 4),
      max_message_(options.max_message),
      hooks_(options.hooks),
      peer_bell_(options.peer_bell != nullptr ? options.peer_bell : &ring.control->producer_bell) {
    AIRLOCK_CHECK(ring.control != nullptr && ring.capacity >= wire::min_ring_capacity,
                  "consumer needs an attached ring");
    // One record always fits without growing: the steady state allocates nothing.
    buffer_size_ = static_cast<std::size_t>(max_payload_);
    buffer_ = std::make_unique<std::byte[]>(buffer_size_);
}

unexpected<errc> ring_consumer::fail(errc e) noexcept {
    if (fault_ == errc::ok) fault_ = e;
    run_rest_bytes_ = 0;  // nothing more is read from a faulted ring
    return unexpected(fault_);
}

bool ring_consumer::refresh_tail() noexcept {
    // One snapshot of the producer's index (HOSTILE-INPUTS #1, #2).
    const std::uint64_t tail = shared::load_acquire(control_->tail);
    if (tail == tail_cache_) {
        publish();  // empty: return released space before going idle
        return false;
    }
    if (tail % 8 != 0) {
        (void)fail(errc::fault_index_misaligned);
        return false;
    }
    // Forward only, and never more than a ring ahead of what we consumed.
    if (tail - head_ > capacity_) {
        (void)fail(static_cast<std::int64_t>(tail - tail_cache_) < 0
                       ? errc::fault_tail_rewound
                       : errc::fault_tail_beyond_capacity);
        return false;
    }
    if (tail - head_ < tail_cache_ - head_) {
        (void)fail(errc::fault_tail_rewound);
        return false;
    }
    tail_cache_ = tail;
    return true;
}

expected<record> ring_consumer::peek_slow() noexcept {
    // try_peek has taken the next message of a run already, if there is one.
    if (fault_ != errc::ok) [[unlikely]]
        return unexpected(fault_);
    for (;;) {
        if (head_ == tail_cache_ && !refresh_tail()) [[unlikely]]
            return unexpected(fault_ != errc::ok ? fault_ : errc::ring_empty);
        const std::uint64_t pos = head_ & mask_;
        const std::uint64_t word = shared::load_relaxed(data_[pos / 8]);  // one snapshot
        wire::record_header h;
        if (!wire::decode(word, h)) [[unlikely]]
            return fail(errc::fault_record_header);
        const std::uint64_t size = wire::record_bytes(h.length);
        if (size > tail_cache_ - head_) [[unlikely]]
            return fail(errc::fault_record_length);
        if (h.kind == wire::record_kind::padding) [[unlikely]] {
            // Never at offset 0: no record needs a whole lap of padding,
            // and endless laps of it would keep this loop busy (#18).
            if (pos == 0 || size != capacity_ - pos) return fail(errc::fault_padding);
            advance(size);
            continue;
        }
        if (h.length > max_payload_) [[unlikely]]
            return fail(errc::fault_record_length);
        if (size > capacity_ - pos) [[unlikely]]
            return fail(errc::fault_record_straddles_end);
        record r;
        r.payload_ = data_ + pos / 8 + 1;
        r.end_ = head_ + size;
        r.size_ = h.length;
        r.tag_ = h.tag;
        r.kind_ = h.kind;
        if (h.count > 1) {
            // A run: validate all of it now, from this one snapshot,
            // and keep its shape privately for the messages after the
            // first.
            const std::uint64_t all = wire::run_bytes(h.length, h.count);
            if (all > tail_cache_ - head_) [[unlikely]]
                return fail(errc::fault_record_length);
            if (all > capacity_ - pos) [[unlikely]]
                return fail(errc::fault_record_straddles_end);
            note_run(h);
        }
        return r;
    }
}

std::byte* ring_consumer::reassembly_space(std::size_t bytes) {
    if (bytes > buffer_size_) {
        // Slow path, bounded by the trusted cap checked by the caller.
        const std::size_t grown = std::min(std::max(bytes, buffer_size_ * 2), max_message_);
        auto bigger = std::make_unique<std::byte[]>(grown);
        std::memcpy(bigger.get(), buffer_.get(), static_cast<std::size_t>(assembled_));
        buffer_ = std::move(bigger);
        buffer_size_ = grown;
    }
    return buffer_.get();
}

expected<message> ring_consumer::receive_slow() {
    // Bounded work per call (HOSTILE-INPUTS #18): after a ring's worth of
    // fragments without a whole message, return and let the caller go on.
    const std::uint64_t start = head_;
    for (;;) {
        if (head_ - start >= capacity_) [[unlikely]]
            return unexpected(errc::ring_empty);
        auto r = try_peek();
        if (!r) return unexpected(r.error());
        const std::size_t len = r->size();
        switch (r->kind()) {
            case wire::record_kind::message: {
                if (assembling_) return fail(errc::fault_fragment_sequence);
                if (len > max_message_) return fail(errc::fault_fragment_total);
                std::byte* dst = reassembly_space(len);
                r->copy_to({dst, index_nospec(len, max_message_ + 1)});
                release(*r);
                return message{r->tag(), {dst, len}};
            }
            case wire::record_kind::fragment_first: {
                if (assembling_ || len < 8) return fail(errc::fault_fragment_sequence);
                const std::uint64_t total = r->read_word(0);  // read once, then checked
                if (total > max_message_) return fail(errc::fault_fragment_total);
                if (len - 8 > total) return fail(errc::fault_fragment_sequence);
                assembling_ = true;
                assembling_total_ = total;
                assembling_tag_ = r->tag();
                assembled_ = 0;
                std::byte* dst = reassembly_space(static_cast<std::size_t>(total));
                // Copy the data after the total word: the record copies in
                // words from the payload start, so go through a word-aligned
                // offset of 8. Clamped without a branch too, like every
                // length before a copy: at most a record's payload, which
                // the buffer always holds (it starts at max_payload_ bytes),
                // even while the checks above are mispredicted.
                r->copy_to({dst, index_nospec(len - 8, max_payload_ - 7)}, 8);
                assembled_ = len - 8;
                release(*r);
                break;
            }
            case wire::record_kind::fragment_middle:
            case wire::record_kind::fragment_last: {
                if (!assembling_ || r->tag() != assembling_tag_ ||
                    len > assembling_total_ - assembled_)
                    return fail(errc::fault_fragment_sequence);
                const bool last = r->kind() == wire::record_kind::fragment_last;
                if (last != (assembled_ + len == assembling_total_))
                    return fail(errc::fault_fragment_sequence);
                std::byte* dst = buffer_.get() + assembled_;
                // Clamped without a branch too, like every length before a copy.
                r->copy_to({dst, index_nospec(len, assembling_total_ - assembled_ + 1)});
                assembled_ += len;
                release(*r);
                if (last) {
                    assembling_ = false;
                    return message{assembling_tag_,
                                   {buffer_.get(), static_cast<std::size_t>(assembling_total_)}};
                }
                break;
            }
            case wire::record_kind::fragment_abort:
                if (!assembling_) return fail(errc::fault_fragment_sequence);
                assembling_ = false;
                release(*r);
                break;
            case wire::record_kind::padding:  // try_peek never returns padding
                AIRLOCK_CHECK(false, "padding escaped try_peek");
        }
    }
}

expected<void> ring_consumer::wait_for_data(const wait_policy& policy) {
    auto w = wait_until([&] { return fault_ != errc::ok || has_data(); }, control_->consumer_bell,
                        policy);
    if (fault_ != errc::ok) return unexpected(fault_);
    return w;
}

expected<message> ring_consumer::receive(const wait_policy& policy) {
    // The timeout bounds the whole receive: a peer feeding fragments that
    // complete nothing keeps each wait short, never the call long.
    wait_budget budget(policy);
    for (;;) {
        auto m = try_receive();
        if (m || m.error() != errc::ring_empty) return m;
        expected<wait_policy> p = budget.next();
        if (!p) return unexpected(p.error());
        auto w = wait_for_data(*p);
        if (!w) return unexpected(w.error());
    }
}

}  // namespace airlock::ring
