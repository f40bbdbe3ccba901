// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/rpc/waiters.hh: what a waiting call is made of (internal).
//
// Defines, in `detail`, the pieces of a call that wait inside an endpoint:
// `lifeline` (what outlives the endpoint for the coroutines still using it:
// its handlers, and whether it exists), `send_waiter` (a message waiting for
// ring space), `slot_waiter` (a call waiting for a call slot) and
// `reply_waiter` (a call waiting for its reply). Each waiter owns the
// `async::resumption` that makes its coroutine ready, so destroying a
// waiting call leaves nothing queued (async/resumption.hh).
//
// Thread contract: the endpoint's executor thread only.

#include <array>
#include <coroutine>
#include <cstdint>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/executor.hh"
#include "airlock/async/resumption.hh"
#include "airlock/async/task.hh"
#include "airlock/base/expected.hh"
#include "airlock/ring/spsc_ring.hh"
#include "airlock/rpc/call_table.hh"
#include "airlock/rpc/codec.hh"

namespace airlock::rpc {

class endpoint_base;

namespace detail {

// A handler, type-erased: decodes `args` and serves call `id`. Returns
// false when the arguments do not decode (nothing was started).
using invoke_fn = bool (*)(endpoint_base& ep, void* handler, std::uint64_t id,
                           std::span<const std::byte> args);
struct handler_entry {
    invoke_fn invoke = nullptr;
    void* handler = nullptr;
    void (*destroy)(void*) noexcept = nullptr;
};

// What the endpoint's own coroutines (calls, coroutine handlers, queued
// replies) hold to learn, after each suspension, whether their endpoint still
// exists, and what they still use after it is gone: the handlers, which a
// handler coroutine refers to for as long as it runs. The destructor of the
// endpoint clears `endpoint`; whoever lets go last frees it, handlers
// included. Owner thread only, like the endpoint: a plain count.
struct lifeline {
    explicit lifeline(endpoint_base* ep) noexcept : endpoint(ep) {}
    lifeline(const lifeline&) = delete;
    lifeline& operator=(const lifeline&) = delete;
    endpoint_base* endpoint;
    std::size_t holders = 0;
    std::vector<handler_entry> handlers;  // indexed by method id
    ~lifeline() {
        for (handler_entry& h : handlers)
            if (h.destroy != nullptr) h.destroy(h.handler);
    }
};
class lifeline_hold {
  public:
    explicit lifeline_hold(lifeline* l) noexcept : line_(l) { ++line_->holders; }
    ~lifeline_hold() {
        if (--line_->holders == 0 && line_->endpoint == nullptr) delete line_;
    }
    lifeline_hold(const lifeline_hold&) = delete;
    lifeline_hold& operator=(const lifeline_hold&) = delete;
    [[nodiscard]] bool alive() const noexcept { return line_->endpoint != nullptr; }

