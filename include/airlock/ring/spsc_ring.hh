// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/ring/spsc_ring.hh: the single-producer single-consumer ring of
// variable-size framed records in untrusted shared memory.
//
// `ring_producer` and `ring_consumer` are the two endpoints of one ring
// (see ring/layout.hh for the bytes). Each keeps its own index privately and
// publishes it; each reads the peer's index only when its cached copy runs out
// (cached peer indices), validates it (HOSTILE-INPUTS #1-3) and never reads
// back its own. Publishing is batched: many records may be committed (or
// released) and then made visible with one store. A violation by the peer
// puts the endpoint into a sticky faulted state: every later call returns the
// fault code, nothing is read or written outside the ring.
//
// Messages up to `max_record_payload()` travel as one record; larger ones
// (up to the consumer's trusted cap) as consecutive fragment records that no
// other message interleaves, reassembled by `ring_consumer::try_receive`.
// Small messages (up to `max_run_payload` bytes) of one length and tag that
// are committed one after another between two publishes share one header as
// a run; the consumer hands them out one by one, so a run is invisible above
// the wire format. The bulk verbs hand runs over whole: `try_send_run` writes
// many equal messages from one span with one header per run and one publish,
// `try_peek_run` gives the consumer up to a run's worth of them in one view.
//
// Thread contract: one thread uses the producer, one thread the consumer; a
// second producer or consumer thread on the same ring is undefined (use
// ring/fan_in.hh for many producers). Either side may be the enclave.
// Memory ordering: payload and record headers are written relaxed and
// published by a release store of `tail`, which the consumer reads with
// acquire; released space returns by a release store of `head`, read with
// acquire. Doorbells follow ring/wait.hh.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "airlock/base/expected.hh"
#include "airlock/base/speculation.hh"
#include "airlock/ring/layout.hh"
#include "airlock/ring/record.hh"
#include "airlock/ring/region.hh"
#include "airlock/ring/shared_memory.hh"
#include "airlock/ring/wait.hh"

namespace airlock::ring {

// How an endpoint wakes its peer. `hooks` null: the peer never parks (pure
// spinning), and publishing skips the doorbell fence. `peer_bell` overrides
// the ring's own doorbell (a fan-in consumer parks on one bell for all rings).
struct endpoint_options {
    wait_hooks* hooks = nullptr;
    wire::doorbell* peer_bell = nullptr;
};

struct consumer_options : endpoint_options {
    // The trusted cap on a reassembled message (HOSTILE-INPUTS #19): a
    // fragmented message announcing more is a fault. Memory for reassembly
    // grows on demand up to this cap and is kept for reuse.
    std::size_t max_message = std::size_t{1} << 20;
};

// The largest message the producer joins into a run. Above it a header is
// a small share of the record, and a run's header word would sit many lines
// behind the message that rewrites it.
inline constexpr std::size_t max_run_payload = 256;

// The largest fragment of a streamed message (and the largest message sent
// as one record). A consumer cannot read a record before all of it is
// published, so a 128 KiB record is copied by one core and then by the
// other; in 16 KiB fragments, each published as it is written, the two
// copies overlap. Small enough that the first fragment arrives early, large
// enough that a fragment's header, publish and doorbell check are a small
// share of its copy (airlock-bench calls at 64 KiB and 1 MiB).
inline constexpr std::size_t stream_chunk = 16 * 1024;

// `reservation` is space for one record that `ring_producer::try_reserve`
// handed out: write the payload, then `commit` it. Writes go word by word
// through the shared-memory accessor.
class reservation {
  public:
    // Payload bytes reserved.
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    // Writes `bytes` at payload offset `offset` (a multiple of 8);
    // precondition: offset + bytes.size() <= size(). A trailing partial word
    // is completed with zeros.
    void write(std::span<const std::byte> bytes, std::size_t offset = 0) noexcept {
        AIRLOCK_CHECK(offset % 8 == 0 && offset <= size_ && bytes.size() <= size_ - offset,
                      "reservation write out of bounds");
        shared::copy_in(payload_ + offset / 8, bytes.data(), bytes.size());
    }
    // Writes payload word `index`; precondition: index < ceil(size() / 8).
    void write_word(std::size_t index, std::uint64_t value) noexcept {
        AIRLOCK_CHECK(index < (size_ + 7) / 8, "reservation word out of bounds");
        shared::store_relaxed(payload_[index], value);
    }

