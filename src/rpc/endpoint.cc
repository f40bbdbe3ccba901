// SPDX-License-Identifier: Apache-2.0
// The untyped machinery of an rpc endpoint: sending with back-pressure,
// dispatching received messages, faults.
#include "airlock/rpc/endpoint.hh"

#include <algorithm>

#include "airlock/base/speculation.hh"

namespace airlock::rpc {
namespace {

std::uint64_t read_u64(std::span<const std::byte> bytes, std::size_t at) noexcept {
    std::uint64_t v = 0;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    return v;
}

// Error codes a peer may send back: the defined async, rpc, sys and suvm
// codes. Anything else (ring faults, platform codes, undefined values) is a
// result out of contract (HOSTILE-INPUTS #13).
errc remote_error(std::uint64_t code) noexcept {
    if (code < 200 || code >= 700 || (code >= 400 && code < 500))
        return errc::rpc_result_out_of_contract;
    // Local conditions a peer cannot report: a channel fault is this side's
    // own finding (HOSTILE-INPUTS #28), and call ids are this side's.
    if (code == static_cast<std::uint64_t>(errc::rpc_channel_faulted) ||
        code == static_cast<std::uint64_t>(errc::rpc_unknown_call_id))
        return errc::rpc_result_out_of_contract;
    const auto e = static_cast<errc>(code);
    if (to_string(e) == "unknown_airlock_error") return errc::rpc_result_out_of_contract;
    return e;
}

// What a waiting call registers with its token: when it is cancelled, take
// `waiter` out of the endpoint's queue with `Leave`, unless the endpoint is
// gone (it failed every waiting call already).
template <class Waiter, void (endpoint_base::*Leave)(Waiter&) noexcept>
struct leave_on_cancel {
    detail::lifeline* life;
    Waiter* waiter;
    static void callback(void* p) noexcept {
        auto* c = static_cast<leave_on_cancel*>(p);
        if (c->life->endpoint != nullptr) (c->life->endpoint->*Leave)(*c->waiter);
    }
};

}  // namespace

// ============================================================================
// Sending

bool detail::send_operation::await_ready() noexcept {
    // Nobody may overtake a queued message: its fragments must stay together
    // and per-channel order must hold.
    if (endpoint_->senders_head_ != nullptr) return false;
    return endpoint_->attempt(waiter_);
}

void detail::send_operation::await_suspend(std::coroutine_handle<> h) noexcept {
    waiter_.handle = h;
    endpoint_->enqueue_sender(waiter_);
}

bool endpoint_base::attempt(detail::send_waiter& w) noexcept {
    if (fault_ != errc::ok) {
        w.result = fault_;
        return true;
    }
    if (w.bytes.size() <= out_.max_record_payload()) {
        // One record: commit now, publish once per poll (batching).
        auto r = out_.try_reserve(w.bytes.size(), w.tag);
        if (r) {
            r->write(w.bytes);
            out_.commit(*r);
            unpublished_ = true;
            return true;
        }
        if (r.error() == errc::ring_full) return false;
        set_fault(r.error());
        w.result = fault_;
        return true;
    }
    auto sent = out_.try_send(w.message);  // fragments; publishes as it goes
    if (sent) return true;
    if (sent.error() == errc::ring_full) return false;
    set_fault(sent.error());
    w.result = fault_;
    return true;
}

void endpoint_base::enqueue_sender(detail::send_waiter& w) noexcept {
    if (fault_ != errc::ok) {  // the channel died between ready and suspend
        w.result = fault_;
        executor_->enqueue(w.handle);
        return;
    }
    w.next = nullptr;
    if (senders_tail_ != nullptr)
        senders_tail_->next = &w;
    else
        senders_head_ = &w;
    senders_tail_ = &w;
}

std::size_t endpoint_base::flush_senders() noexcept {
    std::size_t sent = 0;
    while (senders_head_ != nullptr) {
        detail::send_waiter& w = *senders_head_;
        if (!attempt(w)) break;
        senders_head_ = w.next;
        if (senders_head_ == nullptr) senders_tail_ = nullptr;
        executor_->enqueue(w.handle);
        ++sent;
    }
    return sent;
}

// ============================================================================
// Waiting for a call slot

void endpoint_base::enqueue_slot_waiter(detail::slot_waiter& w) noexcept {
    if (fault_ != errc::ok) {
        w.id = unexpected(fault_);
        executor_->enqueue(w.handle);
        return;
    }
    w.prev = slot_tail_;
    w.next = nullptr;
    if (slot_tail_ != nullptr)
        slot_tail_->next = &w;
    else
        slot_head_ = &w;
    slot_tail_ = &w;
    hand_off_slots();  // a slot may have freed since try_open_call
}

bool endpoint_base::leave_send_queue(detail::send_waiter& w) noexcept {
    detail::send_waiter* prev = nullptr;
    detail::send_waiter* at = senders_head_;
    while (at != nullptr && at != &w) {
        prev = at;
        at = at->next;
    }
    if (at == nullptr) return false;  // not queued: all of it is in the ring already
    out_.abandon(w.message);          // a no-op unless fragments of it were sent
    if (prev != nullptr)
        prev->next = w.next;
    else
        senders_head_ = w.next;
    if (senders_tail_ == &w) senders_tail_ = prev;
    w.next = nullptr;
    return true;
}

void endpoint_base::cancel_send(detail::send_waiter& w) noexcept {
    if (!leave_send_queue(w)) return;
    w.result = errc::cancelled;
    executor_->enqueue(w.handle);
}

bool endpoint_base::leave_slot_queue(detail::slot_waiter& w) noexcept {
    if (w.prev == nullptr && slot_head_ != &w) return false;  // not queued (any more)
    if (w.prev != nullptr)
        w.prev->next = w.next;
    else
        slot_head_ = w.next;
    if (w.next != nullptr)
        w.next->prev = w.prev;
    else
        slot_tail_ = w.prev;
    w.prev = w.next = nullptr;
    return true;
}

void endpoint_base::cancel_slot_wait(detail::slot_waiter& w) noexcept {
    if (!leave_slot_queue(w)) return;
    w.id = unexpected(errc::cancelled);
    executor_->enqueue(w.handle);
}

void endpoint_base::hand_off_slots() noexcept {
    while (slot_head_ != nullptr) {
        detail::slot_waiter& w = *slot_head_;
        auto id = calls_.open(*w.waiter);
        if (!id) return;  // still full
        slot_head_ = w.next;
        if (slot_head_ != nullptr)
            slot_head_->prev = nullptr;
        else
            slot_tail_ = nullptr;
        w.prev = w.next = nullptr;
        w.id = *id;
        executor_->enqueue(w.handle);
    }
}

void endpoint_base::abandon_call(std::uint64_t id) noexcept {
    calls_.abandon(id);
    hand_off_slots();
}

// ============================================================================
// The slow paths of a call

async::task<errc> endpoint_base::finish_call(std::vector<std::byte>& message,
                                             detail::reply_waiter_base& w,
                                             expected<std::uint64_t> id,
                                             async::cancellation_token token,
                                             std::uint64_t& opened) {
    const detail::lifeline_hold life(lifeline_);
    if (!id) {  // every slot taken, or earlier calls wait for one
        id = co_await wait_for_slot(w, token);
        if (!life.alive()) co_return errc::broken_promise;
        if (!id) {
            give_back(std::move(message));
            co_return id.error();
        }
        opened = *id;
        std::memcpy(message.data(), &*id, sizeof(std::uint64_t));
    }
    if (!try_send_now(call_tag, message)) {
        const errc sent = co_await send_queued(message, *id, token);
        if (!life.alive()) co_return errc::broken_promise;
        if (sent != errc::ok) {  // send_queued abandoned the call
            give_back(std::move(message));
            co_return sent;
        }
    }
    give_back(std::move(message));
    ++stats_.calls_sent;
    if (token.can_be_cancelled()) co_return co_await wait_cancellable(w, *id, token);
    co_await detail::reply_wait{w};
    co_return errc::ok;
}

async::task<expected<std::uint64_t>> endpoint_base::wait_for_slot(call_waiter& w,
                                                                  async::cancellation_token token) {
    detail::slot_waiter in_line{&w};
    // Destroyed while it waits (its call_operation died): the queue must not
    // keep a pointer into this frame, nor a slot opened for a dead waiter.
    struct leave_line_if_destroyed {
        detail::lifeline* life;
        detail::slot_waiter* w;
        bool armed = true;
        ~leave_line_if_destroyed() {
            if (!armed || life->endpoint == nullptr) return;
            endpoint_base& ep = *life->endpoint;
            if (!ep.leave_slot_queue(*w) && w->id) ep.abandon_call(*w->id);
        }
    } guard{lifeline_, &in_line};
    leave_on_cancel<detail::slot_waiter, &endpoint_base::cancel_slot_wait> line{lifeline_,
                                                                                &in_line};
    async::cancellation_registration registration;
    if (token.can_be_cancelled() && !registration.try_register(token, line.callback, &line))
        co_return unexpected(errc::cancelled);
    co_await detail::slot_wait{*this, in_line};
    guard.armed = false;
    co_return in_line.id;  // broken_promise if the endpoint died meanwhile
}

async::task<errc> endpoint_base::send_queued(std::span<const std::byte> message, std::uint64_t id,
                                             async::cancellation_token token) {
    const detail::lifeline_hold life(lifeline_);
    errc sent = errc::ok;
    {
        detail::send_operation sending = send(call_tag, message);
        // Destroyed while it waits: out of the queue, its fragments aborted.
        struct leave_queue_if_destroyed {
            detail::lifeline* life;
            detail::send_waiter* w;
            bool armed = true;
            ~leave_queue_if_destroyed() {
                if (armed && life->endpoint != nullptr) (void)life->endpoint->leave_send_queue(*w);
            }
        } guard{lifeline_, &sending.waiter()};
        leave_on_cancel<detail::send_waiter, &endpoint_base::cancel_send> queued{lifeline_,
                                                                                 &sending.waiter()};
        async::cancellation_registration registration;
        if (token.can_be_cancelled() && !registration.try_register(token, queued.callback, &queued))
            sent = errc::cancelled;
        else
            sent = co_await sending;
        guard.armed = false;
    }
    if (!life.alive()) co_return errc::broken_promise;
    if (sent != errc::ok) abandon_call(id);
    co_return sent;
}

async::task<errc> endpoint_base::wait_cancellable(detail::reply_waiter_base& w, std::uint64_t id,
                                                  async::cancellation_token token) {
    struct cancel_context {
        endpoint_base* ep;
        detail::reply_waiter_base* waiter;
        std::uint64_t id;
    } context{this, &w, id};
    async::cancellation_registration registration;
    if (!w.done()) {
        const bool registered = registration.try_register(
            token,
            [](void* p) noexcept {
                auto* c = static_cast<cancel_context*>(p);
                // The reply (or a fault) came first and the caller is about
                // to resume with it: resuming it again would run it twice.
                if (c->waiter->done()) return;
                c->ep->abandon_call(c->id);  // a reply that comes later is dropped
                c->waiter->cancel();
            },
            &context);
        if (!registered) {  // already cancelled
            abandon_call(id);
            co_return errc::cancelled;
        }
    }
    co_await detail::reply_wait{w};
    co_return errc::ok;
}

void endpoint_base::send_reply_soon(std::vector<std::byte> reply) {
    if (try_send_now(reply_tag, reply)) [[likely]] {
        give_back(std::move(reply));
        return;
    }
    executor_->spawn(send_reply(std::move(reply)));
}

async::task<void> endpoint_base::send_reply(std::vector<std::byte> reply) {
    const detail::lifeline_hold life(lifeline_);
    (void)co_await send(reply_tag, reply);
    if (life.alive()) give_back(std::move(reply));
}

void endpoint_base::reply_error(std::uint64_t id, errc error) {
    std::vector<std::byte> reply = take_buffer();
    encode_reply<void>(reply, id, unexpected(error));
    send_reply_soon(std::move(reply));
}

// ============================================================================
// Receiving

std::size_t endpoint_base::poll(std::size_t budget) noexcept {
    std::size_t work = 0;
    const std::size_t limit = std::min(budget, options_.poll_budget);
    while (fault_ == errc::ok && work < limit) {
        // Before looking for more (which reads the peer's index and, if it
        // finds nothing, returns released space with a fence), let what this
        // round sent go: a reply waits for nothing else.
        if (unpublished_ && !in_.has_cached_data()) publish_sent();
        auto m = in_.try_receive();
        if (!m) {
            if (m.error() != errc::ring_empty) set_fault(m.error());
            break;
        }
        dispatch(*m);
        ++work;
    }
    work += flush_senders();
    if (unpublished_) publish_sent();
    in_.publish();  // return the space of what was consumed
    return work;
}

void endpoint_base::publish_sent() noexcept {
    out_.publish();  // one release store for every record committed since the last
    unpublished_ = false;
}

bool endpoint_base::has_work() noexcept {
    if (fault_ != errc::ok) return false;
    if (unpublished_ || in_.has_data()) return true;
    if (senders_head_ == nullptr) return false;
    const std::size_t next =
        std::min<std::size_t>(senders_head_->bytes.size(), out_.max_record_payload());
    return out_.has_space(next);
}

void endpoint_base::dispatch(const ring::message& m) noexcept {
    switch (m.tag) {
        case call_tag:
            dispatch_call(m.bytes);
            break;
        case reply_tag:
            dispatch_reply(m.bytes);
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
    if (method >= handlers_.size()) {
        ++stats_.unknown_methods;
        reply_error(id, errc::rpc_unknown_method);
        return;
    }
    // No speculative table read with a hostile index either (#9).
    const handler_entry& entry = handlers_[index_nospec(method, handlers_.size())];
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
    } catch (...) {  // decoding allocates: out of memory is an answer, not a crash
        --serving_;
        reply_error(id, errc::rpc_handler_failed);
    }
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
        senders_head_ = w.next;
        w.result = error;
        executor_->enqueue(w.handle);
    }
    senders_tail_ = nullptr;
    while (slot_head_ != nullptr) {
        detail::slot_waiter& w = *slot_head_;
        slot_head_ = w.next;
        w.prev = w.next = nullptr;
        w.id = unexpected(error);
        executor_->enqueue(w.handle);
    }
    slot_tail_ = nullptr;
}

