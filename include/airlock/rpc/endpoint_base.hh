// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/rpc/endpoint_base.hh: the side-independent machinery of an endpoint.
//
// `endpoint_base` is one side's end of a channel: the ring it produces into
// and the ring it consumes from, polled by its executor as an async::source.
// It sends with back-pressure (a FIFO of messages waiting for ring space),
// hands call slots to calls waiting for one, dispatches what arrives (calls
// to their handlers, replies to their waiting calls, cancels to the handlers
// whose callers gave up), and turns every violation by the peer into a
// sticky fault that fails each waiting call. A call made without a
// deadline of its own is bounded by the default one
// (endpoint_options::default_call_timeout_ns): one alarm per endpoint
// sweeps the waiting calls every quarter of it and ends those that have
// waited too long with deadline_exceeded. A message of at least
// endpoint_options::pool_threshold bytes goes through the channel's buffer
// pool when it has one (ring/buffer_pool.hh): written there once, announced
// by a pooled record; one that arrives so is copied once into private memory
// before it is decoded (the host reads it in place: it trusts the enclave's
// writes), and its buffer goes back by a pool return record. The host streams
// a message larger than endpoint_options::host_pool_max instead when the
// enclave has nothing else of the host's to read, so that the enclave's copy
// overlaps the host's writing. The typed verbs are
// rpc/endpoint.hh's; a call in flight is rpc/call_operation.hh's.
//
// Thread contract: an endpoint belongs to its executor's thread; every call
// is made and awaited there (a call made or awaited on another thread is
// refused with rpc_wrong_thread, and aborts in debug builds). Memory
// ordering: that of the rings (ring/spsc_ring.hh).

#include <array>
#include <coroutine>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "airlock/async/alarm.hh"
#include "airlock/async/cancellation.hh"
#include "airlock/async/executor.hh"
#include "airlock/async/task.hh"
#include "airlock/base/expected.hh"
#include "airlock/ring/buffer_pool.hh"
#include "airlock/ring/spsc_ring.hh"
#include "airlock/rpc/call_table.hh"
#include "airlock/rpc/codec.hh"
#include "airlock/rpc/protocol.hh"
#include "airlock/rpc/token_watch.hh"
#include "airlock/rpc/waiters.hh"

namespace airlock::rpc {

template <class R>
class call_operation;

namespace detail {
struct slot_wait;
struct served_call;
}  // namespace detail

// What an endpoint leaves of its channel to the next endpoint of the same
// side (a host channel closed on one thread and opened again on another):
// - the rings' private positions and state, so that the next endpoint
//   neither rewrites records the peer has not read nor reads again what the
//   last one consumed (a run or a fragmented message half read goes on
//   where it stopped);
// - the pool buffers the peer still holds, so none is handed out twice;
// - the call ids already used, so a late reply to a call of the last
//   endpoint is dropped as stale rather than taken for a new call's;
// - what is owed to the peer: a cancel for each call the last endpoint had
//   in flight (its caller got broken_promise), a broken_promise reply for
//   each of the peer's calls it was serving, and the pool returns;
// - a fault: a faulted channel stays faulted.
// Handlers are not carried: the next endpoint serves its own. Made by
// endpoint_base::hand_over, taken by the next endpoint's constructor; the
// two may run on different threads if something orders them (the
// platform's mutex does).
class endpoint_handover {
  public:
    endpoint_handover(endpoint_handover&&) noexcept = default;
    endpoint_handover& operator=(endpoint_handover&&) noexcept = default;

