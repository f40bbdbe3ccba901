// SPDX-License-Identifier: Apache-2.0
// The untyped machinery of an rpc endpoint: sending with back-pressure,
// waiting for slots and replies under a token, dispatching received
// messages, serving and cancelling handlers, faults.
#include "airlock/rpc/endpoint.hh"

#include <algorithm>
#include <optional>

#include "airlock/async/cancel_point.hh"
#include "airlock/async/deadline.hh"
#include "airlock/base/speculation.hh"

namespace airlock::rpc {
namespace {

std::uint64_t read_u64(std::span<const std::byte> bytes, std::size_t at) noexcept {
    std::uint64_t v = 0;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    return v;
}

// Error codes a peer may send back: the defined async, rpc, sys and suvm
// codes, and enclave_memory_exhausted. Anything else (ring faults, other
// platform codes, undefined values) is a result out of contract
// (HOSTILE-INPUTS #13).
errc remote_error(std::uint64_t code) noexcept {
    if (code == static_cast<std::uint64_t>(errc::enclave_memory_exhausted))
        return errc::enclave_memory_exhausted;
    if (code < 200 || code >= 700 || (code >= 400 && code < 500))
        return errc::rpc_result_out_of_contract;
    // Local conditions a peer cannot report: a channel fault is this side's
    // own finding (HOSTILE-INPUTS #28), call ids are this side's, and a
    // wrong thread is a mistake of this side's code.
    if (code == static_cast<std::uint64_t>(errc::rpc_channel_faulted) ||
        code == static_cast<std::uint64_t>(errc::rpc_unknown_call_id) ||
        code == static_cast<std::uint64_t>(errc::rpc_wrong_thread))
        return errc::rpc_result_out_of_contract;
    const auto e = static_cast<errc>(code);
    if (to_string(e) == "unknown_airlock_error") return errc::rpc_result_out_of_contract;
    return e;
}

// The one token a slow call observes: the token it was given, its caller's
// own, and its deadline. Makes a source only when two of them must be
// combined; maps a cancellation the deadline caused to deadline_exceeded.
class call_stop {
  public:
    call_stop(async::executor& ex, const async::cancellation_token& given,
              const async::cancellation_token* inherited, std::uint64_t deadline_ns) {
        const bool own = given.can_be_cancelled();
        const bool callers =
            inherited != nullptr && inherited->can_be_cancelled() && !(*inherited == given);
        const async::cancellation_token none;
        if (deadline_ns != 0) {
            deadline_.emplace(ex, deadline_ns, given, callers ? *inherited : none);
            token_ = deadline_->token();
        } else if (own && callers) {
            linked_.emplace(given, *inherited);
            token_ = linked_->token();
        } else {
            token_ = callers ? *inherited : given;
        }
    }
    [[nodiscard]] const async::cancellation_token& token() const noexcept { return token_; }
    [[nodiscard]] errc outcome(errc e) const noexcept {
        if (e == errc::cancelled && deadline_ && deadline_->expired())
            return errc::deadline_exceeded;
        return e;
    }