  private:
    friend class ring_producer;
    shared_u64* payload_ = nullptr;
    std::uint64_t position_ = 0;  // private tail at which the record starts
    std::uint32_t size_ = 0;
    std::uint16_t tag_ = 0;
    wire::record_kind kind_ = wire::record_kind::message;
    bool joins_run_ = false;  // no header of its own: the next message of the open run
};

// `outgoing_message` is a message of any size on its way out through
// `ring_producer::try_send(outgoing_message&)`, which sends as much as fits
// and remembers where it stopped. The bytes must stay valid until it is done.
class outgoing_message {
  public:
    outgoing_message(std::uint16_t tag, std::span<const std::byte> bytes) noexcept
        : bytes_(bytes), tag_(tag) {}
    [[nodiscard]] bool done() const noexcept { return done_; }
    // Fragments of it are in the ring and more are to come: nothing else
    // may be written into the ring until it is done or abandoned.
    [[nodiscard]] bool in_progress() const noexcept { return started_ && !done_; }

  private:
    friend class ring_producer;
    std::span<const std::byte> bytes_;
    std::size_t sent_ = 0;  // payload bytes already in the ring
    std::uint16_t tag_;
    bool started_ = false;
    bool done_ = false;
};

// `ring_producer` writes records into one ring. Wait-free except `send`.
class ring_producer {
  public:
    ring_producer() = default;
    ring_producer(ring_view ring, endpoint_options options = {}) noexcept;
    // One producer per ring: endpoints move, never copy.
    ring_producer(ring_producer&&) noexcept = default;
    ring_producer& operator=(ring_producer&&) noexcept = default;
    ring_producer(const ring_producer&) = delete;
    ring_producer& operator=(const ring_producer&) = delete;

    // --- zero-copy -----------------------------------------------------
    // Reserves a record of `payload_bytes` bytes with `tag`. Returns
    // ring_full (back-pressure: nothing was lost; committed records have
    // been published so the consumer can drain), message_too_large (above
    // max_record_payload(); use try_send(outgoing_message&)), or the fault.
    // At most one reservation is open: a new one replaces an uncommitted one,
    // and it is committed before the next publish().
    [[nodiscard]] expected<reservation> try_reserve(std::size_t payload_bytes,
                                                    std::uint16_t tag) noexcept {
        // Fast path: the same length and tag as the last committed message,
        // still unpublished, with room right behind it: join its run.
        if (payload_bytes == run_length_ && tag == run_tag_) [[likely]] {
            const std::uint64_t stride = wire::round_up8(payload_bytes);
            if (tail_ + stride <= run_limit_ &&
                (tail_ + stride - head_cache_ <= capacity_ || refresh_head(stride))) [[likely]] {
                reservation r;
                r.payload_ = data_ + (tail_ & mask_) / 8;
                r.position_ = tail_;
                r.size_ = run_length_;
                r.tag_ = tag;
                r.joins_run_ = true;
                return r;
            }
        }
        return reserve_record(payload_bytes, tag, wire::record_kind::message);
    }
    // Makes a reserved record part of the next publish(). Never blocks.
    void commit(const reservation& r) noexcept {
        if (r.joins_run_) {
            // Only private state: the run's header word gets its count when
            // the run closes, before the publish that shows it.
            AIRLOCK_CHECK(r.position_ == tail_ && run_limit_ != 0,
                          "reservation committed after a publish");
            tail_ += wire::round_up8(r.size_);
            if (tail_ >= next_publish_) [[unlikely]]
                publish();
            return;
        }
        close_run();
        shared::store_relaxed(data_[(r.position_ & mask_) / 8],
                              wire::encode({r.size_, r.tag_, r.kind_}));
        tail_ = r.position_ + wire::record_bytes(r.size_);
        if (r.kind_ == wire::record_kind::message && r.size_ != 0 && r.size_ <= max_run_payload) {
            run_header_ = r.position_;  // the next message like it may join
            // Where it must end: after max_run_count messages, and at the
            // end of the ring (a record never wraps).
            run_limit_ = std::min(tail_ + (wire::max_run_count - 1) * wire::round_up8(r.size_),
                                  (r.position_ | mask_) + 1);
            run_length_ = r.size_;
            run_tag_ = r.tag_;
        }
        if (tail_ >= next_publish_) [[unlikely]]
            publish();
    }
    // Makes every committed record visible with one release store, then
    // rings the consumer's doorbell if it may be parked. Closes the open run.
    void publish() noexcept {
        if (tail_ == published_) return;
        close_run();
        shared::store_release(control_->tail, tail_);  // payloads before index
        published_ = tail_;
        if (auto_publish_ != 0) next_publish_ = (tail_ | (auto_publish_ - 1)) + 1;
        ring_doorbell(*peer_bell_, hooks_);
    }
    // Makes commit() publish by itself whenever the committed records reach
    // the next multiple of `bytes` of the ring (a power of two of at least
    // 64, or 0: only publish() publishes, the default). With whole cache
    // lines per publish, the consumer never reads a line that the producer
    // is still filling, so no line moves between the cores twice.
    void auto_publish(std::size_t bytes) noexcept {
        AIRLOCK_CHECK(bytes == 0 || (bytes >= 64 && (bytes & (bytes - 1)) == 0),
                      "auto_publish needs 0 or a power of two of at least 64");
        auto_publish_ = bytes;
        next_publish_ = bytes == 0 ? never : (tail_ | (bytes - 1)) + 1;
    }