  private:
    friend class endpoint_base;
    explicit endpoint_handover(call_table&& calls) noexcept : calls_(std::move(calls)) {}
    ring::ring_producer out_;
    ring::ring_consumer in_;
    call_table calls_;
    ring::pool_allocator out_pool_;
    std::vector<std::uint64_t> pending_cancels_;
    std::vector<std::array<std::uint64_t, 2>> pending_returns_;
    std::vector<std::uint64_t> unanswered_;  // the peer's calls it was serving
    errc fault_ = errc::ok;
    errc ring_fault_ = errc::ok;
};

class endpoint_base : public async::source {
  public:
    // `out` is the ring this side produces into, `in` the ring it consumes;
    // both from a region attached on this side (and so are the wiring's
    // pools). `read_pool_in_place`: a pooled message is decoded where the
    // peer wrote it (the host side) instead of from a private copy (the
    // enclave side, which trusts nothing in shared memory). `resume`: what
    // the last endpoint of this side of the same rings left (hand_over),
    // taken instead of starting the rings afresh; the options must be the
    // ones it had. Registers with `ex`.
    endpoint_base(async::executor& ex, ring::ring_view out, ring::ring_view in,
                  endpoint_wiring wiring, endpoint_options options, bool read_pool_in_place = false,
                  endpoint_handover* resume = nullptr);
    // Resumes every call still waiting (for a reply, a call slot or ring
    // space) with broken_promise and cancels the running handlers; the
    // executor may go on running, and the endpoint's own coroutines then
    // finish without touching it.
    ~endpoint_base();
    endpoint_base(const endpoint_base&) = delete;
    // Ends the endpoint as its destructor does (every waiting call resumes
    // with broken_promise, running handlers are cancelled, the executor no
    // longer polls it) and returns the channel's wire state for the next
    // endpoint of this side. Only the destructor may follow. Owner thread.
    [[nodiscard]] endpoint_handover hand_over() noexcept;
    endpoint_base& operator=(const endpoint_base&) = delete;

    // async::source
    std::size_t poll(std::size_t budget) noexcept override;
    [[nodiscard]] bool has_work() noexcept override;

    // rpc_channel_faulted once either ring has faulted, else ok.
    [[nodiscard]] errc fault() const noexcept { return fault_; }
    // The ring-level reason of the fault (an errc::fault_*), or ok.
    [[nodiscard]] errc ring_fault() const noexcept { return ring_fault_; }
    // Faults the channel from outside the rings, for `reason` (the platform
    // saw the peer die: errc::enclave_died): as a ring fault does, every
    // waiting and later call resumes with rpc_channel_faulted, and
    // ring_fault() reports `reason`. Owner thread; a no-op once faulted.
    void fail(errc reason) noexcept;
    [[nodiscard]] const endpoint_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t outstanding_calls() const noexcept { return calls_.outstanding(); }
    [[nodiscard]] std::size_t serving() const noexcept { return serving_; }
    // Buffers of this side's pool that the peer has not returned yet.
    [[nodiscard]] std::size_t pool_buffers_out() const noexcept { return out_pool_.outstanding(); }
    [[nodiscard]] async::executor& executor() const noexcept { return *executor_; }

    // Sends one message (any size), waiting for room in FIFO order.
    class [[nodiscard("co_await it")]] send_operation {
      public:
        send_operation(endpoint_base & ep, std::uint16_t tag,
                       std::span<const std::byte> bytes) noexcept
            : endpoint_(&ep),
              waiter_{tag,      bytes, ring::outgoing_message(tag, bytes), nullptr, {}, {}, nullptr,
                      errc::ok, false} {}
        ~send_operation();
        send_operation(const send_operation&) = delete;
        send_operation& operator=(const send_operation&) = delete;
        [[nodiscard]] bool await_ready() noexcept;
        void await_suspend(std::coroutine_handle<> h) noexcept;
        [[nodiscard]] errc await_resume() const noexcept {
            return waiter_.result;
        }
        // The queue entry this send occupies, and the token of the call it carries.
        [[nodiscard]] detail::send_waiter& waiter() noexcept {
            return waiter_;
        }

      private:
        endpoint_base* endpoint_;
        detail::send_waiter waiter_;
    };
    [[nodiscard]] send_operation send(std::uint16_t tag,
                                      std::span<const std::byte> bytes) noexcept {
        return {*this, tag, bytes};
    }

  protected:
    void add_handler(std::uint32_t method_id, detail::handler_entry entry);

    // The smallest message that goes through this side's buffer pool, or
    // SIZE_MAX without one: a call at least this large defers its encoding.
    [[nodiscard]] std::size_t pool_min() const noexcept { return pool_min_; }

    // A private buffer from the pool. Its bytes are stale: fill it with a
    // writer in reuse mode, which overwrites them and cuts the rest.
    [[nodiscard]] std::vector<std::byte> take_buffer() noexcept {
        if (pooled_ == 0) [[unlikely]]
            return {};
        return std::move(pool_[--pooled_]);
    }
    // Kept at its size as well as its capacity: the next writer overwrites
    // it in place (writer::reuse), so steady-state encoding neither
    // allocates nor zero-fills. Beyond the pool's capacity it is freed.
    void give_back(std::vector<std::byte>&& buffer) noexcept {
        if (pooled_ < pool_capacity_) [[likely]]
            pool_[pooled_++] = std::move(buffer);
    }