// ============================================================================
// Setup

endpoint_base::endpoint_base(async::executor& ex, ring::ring_view out, ring::ring_view in,
                             endpoint_wiring wiring, endpoint_options options)
    : executor_(&ex),
      lifeline_(new detail::lifeline{this}),
      out_(out, {.hooks = wiring.hooks, .peer_bell = wiring.peer_bell}),
      in_(in, {{.hooks = wiring.hooks, .peer_bell = wiring.peer_bell}, options.max_message}),
      options_(options),
      calls_(options.max_in_flight) {
    pool_capacity_ = options.max_in_flight + options.max_serving + 8;
    pool_ = std::make_unique<std::vector<std::byte>[]>(pool_capacity_);
    executor_->add_source(*this);
}

endpoint_base::~endpoint_base() {
    executor_->remove_source(*this);
    // Every waiting call resumes with broken_promise: those waiting for a
    // reply, and those still in line for a slot or for ring space. What they
    // run next (a caller's code, or the endpoint's own coroutines, which see
    // the cleared lifeline and stop) may run on this executor long after.
    lifeline_->endpoint = nullptr;
    fail_waiters(errc::broken_promise);
    if (lifeline_->holders == 0) delete lifeline_;
    for (handler_entry& h : handlers_)
        if (h.destroy != nullptr) h.destroy(h.handler);
}

void endpoint_base::add_handler(std::uint32_t method_id, handler_entry entry) {
    AIRLOCK_CHECK(method_id < (1u << 16), "method ids are small dense numbers");
    if (handlers_.size() <= method_id) handlers_.resize(method_id + 1);
    AIRLOCK_CHECK(handlers_[method_id].invoke == nullptr, "a method is served once");
    handlers_[method_id] = entry;
}

}  // namespace airlock::rpc