    // --- bulk ------------------------------------------------------------
    // Sends as many as fit now of the messages in `messages`, each
    // `message_bytes` long (at least 1; `messages.size()` a multiple of it),
    // as runs (ring/layout.hh) written straight from the span, then
    // publishes once. Returns how many were sent (at least one), ring_full
    // when not one fits (committed records have been published so the
    // consumer can drain), message_too_large above max_record_payload(), or
    // the fault. Closes the open run first.
    [[nodiscard]] expected<std::size_t> try_send_run(std::uint16_t tag,
                                                     std::span<const std::byte> messages,
                                                     std::size_t message_bytes) noexcept;

    // --- copying ---------------------------------------------------------
    // Sends `bytes` as one record and publishes. Same errors as try_reserve.
    [[nodiscard]] expected<void> try_send(std::uint16_t tag,
                                          std::span<const std::byte> bytes) noexcept {
        auto r = try_reserve(bytes.size(), tag);
        if (!r) [[unlikely]]
            return unexpected(r.error());
        r->write(bytes);
        commit(*r);
        publish();
        return {};
    }
    // Sends as much of `m` as fits now, as one record or as fragments, and
    // publishes. Returns success once the whole message is in the ring,
    // ring_full when more remains (call again later), or the fault.
    [[nodiscard]] expected<void> try_send(outgoing_message& m) noexcept;
    // Gives up on a partly sent message: the consumer discards what it got.
    void abandon(outgoing_message& m) noexcept;
    // Sends a message of any size, waiting for space under `policy`, whose
    // timeout bounds the whole send (ring/wait.hh, wait_budget). Returns
    // timed_out if the message is not all in the ring by then (the partial
    // message is then abandoned), or the fault.
    [[nodiscard]] expected<void> send(std::uint16_t tag, std::span<const std::byte> bytes,
                                      const wait_policy& policy);

    // Waits under `policy` until a record of `payload_bytes` fits
    // (message_too_large above max_record_payload()).
    [[nodiscard]] expected<void> wait_for_space(std::size_t payload_bytes,
                                                const wait_policy& policy);

    // True if a record of `payload_bytes` would fit now; re-reads the
    // consumer's head only when the cached one says no. Never blocks.
    [[nodiscard]] bool has_space(std::size_t payload_bytes) noexcept {
        if (fault_ != errc::ok || payload_bytes > max_payload_) return false;
        const std::uint64_t need =
            padding_before(payload_bytes) + wire::record_bytes(payload_bytes);
        return tail_ + need - head_cache_ <= capacity_ || refresh_head(need);
    }