    // The slow path of a call (call_operation): waits for a slot if `id`
    // holds none (then writes it into `message` and `opened`), sends, waits
    // for the reply, all under one token: `given`, the caller's `inherited`
    // one (may be null) and the deadline (0: none). Returns ok once `w` is
    // done (its result says what came back), or why the call ended without
    // a reply (then it is abandoned): the fault, cancelled, or
    // deadline_exceeded. Sets `sent` once the whole call is in the ring.
    // `message`, `w`, `opened` and `sent` belong to the awaiting
    // call_operation, which outlives this task.
    //
    // A call without a deadline of its own is watched by the default one
    // from the sweep epoch it starts in, wherever it waits.
    // `deferred`: the call's arguments are not in `message` yet (it holds
    // the header): they are encoded when it is sent (may be null).
    async::task<errc> finish_call(std::vector<std::byte>& message, detail::reply_waiter_base& w,
                                  expected<std::uint64_t> id, async::cancellation_token given,
                                  const async::cancellation_token* inherited,
                                  std::uint64_t deadline_ns, std::uint64_t& opened, bool& sent,
                                  const detail::deferred_arguments* deferred);
    // A served call with a coroutine handler: runs it under the call's own
    // token (cancelled when the caller gives up), then sends the reply.
    template <class R, class F, class Args>
    async::task<void> run_serve(F& handler, std::uint64_t id, Args args, std::size_t slot);
    // A served call with a synchronous handler: runs it and replies now.
    template <class R, class F, class Args>
    void serve_now(F& handler, std::uint64_t id, Args args) noexcept;
    // A served-call slot for a coroutine handler of the peer's call `id`,
    // and the token its handler runs under (cancelled by the peer's cancel
    // record, or when the endpoint dies). Precondition: serving() <=
    // max_serving, which dispatch_call has checked.
    std::size_t open_served(std::uint64_t id);
    [[nodiscard]] async::cancellation_token served_token(std::size_t slot) const noexcept;
    // Replies. Every call taken from the ring owes one reply (or none, if
    // its caller cancels it) until it is in the outgoing ring; poll takes
    // no more messages while `reply_budget()` replies are owed, so a host
    // that floods calls and never drains the replies meets back-pressure.
    //
    // Sends an encoded reply now when it fits and nobody queues before it,
    // else queues it in a queued_reply slot (one is always free for an owed
    // reply). Never allocates, never blocks.
    void reply_now_or_queue(std::vector<std::byte>&& reply) noexcept;
    // An error answer, from a 16-byte buffer of its own (no allocation).
    void reply_error(std::uint64_t id, errc error) noexcept;
    // Encodes `result` and replies; out of memory while encoding answers
    // enclave_memory_exhausted instead.
    template <class R>
    void reply_result(std::uint64_t id, const expected<R>& result) noexcept;
    // A reply owed is in the ring (or needs not be sent).
    void reply_settled() noexcept { --owed_replies_; }
    [[nodiscard]] std::size_t reply_budget() const noexcept {
        return options_.max_serving + extra_replies;
    }
    // Error answers beyond max_serving that may be owed at once.
    static constexpr std::size_t extra_replies = 16;
    // A served call finished: one fewer running.
    void served() noexcept {
        ++stats_.calls_served;
        --serving_;
    }
    // The served-call slot of a coroutine handler: frees it, and says
    // whether the caller cancelled the call (then no reply is sent).
    bool close_served(std::size_t slot) noexcept;

    template <class R>
    void encode_reply(std::vector<std::byte>& out, std::uint64_t id, const expected<R>& result);