  private:
    std::optional<async::deadline_source> deadline_;
    std::optional<async::linked_cancellation_source> linked_;
    async::cancellation_token token_;
};

}  // namespace

// ============================================================================
// Sending

endpoint_base::send_operation::~send_operation() {
    // Destroyed while it waits (its coroutine was destroyed): out of the
    // queue, a partly sent message aborted. A dead endpoint emptied its
    // queue already.
    if (waiter_.queued) (void)endpoint_->leave_send_queue(waiter_);
}

bool endpoint_base::send_operation::await_ready() noexcept {
    // Nobody may overtake a queued message: its fragments must stay together
    // and per-channel order must hold.
    if (endpoint_->senders_head_ != nullptr) return false;
    const errc r = endpoint_->attempt(waiter_);
    if (r == errc::ring_full) return false;
    if (r == errc::enclave_memory_exhausted) {  // this message only: no room to encode it
        waiter_.result = r;
        return true;
    }
    if (r != errc::ok) {
        endpoint_->set_fault(r);
        waiter_.result = endpoint_->fault_;
    }
    return true;
}

void endpoint_base::send_operation::await_suspend(std::coroutine_handle<> h) noexcept {
    waiter_.handle = h;
    endpoint_->enqueue_sender(waiter_);
}

errc endpoint_base::attempt(detail::send_waiter& w) noexcept {
    if (fault_ != errc::ok) return fault_;
    if (goes_through_pool(w) && above_idle_cap(w)) {
        // The enclave has nothing of this side's left to read: it would
        // copy this one only once all of it is written, whereas it copies a
        // stream fragment by fragment as they come (protocol.hh). Decided
        // once: a message never changes paths part sent.
        w.streamed = true;
        ++stats_.pool_capped;
        if (w.deferred != nullptr && !spill(w)) return errc::enclave_memory_exhausted;
    }
    if (goes_through_pool(w)) {
        const errc r = try_send_pooled(w);
        if (r != errc::message_too_large) return r;
        // The pool cannot take it (larger than the pool, or a codec that
        // counted otherwise than it wrote): stream it.
        w.streamed = true;
        ++stats_.pool_fallbacks;
        if (w.deferred != nullptr && !spill(w)) return errc::enclave_memory_exhausted;
    }
    if (w.bytes.size() <= out_.max_single_record()) {
        // One record: commit now, publish once per poll (batching).
        auto r = out_.try_reserve(w.bytes.size(), w.tag);
        if (!r) return r.error();  // ring_full, or the ring's fault
        r->write(w.bytes);
        out_.commit(*r);
        unpublished_ = true;
        return errc::ok;
    }
    auto sent = out_.try_send(w.message);  // fragments; publishes as it goes
    return sent ? errc::ok : sent.error();
}

void endpoint_base::enqueue_sender(detail::send_waiter& w) noexcept {
    if (fault_ != errc::ok) {  // the channel died between ready and suspend
        resume_sender(w, fault_);
        return;
    }
    w.next = nullptr;
    if (senders_tail_ != nullptr)
        senders_tail_->next = &w;
    else
        senders_head_ = &w;
    senders_tail_ = &w;
    w.queued = true;
    if (w.watched) keep_sweeping();
}

void endpoint_base::resume_sender(detail::send_waiter& w, errc result) noexcept {
    w.result = result;
    if (w.on_done != nullptr)
        w.on_done(w);
    else
        executor_->enqueue(w.resume, w.handle);
}

std::size_t endpoint_base::flush_senders() noexcept {
    std::size_t sent = 0;
    pool_blocked_ = false;  // attempt() says again if the head still waits for the pool
    errc fault = errc::ok;
    while (senders_head_ != nullptr) {
        detail::send_waiter& w = *senders_head_;
        // A call cancelled while it waited is not sent (its cancellation
        // may still be on its way from another thread).
        if (w.stop != nullptr && w.stop->is_cancellation_requested()) {
            (void)leave_send_queue(w);
            resume_sender(w, errc::cancelled);
            continue;
        }
        const errc r = attempt(w);
        if (r == errc::ring_full) break;
        if (r == errc::enclave_memory_exhausted) {  // this message only
            (void)leave_send_queue(w);
            resume_sender(w, r);
            continue;
        }
        if (r != errc::ok) {
            fault = r;
            break;
        }
        senders_head_ = w.next;
        if (senders_head_ == nullptr) senders_tail_ = nullptr;
        w.next = nullptr;
        w.queued = false;
        // The peer has the whole call from now on, even if its coroutine is
        // destroyed before it resumes (then the call sends a cancel).
        if (w.sent != nullptr) *w.sent = true;
        resume_sender(w, errc::ok);
        ++sent;
    }
    // After the loop, with every sender still queued (the one that met the
    // fault included): set_fault resumes each of them once.
    if (fault != errc::ok) set_fault(fault);
    return sent;
}

bool endpoint_base::leave_send_queue(detail::send_waiter& w) noexcept {
    if (!w.queued) return false;  // all of it is in the ring already, or it failed
    detail::send_waiter* prev = nullptr;
    detail::send_waiter* at = senders_head_;
    while (at != &w) {
        prev = at;
        at = at->next;
    }
    out_.abandon(w.message);                         // a no-op unless fragments of it were sent
    if (&w == senders_head_) pool_blocked_ = false;  // the next may fit (or need no pool)
    if (prev != nullptr)
        prev->next = w.next;
    else
        senders_head_ = w.next;
    if (senders_tail_ == &w) senders_tail_ = prev;
    w.next = nullptr;
    w.queued = false;
    return true;
}

bool endpoint_base::spill(detail::send_waiter& w) noexcept {
    try {
        // Over the buffer's stale bytes (reuse mode: no zero-fill of a
        // buffer that held a message this large before), the header first.
        std::byte header[message_header_bytes];
        std::memcpy(header, w.bytes.data(), sizeof header);
        writer all(*w.spill, writer::reuse);
        all.put_raw(header, sizeof header);
        w.deferred->encode(w.deferred->state, all);
        all.finish();
    } catch (...) {  // std::bad_alloc growing the buffer (or a user codec's own)
        return false;
    }
    w.deferred = nullptr;
    w.bytes = *w.spill;
    w.message = ring::outgoing_message(w.tag, w.bytes);
    return true;
}

errc endpoint_base::try_send_pooled(detail::send_waiter& w) noexcept {
    // The record first: without room for it, nothing is taken from the pool.
    auto record = out_.try_reserve(pooled_message_bytes, pooled_tag);
    if (!record) return record.error();  // ring_full, or the ring's fault
    const std::size_t length = w.deferred != nullptr ? w.deferred->bytes : w.bytes.size();
    const std::optional<ring::pool_allocator::buffer> b = out_pool_.try_allocate(length);
    if (!b) {  // the uncommitted reservation lapses
        if (length > out_pool_.size() || out_pool_.outstanding() == 0)
            return errc::message_too_large;
        // The peer holds buffers that it returns as it reads them: wait for
        // them as for ring space, in order. Bounded like every wait of a
        // call, by its deadline: a peer that keeps them starves only this
        // channel's large messages, and pool_waits says so.
        if (!w.pool_waited) {
            w.pool_waited = true;
            ++stats_.pool_waits;
        }
        pool_blocked_ = true;
        return errc::ring_full;
    }
    // Written once, word by word; the record's publish (release) orders it.
    // A deferred call is encoded here, straight from the caller's values.
    writer into(out_pool_.words_at(b->offset), length);
    into.put_raw(w.bytes.data(), w.bytes.size());
    if (w.deferred != nullptr) {
        try {
            w.deferred->encode(w.deferred->state, into);
        } catch (...) {  // a user codec that throws: stream it instead
            (void)out_pool_.release(b->offset, b->length);
            return errc::message_too_large;
        }
    }
    into.finish();
    if (into.overflowed() || into.size() != length) [[unlikely]] {
        // A codec that encoded another size than it counted: stream it.
        (void)out_pool_.release(b->offset, b->length);
        return errc::message_too_large;
    }
    record->write_word(0, w.tag);
    record->write_word(1, b->offset);
    record->write_word(2, b->length);
    out_.commit(*record);
    unpublished_ = true;
    ++stats_.pooled_sent;
    return errc::ok;
}

bool endpoint_base::try_send_unordered(std::uint16_t tag,
                                       std::span<const std::byte> bytes) noexcept {
    if (fault_ != errc::ok || (senders_head_ != nullptr && senders_head_->message.in_progress()))
        return false;
    auto r = out_.try_reserve(bytes.size(), tag);
    if (!r) return false;
    r->write(bytes);
    out_.commit(*r);
    unpublished_ = true;
    return true;
}

void endpoint_base::return_pool_buffer(std::uint64_t offset, std::uint64_t length) noexcept {
    std::array<std::uint64_t, 2> words{offset, length};
    std::byte bytes[pool_return_bytes];
    std::memcpy(bytes, words.data(), sizeof bytes);
    // Ahead of anything queued: the peer's large messages may wait for it.
    if (pending_returns_.empty() && try_send_unordered(pool_return_tag, bytes)) return;
    // An honest peer has at most one buffer per granule out; a host that
    // announces more than that loses the surplus returns (its own pool).
    if (pending_returns_.size() < pending_returns_.capacity())
        pending_returns_.push_back(words);
    else
        ++stats_.pool_returns_dropped;
}

void endpoint_base::flush_pool_returns() noexcept {
    std::size_t n = 0;
    for (; n < pending_returns_.size(); ++n) {
        std::byte bytes[pool_return_bytes];
        std::memcpy(bytes, pending_returns_[n].data(), sizeof bytes);
        if (!try_send_unordered(pool_return_tag, bytes)) break;
    }
    pending_returns_.erase(pending_returns_.begin(),
                           pending_returns_.begin() + static_cast<std::ptrdiff_t>(n));
}

void endpoint_base::send_cancel(std::uint64_t id) noexcept {
    ++stats_.cancels_sent;
    std::byte bytes[cancel_message_bytes];
    std::memcpy(bytes, &id, sizeof id);
    if (pending_cancels_.empty() && try_send_now(cancel_tag, bytes)) return;
    // No room now: it follows everything queued before it. Bounded: a peer
    // that never drains gets at most max_in_flight of them.
    if (pending_cancels_.size() < options_.max_in_flight)
        pending_cancels_.push_back(id);
    else
        ++stats_.cancels_dropped;
}

void endpoint_base::flush_cancels() noexcept {
    std::size_t n = 0;
    for (; n < pending_cancels_.size(); ++n) {
        std::byte bytes[cancel_message_bytes];
        std::memcpy(bytes, &pending_cancels_[n], sizeof(std::uint64_t));
        if (!try_send_now(cancel_tag, bytes)) break;
    }
    pending_cancels_.erase(pending_cancels_.begin(),
                           pending_cancels_.begin() + static_cast<std::ptrdiff_t>(n));
}

// ============================================================================
// Waiting for a call slot

void endpoint_base::enqueue_slot_waiter(detail::slot_waiter& w) noexcept {
    if (fault_ != errc::ok) {
        resume_slot_waiter(w, unexpected(fault_));
        return;
    }
    w.prev = slot_tail_;
    w.next = nullptr;
    if (slot_tail_ != nullptr)
        slot_tail_->next = &w;
    else
        slot_head_ = &w;
    slot_tail_ = &w;
    w.queued = true;
    if (w.watched) keep_sweeping();
    hand_off_slots();  // a slot may have freed since try_open_call
}

bool endpoint_base::leave_slot_queue(detail::slot_waiter& w) noexcept {
    if (!w.queued) return false;
    if (w.prev != nullptr)
        w.prev->next = w.next;
    else
        slot_head_ = w.next;
    if (w.next != nullptr)
        w.next->prev = w.prev;
    else
        slot_tail_ = w.prev;
    w.prev = w.next = nullptr;
    w.queued = false;
    return true;
}

void endpoint_base::resume_slot_waiter(detail::slot_waiter& w,
                                       expected<std::uint64_t> id) noexcept {
    w.id = id;
    executor_->enqueue(w.resume, w.handle);
}

void endpoint_base::hand_off_slots() noexcept {
    while (slot_head_ != nullptr) {
        detail::slot_waiter& w = *slot_head_;
        // A call cancelled while it waited gets no slot.
        if (w.stop != nullptr && w.stop->is_cancellation_requested()) {
            (void)leave_slot_queue(w);
            resume_slot_waiter(w, unexpected(errc::cancelled));
            continue;
        }
        auto id = calls_.open(*w.waiter);
        if (!id) return;  // still full
        (void)leave_slot_queue(w);
        resume_slot_waiter(w, *id);
    }
}

void endpoint_base::abandon_call(std::uint64_t id, bool sent) noexcept {
    if (calls_.abandon(id) && sent) send_cancel(id);
    hand_off_slots();
}

// ============================================================================
// The slow paths of a call

async::task<errc> endpoint_base::finish_call(
    std::vector<std::byte>& message, detail::reply_waiter_base& w, expected<std::uint64_t> id,
    async::cancellation_token given, const async::cancellation_token* inherited,
    std::uint64_t deadline_ns, std::uint64_t& opened, bool& sent,
    const detail::deferred_arguments* deferred) {
    const detail::lifeline_hold life(lifeline_);
    const call_stop stop(*executor_, given, inherited, deadline_ns);
    const async::cancellation_token& token = stop.token();
    const std::uint64_t since = watch_epoch(deadline_ns);
    if (!id) {  // every slot taken, or earlier calls wait for one
        id = co_await wait_for_slot(w, token, since);
        if (!life.alive()) co_return errc::broken_promise;
        if (!id) {
            give_back(std::move(message));
            co_return stop.outcome(id.error());
        }
        opened = *id;
        std::memcpy(message.data(), &*id, sizeof(std::uint64_t));
    }
    // Cancelled while it waited for the slot (or before): never sent.
    if (token.is_cancellation_requested()) {
        give_back(std::move(message));
        abandon_call(*id, /*sent=*/false);
        co_return stop.outcome(errc::cancelled);
    }
    if (deferred != nullptr || !try_send_now(call_tag, message)) {
        const errc r = co_await send_queued(message, *id, token, since, deferred, sent);
        if (!life.alive()) co_return errc::broken_promise;
        if (r != errc::ok) {  // send_queued abandoned the call
            give_back(std::move(message));
            co_return stop.outcome(r);
        }
    }
    sent = true;
    give_back(std::move(message));
    ++stats_.calls_sent;
    watch_sent(*id, since);
    if (token.can_be_cancelled()) co_return stop.outcome(co_await wait_cancellable(w, *id, token));
    co_await detail::reply_wait{w};
    co_return errc::ok;
}

namespace {
// What a cancellable wait registers: when its token fires, take `waiter`
// out of the endpoint's queue with `Leave` and resume it with cancelled,
// unless the endpoint is gone (it failed every waiting call already) or the
// waiter left the queue meanwhile.
template <class Waiter>
struct leave_on_cancel {
    detail::lifeline* life;
    Waiter* waiter;
    void (*leave)(endpoint_base& ep, Waiter& w) noexcept;
    static void callback(void* p) noexcept {
        auto* c = static_cast<leave_on_cancel*>(p);
        if (c->life->endpoint != nullptr) c->leave(*c->life->endpoint, *c->waiter);
    }
};
}  // namespace

async::task<expected<std::uint64_t>> endpoint_base::wait_for_slot(
    call_waiter& w, const async::cancellation_token& token, std::uint64_t since) {
    detail::slot_waiter in_line(w);
    in_line.stop = &token;
    in_line.watched = since != unwatched;
    in_line.since = since;
    // Destroyed while it waits (its call_operation died): the queue must not
    // keep a pointer into this frame, nor a slot opened for a dead waiter.
    struct leave_line_if_destroyed {
        detail::lifeline* life;
        detail::slot_waiter* w;
        bool armed = true;
        ~leave_line_if_destroyed() {
            if (!armed || life->endpoint == nullptr) return;
            endpoint_base& ep = *life->endpoint;
            if (!ep.leave_slot_queue(*w) && w->id) ep.abandon_call(*w->id, /*sent=*/false);
        }
    } guard{lifeline_, &in_line};
    leave_on_cancel<detail::slot_waiter> line{
        lifeline_, &in_line, [](endpoint_base& ep, detail::slot_waiter& sw) noexcept {
            if (ep.leave_slot_queue(sw)) ep.resume_slot_waiter(sw, unexpected(errc::cancelled));
        }};
    async::detail::cancel_point point;
    if (!point.arm(*executor_, token, &decltype(line)::callback, &line))
        co_return unexpected(errc::cancelled);
    co_await detail::slot_wait{*this, in_line};
    guard.armed = false;
    co_return in_line.id;  // broken_promise if the endpoint died meanwhile
}

async::task<errc> endpoint_base::send_queued(std::vector<std::byte>& message, std::uint64_t id,
                                             const async::cancellation_token& token,
                                             std::uint64_t since,
                                             const detail::deferred_arguments* deferred,
                                             bool& sent) {
    const detail::lifeline_hold life(lifeline_);
    errc result = errc::ok;
    {
        // A deferred call: the header (its buffer may hold stale bytes after it).
        send_operation sending =
            send(call_tag, deferred != nullptr
                               ? std::span<const std::byte>(message).first(message_header_bytes)
                               : std::span<const std::byte>(message));
        sending.waiter().stop = &token;
        sending.waiter().watched = since != unwatched;
        sending.waiter().since = since;
        sending.waiter().deferred = deferred;
        sending.waiter().spill = &message;
        sending.waiter().sent = &sent;
        leave_on_cancel<detail::send_waiter> queued{
            lifeline_, &sending.waiter(), [](endpoint_base& ep, detail::send_waiter& sw) noexcept {
                if (ep.leave_send_queue(sw)) ep.resume_sender(sw, errc::cancelled);
            }};
        async::detail::cancel_point point;
        if (!point.arm(*executor_, token, &decltype(queued)::callback, &queued))
            result = errc::cancelled;
        else
            result = co_await sending;
    }
    if (!life.alive()) co_return errc::broken_promise;
    if (result != errc::ok) abandon_call(id, /*sent=*/false);
    co_return result;
}

async::task<errc> endpoint_base::wait_cancellable(detail::reply_waiter_base& w, std::uint64_t id,
                                                  const async::cancellation_token& token) {
    struct cancel_context {
        detail::lifeline* life;
        detail::reply_waiter_base* waiter;
        std::uint64_t id;
        bool cancelled = false;
    } context{lifeline_, &w, id};
    async::detail::cancel_point point;
    if (!w.done()) {
        const bool listening = point.arm(
            *executor_, token,
            [](void* p) noexcept {
                auto* c = static_cast<cancel_context*>(p);
                // The reply (or a fault) came first and the caller is about
                // to resume with it: resuming it again would run it twice.
                if (c->waiter->done()) return;
                // The peer is told; a reply that comes later is dropped.
                if (c->life->endpoint != nullptr) c->life->endpoint->abandon_call(c->id, true);
                c->cancelled = true;
                c->waiter->fail(errc::cancelled);
            },
            &context);
        if (!listening) {  // already cancelled
            abandon_call(id, /*sent=*/true);
            co_return errc::cancelled;
        }
    }
    co_await detail::reply_wait{w};
    co_return context.cancelled ? errc::cancelled : errc::ok;
}

detail::queued_reply& endpoint_base::take_reply_slot() noexcept {
    // Every queued reply is an owed one, and at most reply_budget() are owed.
    AIRLOCK_CHECK(!free_replies_.empty(), "more replies queued than owed");
    detail::queued_reply& q = queued_replies_[free_replies_.back()];
    free_replies_.pop_back();
    return q;
}

void endpoint_base::on_reply_gone(detail::send_waiter& w) noexcept {
    auto& q = *static_cast<detail::queued_reply*>(w.context);
    endpoint_base& ep = *q.endpoint;
    if (!q.buffer.empty()) ep.give_back(std::move(q.buffer));
    q.buffer = {};
    ep.free_replies_.push_back(static_cast<std::uint32_t>(&q - ep.queued_replies_.get()));
    ep.reply_settled();
}

void endpoint_base::reply_now_or_queue(std::vector<std::byte>&& reply) noexcept {
    if (try_send_now(reply_tag, reply)) [[likely]] {
        give_back(std::move(reply));
        reply_settled();
        return;
    }
    detail::queued_reply& q = take_reply_slot();
    q.buffer = std::move(reply);
    q.waiter.tag = reply_tag;
    q.waiter.bytes = q.buffer;
    q.waiter.message = ring::outgoing_message(reply_tag, q.waiter.bytes);
    q.waiter.result = errc::ok;
    enqueue_sender(q.waiter);
}

void endpoint_base::reply_error(std::uint64_t id, errc error) noexcept {
    std::array<std::byte, message_header_bytes> bytes{};
    const auto code = static_cast<std::uint64_t>(error);
    std::memcpy(bytes.data(), &id, sizeof id);
    std::memcpy(bytes.data() + 8, &code, sizeof code);
    if (try_send_now(reply_tag, bytes)) [[likely]] {
        reply_settled();
        return;
    }
    detail::queued_reply& q = take_reply_slot();
    q.small = bytes;
    q.waiter.tag = reply_tag;
    q.waiter.bytes = q.small;
    q.waiter.message = ring::outgoing_message(reply_tag, q.waiter.bytes);
    q.waiter.result = errc::ok;
    enqueue_sender(q.waiter);
}

bool endpoint_base::on_owner_thread() noexcept {
    if (executor_->is_owner_thread()) [[likely]]
        return true;
    AIRLOCK_DCHECK(false, "an rpc call made on a thread that is not its endpoint's");
    return false;
}

void endpoint_base::release_elsewhere(async::executor& ex, detail::lifeline* life) noexcept {
    struct release final : async::work_item {
        explicit release(detail::lifeline* l) noexcept : work_item(&run_it, &run_it), life(l) {}
        // Run, or discarded by a dying executor: on the owner thread either way.
        static void run_it(async::work_item& self) noexcept {
            auto* r = static_cast<release*>(&self);
            detail::lifeline* l = r->life;
            delete r;
            if (--l->holders == 0 && l->endpoint == nullptr) delete l;
        }
        detail::lifeline* life;
    };
    auto* item = new (std::nothrow) release(life);
    if (item != nullptr) ex.post(*item);
}

// ============================================================================
// Serving

std::size_t endpoint_base::open_served(std::uint64_t id) {
    AIRLOCK_CHECK(!free_served_.empty(), "more coroutine handlers than max_serving");
    const std::size_t slot = free_served_.back();
    detail::served_call& c = served_[slot];
    c.source.emplace();  // a fresh token: old ones stay with old calls
    c.id = id;
    c.cancelled = false;
    free_served_.pop_back();
    return slot;
}

async::cancellation_token endpoint_base::served_token(std::size_t slot) const noexcept {
    return served_[slot].source->token();
}

bool endpoint_base::close_served(std::size_t slot) noexcept {
    detail::served_call& c = served_[slot];
    const bool cancelled = c.cancelled;
    c.source.reset();
    free_served_.push_back(static_cast<std::uint32_t>(slot));
    return cancelled;
}

// ============================================================================
// Receiving

std::size_t endpoint_base::poll(std::size_t budget) noexcept {
    const bool was_faulted = fault_ != errc::ok;
    std::size_t work = 0;
    const std::size_t limit = std::min(budget, options_.poll_budget);
    // No more messages while every reply this side may owe is owed: the
    // peer is not draining them (back-pressure, bounded memory).
    while (fault_ == errc::ok && work < limit && owed_replies_ < reply_budget()) {
        // Before looking for more (which reads the peer's index and, if it
        // finds nothing, returns released space with a fence), let what this
        // round sent go: a reply waits for nothing else.
        if (unpublished_ && !in_.has_cached_data()) publish_sent();
        expected<ring::message> m = unexpected(errc::ring_empty);
        try {
            m = in_.try_receive();
        } catch (const std::bad_alloc&) {  // reassembly space for a large message
            set_fault(errc::enclave_memory_exhausted);
            break;
        }
        if (!m) {
            if (m.error() != errc::ring_empty) set_fault(m.error());
            break;
        }
        dispatch(*m);
        ++work;
    }
    work += flush_senders();
    flush_cancels();
    if (!pending_returns_.empty()) flush_pool_returns();
    if (unpublished_) publish_sent();
    in_.publish();  // return the space of what was consumed
    // Finding a fault is work: it resumed every waiting call.
    if (!was_faulted && fault_ != errc::ok) ++work;
    return work;
}

void endpoint_base::publish_sent() noexcept {
    out_.publish();  // one release store for every record committed since the last
    unpublished_ = false;
}

bool endpoint_base::has_work() noexcept {
    if (fault_ != errc::ok) return false;
    if (unpublished_ || !pending_cancels_.empty() || !pending_returns_.empty()) return true;
    // A fault found here is work too: poll reports it to every waiter. A
    // message waiting while every reply is owed is not: poll would not take it.
    if (owed_replies_ < reply_budget() && in_.has_data()) return true;
    if (in_.faulted()) return true;
    if (senders_head_ == nullptr || pool_blocked_) return false;
    const std::size_t next =
        goes_through_pool(*senders_head_)
            ? pooled_message_bytes
            : std::min<std::size_t>(senders_head_->bytes.size(), out_.max_single_record());
    return out_.has_space(next) || out_.faulted();
}

void endpoint_base::dispatch(const ring::message& m) noexcept {
    switch (m.tag) {
        case call_tag:
            dispatch_call(m.bytes);
            break;
        case reply_tag:
            dispatch_reply(m.bytes);
            break;
        case cancel_tag:
            dispatch_cancel(m.bytes);
            break;
        case pooled_tag:
            dispatch_pooled(m.bytes);
            break;
        case pool_return_tag:
            dispatch_pool_return(m.bytes);
            break;
        default:
            ++stats_.malformed;
    }
}

void endpoint_base::dispatch_reply(std::span<const std::byte> payload) noexcept {
    if (payload.size() < message_header_bytes) {
        ++stats_.malformed;
        return;
    }
    const std::uint64_t id = read_u64(payload, 0);
    const std::uint64_t code = read_u64(payload, 8);
    const bool delivered =
        code == 0 ? calls_.complete(id, errc::ok, payload.subspan(message_header_bytes))
                  : calls_.complete(id, remote_error(code), {});
    if (delivered) {
        ++stats_.replies_received;
        if (slot_head_ != nullptr) hand_off_slots();  // the freed slot goes to the oldest in line
    } else {
        ++stats_.replies_dropped;
    }
}

void endpoint_base::dispatch_call(std::span<const std::byte> payload) noexcept {
    if (payload.size() < message_header_bytes) {
        ++stats_.malformed;
        return;
    }
    const std::uint64_t id = read_u64(payload, 0);
    const std::uint64_t method = read_u64(payload, 8);
    ++owed_replies_;  // every call is answered: settled once its reply is in the ring
    const std::vector<detail::handler_entry>& handlers = lifeline_->handlers;
    if (method >= handlers.size()) {
        ++stats_.unknown_methods;
        reply_error(id, errc::rpc_unknown_method);
        return;
    }
    // No speculative table read with a hostile index either (#9).
    const detail::handler_entry& entry = handlers[index_nospec(method, handlers.size())];
    if (entry.invoke == nullptr) {
        ++stats_.unknown_methods;
        reply_error(id, errc::rpc_unknown_method);
        return;
    }
    if (serving_ >= options_.max_serving) {
        ++stats_.overloaded;
        reply_error(id, errc::rpc_overloaded);
        return;
    }
    ++serving_;
    try {
        if (!entry.invoke(*this, entry.handler, id, payload.subspan(message_header_bytes))) {
            --serving_;
            reply_error(id, errc::rpc_decode);
        }
    } catch (const std::bad_alloc&) {  // decoding allocates: out of memory is an answer
        --serving_;
        reply_error(id, errc::enclave_memory_exhausted);
    } catch (...) {
        --serving_;
        reply_error(id, errc::rpc_handler_failed);
    }
}

void endpoint_base::dispatch_cancel(std::span<const std::byte> payload) noexcept {
    if (payload.size() != cancel_message_bytes) {
        ++stats_.malformed;
        return;
    }
    const std::uint64_t id = read_u64(payload, 0);
    // The peer's ids: a cancel for one no handler runs is dropped (the
    // handler finished, or it never existed).
    for (std::size_t i = 0; i < options_.max_serving; ++i) {
        detail::served_call& c = served_[i];
        if (!c.busy() || c.cancelled || c.id != id) continue;
        c.cancelled = true;
        ++stats_.cancels_received;
        (void)c.source->request_cancellation();
        return;
    }
}

void endpoint_base::dispatch_pooled(std::span<const std::byte> payload) noexcept {
    if (payload.size() != pooled_message_bytes) {
        ++stats_.malformed;
        return;
    }
    const std::uint64_t inner = read_u64(payload, 0);
    const std::uint64_t offset = read_u64(payload, 8);
    const std::uint64_t length = read_u64(payload, 16);
    // Bounded by this side's own pool size, never by anything the peer
    // wrote (HOSTILE-INPUTS #5, #8), and by the trusted message cap (#19).
    if (!ring::pool_range_ok(in_pool_.size, offset, length)) {
        set_fault(errc::fault_pool_range);
        return;
    }
    if (length > options_.max_message) {
        set_fault(errc::fault_fragment_total);
        return;
    }
    ++stats_.pooled_received;
    if (inner != call_tag && inner != reply_tag) {
        ++stats_.malformed;
        return_pool_buffer(offset, length);
        return;
    }
    std::span<const std::byte> bytes;
    if (read_pool_in_place_) {
        // The host side: the enclave wrote these bytes before the release
        // that published the record this side acquired; nothing rewrites
        // them until this side returns the buffer.
        bytes = {reinterpret_cast<const std::byte*>(in_pool_.data) + offset,
                 static_cast<std::size_t>(length)};
    } else {
        // The enclave side: one copy into private memory, each word loaded
        // once (no double fetch, #6, #7), then the buffer goes back at once.
        try {
            if (pool_copy_.size() < length) pool_copy_.resize(static_cast<std::size_t>(length));
        } catch (const std::bad_alloc&) {
            set_fault(errc::enclave_memory_exhausted);
            return;
        }
        // Clamped without a branch too, like every host-written length and
        // offset before a copy (Spectre v1): even while the checks above
        // are mispredicted, the copy stays inside the private buffer and
        // the pool, and starts on a word.
        const std::size_t room = std::min<std::size_t>(pool_copy_.size(), in_pool_.size);
        const std::size_t n = index_nospec(length, room + 1);
        const std::size_t at = index_nospec(offset, in_pool_.size - n + 1) & ~std::size_t{7};
        ring::shared::copy_out(pool_copy_.data(), in_pool_.data + at / 8, n);
        bytes = {pool_copy_.data(), n};
        return_pool_buffer(offset, length);
    }
    if (inner == call_tag)
        dispatch_call(bytes);
    else
        dispatch_reply(bytes);
    if (read_pool_in_place_)
        return_pool_buffer(offset, length);  // read: a reply or handler is done
}

void endpoint_base::dispatch_pool_return(std::span<const std::byte> payload) noexcept {
    if (payload.size() != pool_return_bytes) {
        ++stats_.malformed;
        return;
    }
    // Only a buffer this side handed out and has not had back (#12):
    // double, forged, partial or overlapping returns fault the channel.
    if (!out_pool_.release(read_u64(payload, 0), read_u64(payload, 8)))
        set_fault(errc::fault_pool_return);
    pool_blocked_ = false;  // the head of the queue may fit now
}

void endpoint_base::fail(errc reason) noexcept {
    set_fault(reason);
}

void endpoint_base::set_fault(errc ring_reason) noexcept {
    if (fault_ != errc::ok) return;
    ring_fault_ = ring_reason;
    fault_ = errc::rpc_channel_faulted;
    fail_waiters(fault_);
}

void endpoint_base::fail_waiters(errc error) noexcept {
    calls_.fail_all(error);
    while (senders_head_ != nullptr) {
        detail::send_waiter& w = *senders_head_;
        (void)leave_send_queue(w);
        resume_sender(w, error);
    }
    while (slot_head_ != nullptr) {
        detail::slot_waiter& w = *slot_head_;
        (void)leave_slot_queue(w);
        resume_slot_waiter(w, unexpected(error));
    }
    pending_cancels_.clear();
    pending_returns_.clear();
    // Handlers still running could not answer any more: stop them at their
    // next cancellation point.
    for (std::size_t i = 0; i < options_.max_serving; ++i) {
        if (served_[i].busy()) (void)served_[i].source->request_cancellation();
    }
}

// ============================================================================
// The default deadline

void endpoint_base::arm_sweep() noexcept {
    if (sweep_period_ns_ == 0) return;  // off
    const std::uint64_t now = executor_->now_ns();
    sweep_alarm_.arm_at(now > ~std::uint64_t{0} - sweep_period_ns_ ? ~std::uint64_t{0}
                                                                   : now + sweep_period_ns_);
}

void endpoint_base::on_sweep(void* self) noexcept {
    static_cast<endpoint_base*>(self)->sweep();
}

void endpoint_base::on_call_expired(void* self, std::uint64_t id) noexcept {
    auto& ep = *static_cast<endpoint_base*>(self);
    ++ep.stats_.calls_timed_out;
    ep.send_cancel(id);  // the peer has the call: it stops its handler
}

void endpoint_base::sweep() noexcept {
    ++epoch_;
    const auto expired = [this](std::uint64_t since) { return epoch_ - since >= sweep_epochs; };
    // Calls waiting for their reply: completed as a reply carrying
    // deadline_exceeded would, so each completes once; the peer is told.
    std::size_t remaining = calls_.sweep(epoch_, sweep_epochs, &on_call_expired, this);
    // Calls waiting for ring space: out of the queue (a partly sent message
    // is aborted, so the peer discards it); send_queued frees their slot.
    for (detail::send_waiter* w = senders_head_; w != nullptr;) {
        detail::send_waiter* next = w->next;
        if (w->watched) {
            if (expired(w->since)) {
                (void)leave_send_queue(*w);
                resume_sender(*w, errc::deadline_exceeded);
                ++stats_.calls_timed_out;
            } else {
                ++remaining;
            }
        }
        w = next;
    }
    // Calls waiting for a slot: they never had one.
    for (detail::slot_waiter* w = slot_head_; w != nullptr;) {
        detail::slot_waiter* next = w->next;
        if (w->watched) {
            if (expired(w->since)) {
                (void)leave_slot_queue(*w);
                resume_slot_waiter(*w, unexpected(errc::deadline_exceeded));
                ++stats_.calls_timed_out;
            } else {
                ++remaining;
            }
        }
        w = next;
    }
    if (slot_head_ != nullptr) hand_off_slots();  // slots freed above go to those in line
    if (remaining != 0) arm_sweep();
}

// ============================================================================
// Setup

endpoint_base::endpoint_base(async::executor& ex, ring::ring_view out, ring::ring_view in,
                             endpoint_wiring wiring, endpoint_options options,
                             bool read_pool_in_place, endpoint_handover* resume)
    : executor_(&ex),
      lifeline_(new detail::lifeline(this)),
      // Resuming, the rings and the call table come from `resume` last
      // (take_over), once nothing can throw: a constructor that fails
      // leaves the handover whole for another try.
      out_(resume != nullptr
               ? ring::ring_producer()
               : ring::ring_producer(out, {.hooks = wiring.hooks, .peer_bell = wiring.peer_bell})),
      in_(resume != nullptr
              ? ring::ring_consumer()
              : ring::ring_consumer(in, {{.hooks = wiring.hooks, .peer_bell = wiring.peer_bell},
                                         options.max_message})),
      options_(options),
      calls_(resume != nullptr ? 1 : options.max_in_flight),
      sweep_period_ns_(options.default_call_timeout_ns / 4 +
                       (options.default_call_timeout_ns % 4 != 0 ? 1 : 0)),
      sweep_alarm_(ex, &on_sweep, this) {
    AIRLOCK_CHECK(options.max_serving >= 1 && options.max_serving < (std::size_t{1} << 24),
                  "max_serving out of range");
    AIRLOCK_CHECK(resume == nullptr || (resume->out_.is_on(out) && resume->in_.is_on(in) &&
                                        resume->calls_.capacity() == options.max_in_flight),
                  "an endpoint resumes the rings and options of the one it follows");
    pool_capacity_ = options.max_in_flight + options.max_serving + 8;
    pool_ = std::make_unique<std::vector<std::byte>[]>(pool_capacity_);
    served_ = std::make_unique<detail::served_call[]>(options.max_serving);
    free_served_.reserve(options.max_serving);
    for (std::size_t i = options.max_serving; i-- > 0;)
        free_served_.push_back(static_cast<std::uint32_t>(i));
    pending_cancels_.reserve(options.max_in_flight);
    if (wiring.out_pool.size != 0) {
        if (resume == nullptr) out_pool_ = ring::pool_allocator(wiring.out_pool);
        // Above the header at least: a call's header is always encoded at once.
        pool_min_ = std::max<std::size_t>(options.pool_threshold, message_header_bytes + 1);
        // The host's peer copies every pooled message out before it reads
        // it: the host's cap (protocol.hh, host_pool_max).
        if (read_pool_in_place) pool_max_ = options.host_pool_max;
    }
    in_pool_ = wiring.in_pool;
    read_pool_in_place_ = read_pool_in_place;
    pending_returns_.reserve(static_cast<std::size_t>(in_pool_.size / ring::wire::pool_granule));
    // Served calls, and replies in the send queue: each at most reply_budget().
    unanswered_.reserve(options.max_serving + reply_budget());
    queued_replies_ = std::make_unique<detail::queued_reply[]>(reply_budget());
    free_replies_.reserve(reply_budget());
    for (std::size_t i = reply_budget(); i-- > 0;) {
        queued_replies_[i].endpoint = this;
        queued_replies_[i].waiter.on_done = &on_reply_gone;
        queued_replies_[i].waiter.context = &queued_replies_[i];
        free_replies_.push_back(static_cast<std::uint32_t>(i));
    }
    executor_->add_source(*this);
    if (resume != nullptr) take_over(*resume);
}

endpoint_base::~endpoint_base() {
    if (lifeline_ == nullptr) return;  // hand_over ended it and let go of its lifeline
    end_waiters();
    if (lifeline_->holders == 0) delete lifeline_;  // and the handlers with it
}

void endpoint_base::end_waiters() noexcept {
    executor_->remove_source(*this);
    // Every waiting call resumes with broken_promise: those waiting for a
    // reply, and those still in line for a slot or for ring space; running
    // handlers are cancelled. What they run next (a caller's code, or the
    // endpoint's own coroutines, which see the cleared lifeline and stop)
    // may run on this executor long after.
    lifeline_->endpoint = nullptr;
    token_watch_.end();  // its calls are failed next; none touches the watch again
    fail_waiters(errc::broken_promise);
}

void endpoint_base::collect_unanswered() noexcept {
    std::vector<std::uint64_t>& ids = unanswered_;
    ids.clear();
    // A call the peer cancelled is not answered: it gave up on it.
    for (std::size_t i = 0; i < options_.max_serving; ++i)
        if (served_[i].busy() && !served_[i].cancelled) ids.push_back(served_[i].id);
    // Replies waiting for ring space, from handlers or queued: the id leads
    // the reply's header.
    for (const detail::send_waiter* w = senders_head_; w != nullptr; w = w->next)
        if (w->tag == reply_tag && w->bytes.size() >= sizeof(std::uint64_t))
            ids.push_back(read_u64(w->bytes, 0));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
}

endpoint_handover endpoint_base::hand_over() noexcept {
    AIRLOCK_CHECK(lifeline_ != nullptr, "an endpoint hands over once");
    // What is owed to the peer goes on with the next endpoint (fail_waiters
    // drops it): the cancels and pool returns in line, a cancel for each
    // call in flight (its caller is told broken_promise), and an answer for
    // each of the peer's calls being served. A faulted channel owes nothing.
    std::vector<std::uint64_t> cancels;
    std::vector<std::array<std::uint64_t, 2>> returns;
    std::vector<std::uint64_t> unanswered;
    if (fault_ == errc::ok) {
        cancels = std::move(pending_cancels_);
        calls_.for_each_outstanding([&](std::uint64_t id) {
            if (cancels.size() < options_.max_in_flight)
                cancels.push_back(id);
            else
                ++stats_.cancels_dropped;
        });
        returns = std::move(pending_returns_);
        collect_unanswered();
        unanswered = std::move(unanswered_);
    }
    end_waiters();
    // The lifeline now belongs to its holders (the last one deletes it), who
    // may let go before this endpoint is destroyed: it is not touched again.
    if (lifeline_->holders == 0) delete lifeline_;
    lifeline_ = nullptr;
    // The calls and sends that fail_waiters ended leave nothing in the
    // rings half written: a message streaming in fragments was abandoned.
    if (fault_ == errc::ok) {
        out_.publish();
        in_.publish();
    }
    endpoint_handover left(std::move(calls_));
    left.out_ = std::move(out_);
    left.in_ = std::move(in_);
    left.out_pool_ = std::move(out_pool_);
    left.pending_cancels_ = std::move(cancels);
    left.pending_returns_ = std::move(returns);
    left.unanswered_ = std::move(unanswered);
    left.fault_ = fault_;
    left.ring_fault_ = ring_fault_;
    return left;
}

void endpoint_base::take_over(endpoint_handover& left) noexcept {
    out_ = std::move(left.out_);
    in_ = std::move(left.in_);
    calls_ = std::move(left.calls_);
    out_pool_ = std::move(left.out_pool_);
    fault_ = left.fault_;
    ring_fault_ = left.ring_fault_;
    if (fault_ != errc::ok) return;
    // Within the reservations made above: at most max_in_flight cancels,
    // and the returns of the peer's pool, whose granules bound them.
    pending_cancels_.assign(left.pending_cancels_.begin(), left.pending_cancels_.end());
    pending_returns_.assign(left.pending_returns_.begin(), left.pending_returns_.end());
    // The peer's calls the last endpoint was serving end with broken_promise.
    for (std::uint64_t id : left.unanswered_) {
        ++owed_replies_;
        reply_error(id, errc::broken_promise);
    }
    if (unpublished_) publish_sent();  // the peer hears now, not at the first poll
}

void endpoint_base::add_handler(std::uint32_t method_id, detail::handler_entry entry) {
    AIRLOCK_CHECK(method_id < (1u << 16), "method ids are small dense numbers");
    AIRLOCK_CHECK(lifeline_ != nullptr, "a handler for an endpoint that was handed over");
    std::vector<detail::handler_entry>& handlers = lifeline_->handlers;
    if (handlers.size() <= method_id) handlers.resize(method_id + 1);
    AIRLOCK_CHECK(handlers[method_id].invoke == nullptr, "a method is served once");
    handlers[method_id] = entry;
}

}  // namespace airlock::rpc