    // True if the consumer has read every record committed so far (none
    // waits in the ring); re-reads its head unless the cached one says so.
    // Never blocks. A hint for the sender's choices, stale at once.
    [[nodiscard]] bool drained() noexcept {
        if (head_cache_ == tail_) return true;
        (void)refresh_head(0);  // validates the head, as for space
        return head_cache_ == tail_;
    }

    // --- state -------------------------------------------------------------
    [[nodiscard]] std::size_t max_record_payload() const noexcept { return max_payload_; }
    // The largest message sent as one record; larger ones stream as
    // fragments of at most this size.
    [[nodiscard]] std::size_t max_single_record() const noexcept { return stream_chunk_; }
    [[nodiscard]] bool faulted() const noexcept { return fault_ != errc::ok; }
    // The sticky fault reason, or errc::ok.
    [[nodiscard]] errc fault() const noexcept { return fault_; }
    // True if this producer writes into `ring`.
    [[nodiscard]] bool is_on(const ring_view& ring) const noexcept {
        return control_ == ring.control;
    }

  private:
    // Ends the open run: writes its header word with the final count (a run
    // of one already has it).
    void close_run() noexcept {
        if (run_limit_ == 0) return;
        // A record that no message joined already has its header.
        if (tail_ - run_header_ > wire::record_bytes(run_length_)) [[unlikely]]
            finish_run();
        run_limit_ = 0;
        run_length_ = no_run_length;
    }
    // Writes the count of a run of two or more. Out of line, so the fast
    // paths keep their registers for the caller.
    [[gnu::noinline]] void finish_run() noexcept;
    [[nodiscard]] expected<reservation> reserve_record(std::size_t payload_bytes, std::uint16_t tag,
                                                       wire::record_kind kind) noexcept {
        if (fault_ != errc::ok) [[unlikely]]
            return unexpected(fault_);
        if (payload_bytes > max_payload_) [[unlikely]]
            return unexpected(errc::message_too_large);
        if (abort_pending_ && !flush_abort()) [[unlikely]]
            return unexpected(fault_ != errc::ok ? fault_ : errc::ring_full);
        const std::uint64_t pad = padding_before(payload_bytes);
        const std::uint64_t need = pad + wire::record_bytes(payload_bytes);
        if (tail_ + need - head_cache_ > capacity_) [[unlikely]] {
            if (!refresh_head(need))
                return unexpected(fault_ != errc::ok ? fault_ : errc::ring_full);
        }
        std::uint64_t pos = tail_ & mask_;
        if (pad != 0) {
            close_run();  // a run is always the last record
            shared::store_relaxed(data_[pos / 8], wire::encode({static_cast<std::uint32_t>(pad - 8),
                                                                0, wire::record_kind::padding}));
            tail_ += pad;
            pos = 0;
        }
        reservation r;
        r.payload_ = data_ + pos / 8 + 1;
        r.position_ = tail_;
        r.size_ = static_cast<std::uint32_t>(payload_bytes);
        r.tag_ = tag;
        r.kind_ = kind;
        return r;
    }
    // Bytes of wrap padding a record of `payload_bytes` needs before it: the
    // rest of the ring when the record would not fit before the end, else 0.
    [[nodiscard]] std::uint64_t padding_before(std::size_t payload_bytes) const noexcept {
        const std::uint64_t to_end = capacity_ - (tail_ & mask_);
        return to_end < wire::record_bytes(payload_bytes) ? to_end : 0;
    }
    // Payload bytes of the next record `m` needs.
    [[nodiscard]] std::size_t next_record_payload(const outgoing_message& m) const noexcept;
    // Slow path: re-reads and validates the consumer's head. Returns true if
    // `need` bytes are now free; publishes pending records when they are not.
    [[gnu::cold]] bool refresh_head(std::uint64_t need) noexcept;
    // Writes the pending fragment_abort record; false if it does not fit yet.
    [[gnu::cold]] bool flush_abort() noexcept;
    [[gnu::cold]] void set_fault(errc e) noexcept;