    // Why a call of `bytes` encoded bytes must not start (made on another
    // thread; the channel faulted, the token is cancelled: nothing is sent;
    // too large for the peer, which would fault the channel on it), or ok.
    [[nodiscard]] errc refusal(std::size_t bytes,
                               const async::cancellation_token& token) const noexcept {
        if (fault_ != errc::ok) [[unlikely]]
            return fault_;
        if (token.is_cancellation_requested()) [[unlikely]]
            return errc::cancelled;
        if (bytes > options_.max_message) [[unlikely]]
            return errc::rpc_message_too_large;
        return errc::ok;
    }
    // Counts and (in debug builds) aborts on a call from a foreign thread.
    [[nodiscard]] bool on_owner_thread() noexcept;
    // hand_over() ran: only the destructor may follow.
    [[nodiscard]] bool handed_over() const noexcept { return lifeline_ == nullptr; }
    // A call_operation destroyed on a thread that is not its endpoint's
    // gives its hold on `life` back on `ex`'s thread, through a post (the
    // lifeline's count belongs to that thread). Allocates the posted item:
    // a misuse's path, not the calls'. Out of memory, the hold is kept (the
    // lifeline then outlives the endpoint for good).
    static void release_elsewhere(async::executor& ex, detail::lifeline* life) noexcept;
    // Sends `bytes` as one record at once if nothing queues before it, the
    // channel is healthy and the ring has room: committed, published at the
    // end of the poll. False when it must go through send() instead.
    [[nodiscard]] bool try_send_now(std::uint16_t tag, std::span<const std::byte> bytes) noexcept {
        if (senders_head_ != nullptr || fault_ != errc::ok ||
            bytes.size() > out_.max_single_record() || bytes.size() >= pool_min_) [[unlikely]]
            return false;
        auto r = out_.try_reserve(bytes.size(), tag);
        if (!r) [[unlikely]]
            return false;  // full (or faulted): send() waits, or reports the fault
        r->write(bytes);
        out_.commit(*r);
        unpublished_ = true;
        return true;
    }

    // A call slot for `w` at once, unless every slot is taken or earlier
    // calls already wait for one (they go first): then ring_full.
    [[nodiscard]] expected<std::uint64_t> try_open_call(call_waiter& w) noexcept {
        if (slot_head_ != nullptr) return unexpected(errc::ring_full);
        return calls_.open(w);
    }
    // The slow paths of finish_call, each its own coroutine. All of them may
    // outlive the endpoint: after they resume, finish_call checks its
    // lifeline before it touches the endpoint again.
    //
    // Waits in line for a call slot for `w` (calls keep the order they were
    // made in): its id, errc::cancelled, or the fault.
    // `since`: the sweep epoch of a call under the default deadline, or
    // unwatched (then deadline_exceeded is never the answer).
    async::task<expected<std::uint64_t>> wait_for_slot(call_waiter& w,
                                                       const async::cancellation_token& token,
                                                       std::uint64_t since);
    // Sends call `id` through the queue for ring space: ok, or
    // errc::cancelled / the fault, after which the call is abandoned (a
    // fragmented message partly in the ring is aborted, so the peer discards
    // it whole). Sets `sent` (the awaiting call_operation's) as soon as all
    // of the call is in the ring, before this resumes.
    async::task<errc> send_queued(std::vector<std::byte>& message, std::uint64_t id,
                                  const async::cancellation_token& token, std::uint64_t since,
                                  const detail::deferred_arguments* deferred, bool& sent);
    // Waits for the reply to call `id` while `token` may cancel it: ok once
    // `w` is done, or errc::cancelled (the call is abandoned, the peer told,
    // and a reply that comes later is dropped).
    async::task<errc> wait_cancellable(detail::reply_waiter_base& w, std::uint64_t id,
                                       const async::cancellation_token& token);

    // Queues `w` for a slot; it resumes through the executor once it has one.
    void enqueue_slot_waiter(detail::slot_waiter& w) noexcept;
    // Take `w` out of their queue (the send queue abandons a partly sent
    // message); false if it was not queued. Nothing is resumed.
    bool leave_send_queue(detail::send_waiter& w) noexcept;
    bool leave_slot_queue(detail::slot_waiter& w) noexcept;
    // The caller gives up on call `id` (cancellation, failed send): frees its
    // slot, so a late reply is dropped, and hands the slot on. `sent`: the
    // peer has the call, so it is told (a cancel record) and stops its handler.
    void abandon_call(std::uint64_t id, bool sent) noexcept;

    // The default deadline. A call is watched from the sweep epoch it was
    // made in (`epoch_`, advanced by the sweep alarm): no clock is read per
    // call. `unwatched` marks a call with a deadline of its own, or any call
    // when the default is off.
    static constexpr std::uint64_t unwatched = ~std::uint64_t{0};
    [[nodiscard]] std::uint64_t watch_epoch(std::uint64_t deadline_ns) const noexcept {
        return deadline_ns != 0 || options_.default_call_timeout_ns == 0 ? unwatched : epoch_;
    }
    // Call `id`, now wholly in the ring, waits for its reply under the
    // default deadline from epoch `since` (no-op when unwatched).
    void watch_sent(std::uint64_t id, std::uint64_t since) noexcept {
        if (since == unwatched) return;
        calls_.watch(id, since);
        keep_sweeping();
    }
    // Arms the sweep alarm unless it is armed: a watched call waits.
    void keep_sweeping() noexcept {
        if (!sweep_alarm_.armed()) [[unlikely]]
            arm_sweep();
    }