  private:
    lifeline* line_;
};

// The arguments of a call large enough for the buffer pool, kept (views as
// views, owning rvalues moved in) until the call reaches the ring, and only
// then encoded, straight into a pool buffer: a queue of large calls holds
// no encoded copies. `bytes` is the whole message, header included. Owned
// by the call_operation; `destroy` frees `state`.
struct deferred_arguments {
    void* state = nullptr;
    void (*encode)(const void* state, writer& w) = nullptr;
    void (*destroy)(void* state) noexcept = nullptr;
    std::size_t bytes = 0;
};

// A message waiting for room in the outgoing ring, in FIFO order. `stop`, if
// set, is the token of the call it carries: a cancelled one is not sent.
// When it has gone (or failed), the coroutine behind `handle` resumes; or,
// for a reply that no coroutine waits for, `on_done` is called instead.
struct send_waiter {
    std::uint16_t tag;
    std::span<const std::byte> bytes;
    ring::outgoing_message message;
    const async::cancellation_token* stop = nullptr;
    std::coroutine_handle<> handle;
    async::resumption resume;
    send_waiter* next = nullptr;
    errc result = errc::ok;
    bool queued = false;
    void (*on_done)(send_waiter& self) noexcept = nullptr;
    void* context = nullptr;  // for on_done
    // A call under the default deadline: the sweep epoch it was made in.
    std::uint64_t since = 0;
    bool watched = false;
    // The buffer pool had no room for it: it streams through the ring, and
    // goes on doing so (a message is never part streamed, part pooled).
    bool streamed = false;
    // It has waited for the peer to return pool buffers (counted once).
    bool pool_waited = false;
    // A call whose arguments are encoded when it is sent: `bytes` is then
    // its header only, and `spill` the buffer that holds the header and
    // takes the whole encoding if it must stream after all.
    const deferred_arguments* deferred = nullptr;
    std::vector<std::byte>* spill = nullptr;
    // The flag of the call it carries, set as soon as all of the call is in
    // the ring (the peer may run it), before its coroutine resumes: a call
    // destroyed in between still tells the peer it gave up. May be null.
    bool* sent = nullptr;
};

// A reply no coroutine waits to send (a synchronous handler's, or an error
// answer) that found no room: it waits in the send queue from one of a fixed
// number of these, so replies a host will not drain cost bounded memory.
struct queued_reply {
    send_waiter waiter{
        0,       {},     ring::outgoing_message(0, {}), nullptr, {}, {}, nullptr, errc::ok, false,
        nullptr, nullptr};
    std::vector<std::byte> buffer;      // a pooled reply buffer, or empty
    std::array<std::byte, 16> small{};  // an error answer: id and code
    endpoint_base* endpoint = nullptr;
};

// A call waiting for a free call slot, in FIFO order. When a slot frees,
// the endpoint opens it for the head of the queue (a hand-off, so no later
// call can take it first) and resumes it with the id, or with the fault or
// errc::cancelled.
struct slot_waiter {
    explicit slot_waiter(call_waiter& w) noexcept : waiter(&w) {}
    call_waiter* waiter;
    const async::cancellation_token* stop = nullptr;
    std::coroutine_handle<> handle{};
    async::resumption resume;
    slot_waiter* prev = nullptr;
    slot_waiter* next = nullptr;
    expected<std::uint64_t> id = unexpected(errc::broken_promise);
    bool queued = false;
    // Under the default deadline: the sweep epoch the call was made in.
    bool watched = false;
    std::uint64_t since = 0;
};

// The untyped part of a pending call: whether its reply came, and the
// coroutine to resume when it does.
class reply_waiter_base : public call_waiter {
  public:
    [[nodiscard]] bool done() const noexcept { return done_; }
    void set_handle(std::coroutine_handle<> h) noexcept { handle_ = h; }
    [[nodiscard]] async::executor& executor() const noexcept { return *executor_; }
    // Completes the call with `error` (cancelled, deadline_exceeded ...).
    void fail(errc error) noexcept { complete(error, {}); }

  protected:
    explicit reply_waiter_base(async::executor& ex) noexcept : executor_(&ex) {}
    ~reply_waiter_base() = default;
    void finish() noexcept {
        done_ = true;
        if (handle_) executor_->enqueue(resume_, handle_);  // resumes in a later round
    }

  private:
    async::executor* executor_;
    std::coroutine_handle<> handle_;
    async::resumption resume_;
    bool done_ = false;
};

// The part of a pending call that the reply completes. The result is
// decoded from private memory; running out of memory while decoding it is
// an answer for this call (enclave_memory_exhausted), never a terminate.
template <class R>
class reply_waiter final : public reply_waiter_base {
  public:
    explicit reply_waiter(async::executor& ex) noexcept : reply_waiter_base(ex) {}
    void complete(errc error, std::span<const std::byte> result) noexcept override {
        if (error != errc::ok) {
            result_ = unexpected(error);
        } else if constexpr (std::is_void_v<R>) {
            result_ = result.empty() ? expected<void>() : unexpected(errc::rpc_decode);
        } else {
            try {
                std::tuple<R> value;
                if (decode_exactly(result, value))
                    result_ = std::move(std::get<0>(value));
                else
                    result_ = unexpected(errc::rpc_decode);
            } catch (...) {  // std::bad_alloc from a container of the result
                result_ = unexpected(errc::enclave_memory_exhausted);
            }
        }
        finish();
    }
    expected<R> take() noexcept { return std::move(result_); }

  private:
    expected<R> result_ = unexpected(errc::broken_promise);
};

// Suspends until the reply_waiter is done.
struct reply_wait {
    reply_waiter_base& waiter;
    [[nodiscard]] bool await_ready() const noexcept { return waiter.done(); }
    void await_suspend(std::coroutine_handle<> h) noexcept { waiter.set_handle(h); }
    void await_resume() const noexcept {}
};

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<async::task<T>> : std::true_type {
    using value_type = T;
};

// The result a handler produces, normalised to expected<R>: an
// `expected<R>` passes through; anything else (an R, or for a method whose
// result is itself an `expected<T, E>`, that value) is the value.
template <class R, class V>
expected<R> as_expected(V&& v) {
    if constexpr (std::is_same_v<std::remove_cvref_t<V>, expected<R>>)
        return std::forward<V>(v);
    else
        return expected<R>(std::forward<V>(v));
}

}  // namespace detail
}  // namespace airlock::rpc