    // Trusted private copies (never re-read from shared memory).
    wire::ring_control* control_ = nullptr;
    shared_u64* data_ = nullptr;
    std::uint64_t capacity_ = 0;
    std::uint64_t mask_ = 0;
    std::uint64_t max_payload_ = 0;
    std::uint64_t stream_chunk_ = 0;  // min(max_payload_, stream_chunk)
    wait_hooks* hooks_ = nullptr;
    wire::doorbell* peer_bell_ = nullptr;
    // Private indices.
    std::uint64_t tail_ = 0;        // next write position (committed records end here)
    std::uint64_t published_ = 0;   // last tail stored to shared memory
    std::uint64_t head_cache_ = 0;  // last validated consumer head
    // auto_publish(): commit() publishes once tail_ reaches next_publish_.
    static constexpr std::uint64_t never = ~std::uint64_t{0};
    std::uint64_t auto_publish_ = 0;
    std::uint64_t next_publish_ = never;
    // The open run: the last committed record, a message not yet published,
    // that equal messages may join. Private state; the header word in the
    // ring is written (by close_run), never read back.
    std::uint64_t run_header_ = 0;  // private position of its header word
    std::uint64_t run_limit_ = 0;   // the tail_ it may grow to; 0: no run is open
    // No message has this length, so none joins when no run is open.
    static constexpr std::uint32_t no_run_length = ~std::uint32_t{0};
    std::uint32_t run_length_ = no_run_length;
    std::uint16_t run_tag_ = 0;
    errc fault_ = errc::ok;
    bool abort_pending_ = false;
};

// `ring_consumer` reads records from one ring. Wait-free except `receive`.
class ring_consumer {
  public:
    ring_consumer() = default;
    ring_consumer(ring_view ring, consumer_options options = {});
    ring_consumer(ring_consumer&&) noexcept = default;
    ring_consumer& operator=(ring_consumer&&) noexcept = default;
    ring_consumer(const ring_consumer&) = delete;
    ring_consumer& operator=(const ring_consumer&) = delete;

    // --- zero-copy -----------------------------------------------------
    // The next record (padding is skipped; fragments are returned as they
    // are, see record::kind()). Returns ring_empty when there is none (and
    // first publishes released space), or the fault.
    [[nodiscard, gnu::always_inline]] expected<record> try_peek() noexcept {
        // Fast path, inline: the next message of a run, or a message record
        // (a single message or the first of a run) in the cached range.
        // Anything else (padding, fragments, a record that fails a check, an
        // empty cache) goes to peek_slow, which takes its own snapshot of
        // the header and repeats every check.
        // A fault closes the run window (fail()), so in_run() implies healthy.
        if (in_run()) [[likely]]
            return next_in_run();
        wire::record_header h;
        if (fault_ == errc::ok && head_ != tail_cache_ && message_at_head(h)) [[likely]] {
            if (h.count > 1) note_run(h);
            record r;
            r.payload_ = data_ + (head_ & mask_) / 8 + 1;
            r.end_ = head_ + wire::record_bytes(h.length);
            r.size_ = h.length;
            r.tag_ = h.tag;
            return r;
        }
        return peek_slow();
    }
    // Like try_peek, but when the next record is a message of a run, the
    // view holds it and the messages of the run after it, up to
    // `max_messages` (at least 1) in all: the producer's run was validated
    // whole when its header was read. Any other record comes as a run of one.
    [[nodiscard]] expected<record_run> try_peek_run(std::size_t max_messages) noexcept {
        auto first = try_peek();
        if (!first) [[unlikely]]
            return unexpected(first.error());
        record_run run(*first);
        // Positions never repeat, so a message that is not in the run read
        // last is outside this window, however old that run is.
        if (first->end_ - run_next_ < run_rest_bytes_ && max_messages > 1) {
            const std::uint64_t stride = wire::round_up8(run_length_);
            const std::uint64_t left = (run_next_ + run_rest_bytes_ - first->end_) / stride;
            const std::uint64_t more = std::min<std::uint64_t>(left, max_messages - 1);
            run.count_ += more;
        }
        return run;
    }
    // Done with `r` (the record last peeked): its space returns to the
    // producer at the next publish, which happens by itself when a quarter
    // of the ring is pending or the ring is found empty.
    void release(const record& r) noexcept { advance(r.end_ - head_); }
    // Done with every message of `r` (the run last peeked).
    void release(const record_run& r) noexcept { advance(r.end() - head_); }
    // Makes released space visible to the producer now, and rings its
    // doorbell if it may be parked.
    void publish() noexcept {
        if (head_ == published_) return;
        shared::store_release(control_->head, head_);  // our reads before the space returns
        published_ = head_;
        ring_doorbell(*peer_bell_, hooks_);
    }