  private:
    template <class R>
    friend class call_operation;
    friend struct detail::slot_wait;

    // Opens freed slots for the calls waiting for one, oldest first.
    void hand_off_slots() noexcept;
    // Resumes a send or slot waiter with `result`, out of its queue.
    void resume_sender(detail::send_waiter& w, errc result) noexcept;
    detail::queued_reply& take_reply_slot() noexcept;
    static void on_reply_gone(detail::send_waiter& w) noexcept;
    void resume_slot_waiter(detail::slot_waiter& w, expected<std::uint64_t> id) noexcept;

    // Moves as much of `w` into the ring as fits: ok once all of it is
    // there, ring_full while more remains, else the fault it met (not yet
    // recorded: the caller calls set_fault, once, where it is safe to).
    errc attempt(detail::send_waiter& w) noexcept;
    void enqueue_sender(detail::send_waiter& w) noexcept;
    std::size_t flush_senders() noexcept;
    void send_cancel(std::uint64_t id) noexcept;
    void flush_cancels() noexcept;
    // The buffer pool. try_send_pooled writes `w` into a pool buffer and
    // commits its pooled record: ok, ring_full (no room for the record:
    // nothing was taken), or message_too_large when the pool has no room
    // (then `w` streams instead). return_pool_buffer tells the peer a
    // buffer of its pool is free again (queued, bounded, when the ring is full).
    [[nodiscard]] bool goes_through_pool(const detail::send_waiter& w) const noexcept {
        const std::size_t bytes = w.deferred != nullptr ? w.deferred->bytes : w.bytes.size();
        return bytes >= pool_min_ && !w.streamed;
    }
    // Whether `w` streams because it is above the host's cap while the
    // enclave has nothing of this side's left to read: no buffer of the
    // pool, no record in the ring (protocol.hh, host_pool_max).
    [[nodiscard]] bool above_idle_cap(const detail::send_waiter& w) noexcept {
        const std::size_t bytes = w.deferred != nullptr ? w.deferred->bytes : w.bytes.size();
        return bytes > pool_max_ && out_pool_.outstanding() == 0 && out_.drained();
    }
    // A deferred call that must stream after all: encodes it into its spill
    // buffer. False when that buffer cannot grow (out of memory).
    [[nodiscard]] static bool spill(detail::send_waiter& w) noexcept;
    errc try_send_pooled(detail::send_waiter& w) noexcept;
    // Sends a record that carries no order (a pool return) at once if the
    // ring has room: it may pass queued messages, but never cuts into a
    // message streaming in fragments. False when it must wait.
    [[nodiscard]] bool try_send_unordered(std::uint16_t tag,
                                          std::span<const std::byte> bytes) noexcept;
    void return_pool_buffer(std::uint64_t offset, std::uint64_t length) noexcept;
    void flush_pool_returns() noexcept;
    // Publishes the records committed since the last publish.
    void publish_sent() noexcept;
    void dispatch(const ring::message& m) noexcept;
    void dispatch_call(std::span<const std::byte> payload) noexcept;
    void dispatch_reply(std::span<const std::byte> payload) noexcept;
    void dispatch_cancel(std::span<const std::byte> payload) noexcept;
    void dispatch_pooled(std::span<const std::byte> payload) noexcept;
    void dispatch_pool_return(std::span<const std::byte> payload) noexcept;
    [[gnu::cold]] void set_fault(errc ring_reason) noexcept;
    // Resumes every waiting call (for a reply, a slot or ring space) with `error`.
    void fail_waiters(errc error) noexcept;
    // The end of the endpoint (destructor, hand_over): off the executor,
    // its coroutines told, every waiter resumed with broken_promise.
    void end_waiters() noexcept;
    // The constructor's last step when it resumes a channel: takes what
    // the last endpoint left and answers what it owed.
    void take_over(endpoint_handover& left) noexcept;
    // Puts in unanswered_ the peer's calls this endpoint is serving or has
    // a reply queued for (hand_over), within its reservation.
    void collect_unanswered() noexcept;
    // The default deadline's sweep: advances the epoch, ends the watched
    // calls (waiting for a slot, for ring space or for their reply) made
    // sweep_epochs or more epochs ago, and re-arms while any remain.
    [[gnu::cold]] void arm_sweep() noexcept;
    static void on_sweep(void* self) noexcept;
    void sweep() noexcept;
    static void on_call_expired(void* self, std::uint64_t id) noexcept;
    // The sweep runs every sweep_period_ns_ (a quarter of the default
    // deadline, rounded up); a call made in epoch e has waited at least
    // four periods once the epoch reaches e + 5, and at most five.
    static constexpr std::uint64_t sweep_epochs = 5;