    // --- copying -----------------------------------------------------------
    // The next whole message, copied (and if fragmented, reassembled) into
    // private memory. Returns ring_empty (a partly received message is kept
    // and completed by later calls; one call consumes at most a ring's worth
    // of records, so a peer feeding endless fragments cannot hold it,
    // HOSTILE-INPUTS #18), or the fault. Do not mix with try_peek inside one
    // fragmented message.
    [[nodiscard]] expected<message> try_receive() {
        // Fast path, inline: the next message of a run, or a message record
        // (a single message or the first of a run). One snapshot of its
        // header decides; anything else (padding, fragments, a record that
        // fails a check) goes to the slow path, which takes its own snapshot
        // and repeats every check, so the header read here is never trusted
        // twice.
        if (fault_ == errc::ok && !assembling_) [[likely]] {
            if (in_run()) {
                // The next message of a run whose header was checked, from
                // one snapshot, when its first message was taken.
                shared::copy_out(buffer_.get(), data_ + (head_ & mask_) / 8, run_length_);
                advance(wire::round_up8(run_length_));
                return message{run_tag_, {buffer_.get(), run_length_}};
            }
            if (head_ == tail_cache_ && !refresh_tail())
                return unexpected(fault_ != errc::ok ? fault_ : errc::ring_empty);
            // The buffer starts at max_payload_ bytes and only grows, so any
            // record that passes fits it.
            wire::record_header h;
            if (message_at_head(h) && h.length <= max_message_) [[likely]] {
                if (h.count > 1) note_run(h);
                // Clamped without a branch too: no copy runs past the record
                // even while the checks above are mispredicted (Spectre v1).
                const std::size_t n = index_nospec(h.length, max_payload_ + 1);
                shared::copy_out(buffer_.get(), data_ + (head_ & mask_) / 8 + 1, n);
                advance(wire::record_bytes(h.length));
                return message{h.tag, {buffer_.get(), h.length}};
            }
        }
        return receive_slow();
    }
    // Like try_receive, but waits under `policy` for the message; the
    // timeout bounds the whole receive, however many records arrive that
    // complete nothing.
    [[nodiscard]] expected<message> receive(const wait_policy& policy);
    // Calls `on_message(message)` for up to `budget` messages, then
    // publishes. Returns how many were handled, or the fault. A per-poll
    // budget keeps a flood from starving other work (HOSTILE-INPUTS #18).
    template <class OnMessage>
    [[nodiscard]] expected<std::size_t> poll(std::size_t budget, OnMessage&& on_message) {
        if (fault_ != errc::ok) [[unlikely]]
            return unexpected(fault_);  // sticky, even for a budget of 0
        std::size_t n = 0;
        for (; n < budget; ++n) {
            auto m = try_receive();
            if (!m) {
                if (m.error() == errc::ring_empty) break;
                return unexpected(m.error());
            }
            on_message(*m);
        }
        publish();
        return n;
    }

    // Waits under `policy` until a record is available (or a fault).
    [[nodiscard]] expected<void> wait_for_data(const wait_policy& policy);

    // --- state -------------------------------------------------------------
    [[nodiscard]] std::size_t max_record_payload() const noexcept { return max_payload_; }
    [[nodiscard]] bool faulted() const noexcept { return fault_ != errc::ok; }
    [[nodiscard]] errc fault() const noexcept { return fault_; }
    // True if this consumer reads from `ring`.
    [[nodiscard]] bool is_on(const ring_view& ring) const noexcept {
        return control_ == ring.control;
    }
    // True if a record is available now (refreshes the producer index).
    [[nodiscard]] bool has_data() noexcept {
        return fault_ == errc::ok && (head_ != tail_cache_ || refresh_tail());
    }
    // True if records are known to be available without reading the
    // producer's index: the next try_receive will not touch it.
    [[nodiscard]] bool has_cached_data() const noexcept {
        return fault_ == errc::ok && head_ != tail_cache_;
    }