    async::executor* executor_;
    // Cleared and left to its holders by the destructor, or by hand_over
    // (then null here).
    detail::lifeline* lifeline_;
    ring::ring_producer out_;
    ring::ring_consumer in_;
    endpoint_options options_;
    call_table calls_;
    // The calls on the fast path that one token can cancel (rpc/token_watch.hh).
    detail::token_watch token_watch_;
    // The buffer pool: pool_[0, pooled_) are free buffers.
    std::unique_ptr<std::vector<std::byte>[]> pool_;
    std::size_t pool_capacity_ = 0;
    std::size_t pooled_ = 0;
    detail::send_waiter* senders_head_ = nullptr;
    detail::send_waiter* senders_tail_ = nullptr;
    detail::slot_waiter* slot_head_ = nullptr;
    detail::slot_waiter* slot_tail_ = nullptr;
    // Coroutine handlers running, by served-call slot (max_serving of them).
    std::unique_ptr<detail::served_call[]> served_;
    std::vector<std::uint32_t> free_served_;
    // Cancels waiting for ring space, oldest first (at most max_in_flight).
    std::vector<std::uint64_t> pending_cancels_;
    // The pool this side sends through (its private bookkeeping), and the
    // peer's, which this side reads. Messages of pool_min_ bytes or more go
    // through the pool (SIZE_MAX: no pool); above pool_max_ (the host's
    // endpoint_options::host_pool_max; SIZE_MAX on the enclave side) only
    // while the peer has something else of this side's to read.
    ring::pool_allocator out_pool_;
    ring::pool_view in_pool_;
    std::size_t pool_min_ = ~std::size_t{0};
    std::size_t pool_max_ = ~std::size_t{0};
    bool read_pool_in_place_ = false;
    // The head of the send queue waits for the peer to return pool buffers:
    // nothing to do until a return (incoming data) arrives.
    bool pool_blocked_ = false;
    // The private copy of the last pooled message received (enclave side),
    // kept at its largest size, at most max_message.
    std::vector<std::byte> pool_copy_;
    // Pool returns waiting for ring space, oldest first: at most one per
    // granule of the peer's pool, as many buffers as it can have out.
    std::vector<std::array<std::uint64_t, 2>> pending_returns_;
    // hand_over's list of the peer's calls left unanswered, reserved at
    // construction so that handing over never allocates.
    std::vector<std::uint64_t> unanswered_;
    // Replies waiting for ring space that no coroutine holds (reply_budget of them).
    std::unique_ptr<detail::queued_reply[]> queued_replies_;
    std::vector<std::uint32_t> free_replies_;
    std::size_t owed_replies_ = 0;
    std::size_t serving_ = 0;
    bool unpublished_ = false;
    errc fault_ = errc::ok;
    errc ring_fault_ = errc::ok;
    endpoint_stats stats_;
    std::uint64_t epoch_ = 0;  // sweeps so far
    std::uint64_t sweep_period_ns_ = 0;
    async::alarm sweep_alarm_;
};

namespace detail {
// A coroutine handler running for the peer's call `id`, cancellable by it.
struct served_call {
    std::uint64_t id = 0;
    std::optional<async::cancellation_source> source;  // while busy: from the frame pool
    bool cancelled = false;
    [[nodiscard]] bool busy() const noexcept { return source.has_value(); }
};

// Suspends a call until the endpoint hands it a slot (or fails it).
struct slot_wait {
    endpoint_base& ep;
    slot_waiter& w;
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        w.handle = h;
        ep.enqueue_slot_waiter(w);
    }
    void await_resume() const noexcept {}
};
}  // namespace detail

}  // namespace airlock::rpc