  private:
    // True if head_ is at the second or a later message of the run whose
    // header was read last. Positions never repeat (64-bit indices), so an
    // old run's window never matches again.
    [[nodiscard]] bool in_run() const noexcept { return head_ - run_next_ < run_rest_bytes_; }
    // The message at head_ in the current run.
    [[nodiscard]] record next_in_run() const noexcept {
        record r;
        r.payload_ = data_ + (head_ & mask_) / 8;
        r.end_ = head_ + wire::round_up8(run_length_);
        r.size_ = run_length_;
        r.tag_ = run_tag_;
        return r;
    }
    // The fast paths' one check of the record at head_ (in the cached
    // range): decodes one snapshot of its header into `h` and says whether
    // it is a message record (a single message or a run, checked whole:
    // within what was published and before the end of the ring) within the
    // record limit. Anything else is left to the slow paths.
    [[nodiscard]] bool message_at_head(wire::record_header& h) const noexcept {
        const std::uint64_t pos = head_ & mask_;
        if (!wire::decode(shared::load_relaxed(data_[pos / 8]), h) ||
            h.kind != wire::record_kind::message) [[unlikely]]
            return false;
        const std::uint64_t bytes = wire::run_bytes(h.length, h.count);
        return bytes <= tail_cache_ - head_ && bytes <= capacity_ - pos && h.length <= max_payload_;
    }
    // Remembers the shape of the run whose header is at head_, checked.
    void note_run(const wire::record_header& h) noexcept {
        const std::uint64_t stride = wire::round_up8(h.length);
        run_next_ = head_ + wire::record_header_bytes + stride;
        run_rest_bytes_ = (h.count - 1u) * stride;
        run_length_ = h.length;
        run_tag_ = h.tag;
    }
    void advance(std::uint64_t bytes) noexcept {
        head_ += bytes;
        if (head_ - published_ >= publish_threshold_) [[unlikely]]
            publish();
    }
    // Slow path: re-reads and validates the producer's tail. True if new
    // data arrived; publishes released space when it did not.
    [[gnu::cold]] bool refresh_tail() noexcept;
    [[gnu::cold]] unexpected<errc> fail(errc e) noexcept;
    [[nodiscard]] std::byte* reassembly_space(std::size_t bytes);
    // try_peek for everything but its fast path.
    [[nodiscard, gnu::noinline]] expected<record> peek_slow() noexcept;
    // try_receive for everything but a whole record in the cached range.
    [[nodiscard]] expected<message> receive_slow();

    // Trusted private copies.
    wire::ring_control* control_ = nullptr;
    const shared_u64* data_ = nullptr;
    std::uint64_t capacity_ = 0;
    std::uint64_t mask_ = 0;
    std::uint64_t max_payload_ = 0;
    std::uint64_t publish_threshold_ = 0;
    std::size_t max_message_ = 0;
    wait_hooks* hooks_ = nullptr;
    wire::doorbell* peer_bell_ = nullptr;
    // Private indices.
    std::uint64_t head_ = 0;        // next read position
    std::uint64_t published_ = 0;   // last head stored to shared memory
    std::uint64_t tail_cache_ = 0;  // last validated producer tail
    // The run read last: its shape, from its header's one snapshot. Its
    // second and later messages lie in [run_next_, run_next_ + run_rest_bytes_).
    std::uint64_t run_next_ = 0;
    std::uint64_t run_rest_bytes_ = 0;
    std::uint32_t run_length_ = 0;
    std::uint16_t run_tag_ = 0;
    errc fault_ = errc::ok;
    // Reassembly: private buffer, grown on demand up to max_message_.
    std::unique_ptr<std::byte[]> buffer_;
    std::size_t buffer_size_ = 0;
    std::uint64_t assembling_total_ = 0;  // announced size of the message in progress
    std::uint64_t assembled_ = 0;         // bytes of it received
    std::uint16_t assembling_tag_ = 0;
    bool assembling_ = false;
};

}  // namespace airlock::ring
