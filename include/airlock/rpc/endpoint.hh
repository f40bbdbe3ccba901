// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/rpc/endpoint.hh: typed asynchronous calls across the boundary.
//
// An `endpoint<side>` is one side's end of a channel: a ring it produces
// into and a ring it consumes from, polled by its executor as an
// async::source. Through it a side calls the methods the other side serves
// (`co_await ep.call(method, args...)`, returning `expected<R>`) and serves
// the methods the other side calls (`ep.serve(method, handler)`). The
// enclave endpoint calls host_methods (ocalls) and serves enclave_methods
// (ecalls); the host endpoint the reverse; anything else does not compile.
//
// Messages (record tag, then payload; integers little-endian):
//   call  (tag 1): call id (8 bytes), method id (8 bytes), encoded arguments
//   reply (tag 2): call id (8 bytes), error code (8 bytes, 0 = ok), encoded result if ok
// Call ids come from each side's own call_table, so the two directions
// have separate id spaces. Incoming calls start their handlers in ring order
// (per-channel ordering); replies go back in completion order, and each
// resumes the coroutine that waits for it. Errors are values: a handler's
// error, an unknown method, undecodable arguments or a thrown exception all
// travel back as an error code, never as an exception.
//
// Hostile peer (HOSTILE-INPUTS #9-15, #19, #25, #28): ids are looked up
// with a bounds check and a branch-free clamp (base/speculation.hh); unknown or stale reply ids
// are dropped and counted; error codes outside the rpc/async/sys ranges
// become rpc_result_out_of_contract; malformed results become rpc_decode; a
// ring fault fails every waiting call with rpc_channel_faulted; the number of
// calls served at once is capped (the excess is answered rpc_overloaded).
//
// Destroying an endpoint resumes every call still waiting (for a reply, a
// call slot or ring space) with broken_promise; its executor may go on
// running, and the endpoint's own coroutines then finish without touching it.
//
// Thread contract: an endpoint belongs to its executor's thread; every call
// is made there. Memory ordering: that of the rings (ring/spsc_ring.hh).

#include <coroutine>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/executor.hh"
#include "airlock/async/task.hh"
#include "airlock/base/expected.hh"
#include "airlock/ring/spsc_ring.hh"
#include "airlock/rpc/call_table.hh"
#include "airlock/rpc/codec.hh"
#include "airlock/rpc/method.hh"

namespace airlock::rpc {

enum class side : std::uint8_t { enclave, host };

// The direction of the methods a side calls.
template <side S>
inline constexpr direction calls_direction =
    S == side::enclave ? direction::enclave_to_host : direction::host_to_enclave;

// Record tags of the rpc protocol.
inline constexpr std::uint16_t call_tag = 1;
inline constexpr std::uint16_t reply_tag = 2;
// Bytes before the arguments of a call and before the result of a reply.
inline constexpr std::size_t message_header_bytes = 16;

struct endpoint_options {
    std::size_t max_in_flight = 256;                 // calls this side may have outstanding
    std::size_t max_serving = 256;                   // incoming calls whose handlers run at once
    std::size_t max_message = std::size_t{1} << 21;  // trusted cap on a received message
    std::size_t poll_budget = 64;                    // messages handled per poll
};

// How the endpoint wakes the other side: the platform's hooks and the
// doorbell the peer's executor parks on.
struct endpoint_wiring {
    ring::wait_hooks* hooks = nullptr;
    ring::wire::doorbell* peer_bell = nullptr;
};

struct endpoint_stats {
    std::uint64_t calls_sent = 0;
    std::uint64_t replies_received = 0;
    std::uint64_t calls_served = 0;
    std::uint64_t replies_dropped = 0;  // unknown, stale or duplicate call ids
    std::uint64_t unknown_methods = 0;  // calls for a method not served here
    std::uint64_t malformed = 0;        // messages too short or with an unknown tag
    std::uint64_t overloaded = 0;       // calls refused at max_serving
};

class endpoint_base;

namespace detail {
struct slot_wait;

// What the endpoint's own coroutines (calls, coroutine handlers, queued
// replies) hold to learn, after each suspension, whether their endpoint still
// exists. The destructor clears `endpoint` and resumes every waiting call
// with broken_promise; a coroutine that then finds it cleared finishes
// without touching the endpoint. Whoever lets go last frees it. Owner thread
// only, like the endpoint: a plain count.
struct lifeline {
    endpoint_base* endpoint;
    std::size_t holders = 0;
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

// A message waiting for room in the outgoing ring, in FIFO order.
struct send_waiter {
    std::uint16_t tag;
    std::span<const std::byte> bytes;
    ring::outgoing_message message;
    std::coroutine_handle<> handle;
    send_waiter* next = nullptr;
    errc result = errc::ok;
};

// A call waiting for a free call slot, in FIFO order. When a slot frees,
// the endpoint opens it for the head of the queue (a hand-off, so no later
// call can take it first) and resumes it with the id, or with the fault or
// errc::cancelled.
struct slot_waiter {
    call_waiter* waiter;
    std::coroutine_handle<> handle{};
    slot_waiter* prev = nullptr;
    slot_waiter* next = nullptr;
    expected<std::uint64_t> id = unexpected(errc::broken_promise);
};

// `co_await ep.send(tag, bytes)`: sends now if nobody queues before it and
// the ring has room, else waits its turn. Returns ok or the channel fault.
class [[nodiscard("co_await it")]] send_operation {
  public:
    send_operation(endpoint_base & ep, std::uint16_t tag, std::span<const std::byte> bytes) noexcept
        : endpoint_(&ep),
          waiter_{tag, bytes, ring::outgoing_message(tag, bytes), {}, nullptr, errc::ok} {}
    [[nodiscard]] bool await_ready() noexcept;
    void await_suspend(std::coroutine_handle<> h) noexcept;
    [[nodiscard]] errc await_resume() const noexcept {
        return waiter_.result;
    }
    // For a cancellation callback: the queue entry this send occupies.
    [[nodiscard]] send_waiter& waiter() noexcept {
        return waiter_;
    }

  private:
    endpoint_base* endpoint_;
    send_waiter waiter_;
};

// The untyped part of a pending call: whether its reply came, and the
// coroutine to resume when it does.
class reply_waiter_base : public call_waiter {
  public:
    [[nodiscard]] bool done() const noexcept { return done_; }
    void set_handle(std::coroutine_handle<> h) noexcept { handle_ = h; }
    [[nodiscard]] async::executor& executor() const noexcept { return *executor_; }
    // Completes the call with errc::cancelled.
    void cancel() noexcept { complete(errc::cancelled, {}); }

  protected:
    explicit reply_waiter_base(async::executor& ex) noexcept : executor_(&ex) {}
    ~reply_waiter_base() = default;
    void finish() noexcept {
        done_ = true;
        if (handle_) executor_->enqueue(handle_);  // resumes in the next round
    }

  private:
    async::executor* executor_;
    std::coroutine_handle<> handle_;
    bool done_ = false;
};

// The part of a pending call that the reply completes.
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
            std::tuple<R> value;
            if (decode_exactly(result, value))
                result_ = std::move(std::get<0>(value));
            else
                result_ = unexpected(errc::rpc_decode);
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
template <class T>
struct is_expected_type : std::false_type {};
template <class T, class E>
struct is_expected_type<expected<T, E>> : std::true_type {};

// The result a handler produces, normalised to expected<R>.
template <class R, class V>
expected<R> as_expected(V&& v) {
    if constexpr (is_expected_type<std::remove_cvref_t<V>>::value)
        return std::forward<V>(v);
    else
        return expected<R>(std::forward<V>(v));
}

}  // namespace detail

// The side-independent machinery of an endpoint.
class endpoint_base : public async::source {
  public:
    // `out` is the ring this side produces into, `in` the ring it consumes;
    // both from a region attached on this side. Registers with `ex`.
    endpoint_base(async::executor& ex, ring::ring_view out, ring::ring_view in,
                  endpoint_wiring wiring, endpoint_options options);
    ~endpoint_base();
    endpoint_base(const endpoint_base&) = delete;
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
    [[nodiscard]] async::executor& executor() const noexcept { return *executor_; }

    // Sends one message (any size), waiting for room in FIFO order.
    [[nodiscard]] detail::send_operation send(std::uint16_t tag,
                                              std::span<const std::byte> bytes) noexcept {
        return {*this, tag, bytes};
    }

  protected:
    // A handler, type-erased: decodes `args` and serves call `id`. Returns
    // false when the arguments do not decode (nothing was started).
    using invoke_fn = bool (*)(endpoint_base& ep, void* handler, std::uint64_t id,
                               std::span<const std::byte> args);
    struct handler_entry {
        invoke_fn invoke = nullptr;
        void* handler = nullptr;
        void (*destroy)(void*) noexcept = nullptr;
    };
    void add_handler(std::uint32_t method_id, handler_entry entry);

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

    // The rest of a call that could not take the fast path (call_operation):
    // waits for a slot if `id` holds none (then writes it into `message` and
    // `opened`), sends, waits for the reply. Returns ok once `w` is done (its
    // result says what came back), or why the call ended without a reply
    // (then it is abandoned). `message`, `w` and `opened` belong to the
    // awaiting call_operation, which outlives this task.
    async::task<errc> finish_call(std::vector<std::byte>& message, detail::reply_waiter_base& w,
                                  expected<std::uint64_t> id, async::cancellation_token token,
                                  std::uint64_t& opened);
    // The body of every served call with a coroutine handler: runs the
    // handler, sends the reply.
    template <class R, class F, class Args>
    async::task<void> run_serve(F& handler, std::uint64_t id, Args args);
    // A served call with a synchronous handler: runs it and replies now.
    template <class R, class F, class Args>
    void serve_now(F& handler, std::uint64_t id, Args args) noexcept;
    // Sends an encoded reply: at once when it fits and nobody queues before
    // it, otherwise from a spawned task that waits for room.
    void send_reply_soon(std::vector<std::byte> reply);
    void reply_error(std::uint64_t id, errc error);
    async::task<void> send_reply(std::vector<std::byte> reply);
    // A served call finished: one fewer running.
    void served() noexcept {
        ++stats_.calls_served;
        --serving_;
    }

    template <class R>
    void encode_reply(std::vector<std::byte>& out, std::uint64_t id, const expected<R>& result);

    // Why a call of `bytes` encoded bytes must not start (the channel
    // faulted, the token is cancelled: nothing is sent; too large for the
    // peer, which would fault the channel on it), or ok.
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
    // Sends `bytes` as one record at once if nothing queues before it, the
    // channel is healthy and the ring has room: committed, published at the
    // end of the poll. False when it must go through send() instead.
    [[nodiscard]] bool try_send_now(std::uint16_t tag, std::span<const std::byte> bytes) noexcept {
        if (senders_head_ != nullptr || fault_ != errc::ok ||
            bytes.size() > out_.max_record_payload()) [[unlikely]]
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
    // Waits in line for a call slot for `w` (no polling; calls keep the
    // order they were made in): its id, errc::cancelled, or the fault.
    async::task<expected<std::uint64_t>> wait_for_slot(call_waiter& w,
                                                       async::cancellation_token token);
    // Sends call `id` through the queue for ring space: ok, or
    // errc::cancelled / the fault, after which the call is abandoned (a
    // fragmented message partly in the ring is aborted, so the peer discards
    // it whole).
    async::task<errc> send_queued(std::span<const std::byte> message, std::uint64_t id,
                                  async::cancellation_token token);
    // Waits for the reply to call `id` while `token` may cancel it: ok once
    // `w` is done, or errc::cancelled (the call is abandoned, and a reply
    // that comes later is dropped).
    async::task<errc> wait_cancellable(detail::reply_waiter_base& w, std::uint64_t id,
                                       async::cancellation_token token);

    // Queues `w` for a slot; it resumes through the executor once it has one.
    void enqueue_slot_waiter(detail::slot_waiter& w) noexcept;
    // Take `w` out of their queue (the send queue abandons a partly sent
    // message); false if it was not queued. Nothing is resumed.
    bool leave_send_queue(detail::send_waiter& w) noexcept;
    bool leave_slot_queue(detail::slot_waiter& w) noexcept;
    // Takes `w` out of the send queue (its call was cancelled) and resumes it
    // with errc::cancelled; abandons its message if part of it was sent. Does
    // nothing once the message is all in the ring.
    void cancel_send(detail::send_waiter& w) noexcept;
    // Takes `w` out of the queue (cancelled before a slot freed) and resumes it.
    void cancel_slot_wait(detail::slot_waiter& w) noexcept;
    // The caller gives up on call `id` (cancellation, failed send): frees its
    // slot, so a late reply is dropped, and hands the slot on.
    void abandon_call(std::uint64_t id) noexcept;

  private:
    friend class detail::send_operation;
    friend struct detail::slot_wait;
    template <class R>
    friend class call_operation;

    // Opens freed slots for the calls waiting for one, oldest first.
    void hand_off_slots() noexcept;

    // Tries to move `w` into the ring; true when it is all there (or failed).
    bool attempt(detail::send_waiter& w) noexcept;
    void enqueue_sender(detail::send_waiter& w) noexcept;
    std::size_t flush_senders() noexcept;
    // Publishes the records committed since the last publish.
    void publish_sent() noexcept;
    void dispatch(const ring::message& m) noexcept;
    void dispatch_call(std::span<const std::byte> payload) noexcept;
    void dispatch_reply(std::span<const std::byte> payload) noexcept;
    [[gnu::cold]] void set_fault(errc ring_reason) noexcept;
    // Resumes every waiting call (for a reply, a slot or ring space) with `error`.
    void fail_waiters(errc error) noexcept;

    async::executor* executor_;
    detail::lifeline* lifeline_;  // cleared and handed over by the destructor
    ring::ring_producer out_;
    ring::ring_consumer in_;
    endpoint_options options_;
    call_table calls_;
    std::vector<handler_entry> handlers_;  // indexed by method id
    // The buffer pool: pool_[0, pooled_) are free buffers.
    std::unique_ptr<std::vector<std::byte>[]> pool_;
    std::size_t pool_capacity_ = 0;
    std::size_t pooled_ = 0;
    detail::send_waiter* senders_head_ = nullptr;
    detail::send_waiter* senders_tail_ = nullptr;
    detail::slot_waiter* slot_head_ = nullptr;
    detail::slot_waiter* slot_tail_ = nullptr;
    std::size_t serving_ = 0;
    bool unpublished_ = false;
    errc fault_ = errc::ok;
    errc ring_fault_ = errc::ok;
    endpoint_stats stats_;
};

namespace detail {
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

// `call_operation<R>` is what `endpoint::call` returns: one call, encoded
// and not yet sent, that `co_await` sends and that resumes with its
// `expected<R>`. The common case (the channel healthy, a free call slot, room
// in the ring, a token that cannot be cancelled) is an awaitable with no
// coroutine frame of its own: awaiting it commits the record into the ring
// and suspends the caller until the reply resumes it directly. Anything else
// continues in the endpoint's untyped slow path (finish_call), which the
// operation awaits in turn.
//
// Awaited at most once. Before that it may be moved, or converted to
// `task_type` (a task that awaits it), for code that stores calls as tasks
// or hands them to async::sync_wait or async::when_all (which take it
// directly too). Destroying an operation that was sent but not answered
// gives up its call: the slot frees and a late reply is dropped.
template <class R>
class [[nodiscard("co_await it")]] call_operation {
  public:
    using task_type = async::task<expected<R>>;

    call_operation(endpoint_base & ep, std::vector<std::byte> message,
                   async::cancellation_token token) noexcept
        : endpoint_(&ep),
          life_(ep.lifeline_),
          message_(std::move(message)),
          token_(token),
          waiter_(*ep.executor_) {
        ++life_->holders;
    }
    call_operation(call_operation && other) noexcept
        : endpoint_(other.endpoint_),
          life_(std::exchange(other.life_, nullptr)),
          message_(std::move(other.message_)),
          token_(other.token_),
          waiter_(other.waiter_.executor()) {
        AIRLOCK_CHECK(other.state_ == state::fresh, "a call moved after it was awaited");
    }
    call_operation& operator=(call_operation&&) = delete;
    ~call_operation() {
        if (life_ == nullptr) return;  // moved from
        slow_ = {};                    // its frames leave the endpoint's queues first
        if (state_ != state::fresh && state_ != state::refused && id_ != no_call &&
            life_->endpoint != nullptr && !waiter_.done())
            endpoint_->abandon_call(id_);  // a late reply is dropped (stale ids are ignored)
        if (--life_->holders == 0 && life_->endpoint == nullptr) delete life_;
    }

    [[nodiscard]] bool await_ready() noexcept {
        AIRLOCK_CHECK(state_ == state::fresh && life_ != nullptr, "a call is awaited once");
        if (life_->endpoint == nullptr) [[unlikely]] {  // the endpoint died before the call began
            result_error_ = errc::broken_promise;
            state_ = state::refused;
            return true;
        }
        endpoint_base& ep = *endpoint_;
        if (const errc refused = ep.refusal(message_.size(), token_); refused != errc::ok)
            [[unlikely]] {
            ep.give_back(std::move(message_));
            result_error_ = refused;
            state_ = state::refused;
            return true;
        }
        expected<std::uint64_t> id = ep.try_open_call(waiter_);
        if (id) [[likely]] {
            id_ = *id;
            std::memcpy(message_.data(), &id_, sizeof id_);
            if (!token_.can_be_cancelled() && ep.try_send_now(call_tag, message_)) [[likely]] {
                ep.give_back(std::move(message_));
                ++ep.stats_.calls_sent;
                state_ = state::replying;
                return false;  // the reply comes through a later poll
            }
        }
        slow_ = ep.finish_call(message_, waiter_, id, token_, id_);
        state_ = state::slow;
        return false;
    }
    bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
        if (state_ == state::replying) {
            waiter_.set_handle(awaiting);
            return true;
        }
        return slow_.when_ready().await_suspend(awaiting);
    }
    [[nodiscard]] expected<R> await_resume() noexcept {
        if (state_ == state::refused) return unexpected(result_error_);
        if (state_ == state::slow) {
            if (const errc e = async::detail::task_access::take(slow_); e != errc::ok)
                return unexpected(e);
        }
        return waiter_.take();
    }

    // A task that awaits this call.
    operator task_type()&& {  // NOLINT(google-explicit-constructor): calls are tasks to callers
        return as_task(std::move(*this));
    }

  private:
    static task_type as_task(call_operation op) {
        co_return co_await op;
    }

    enum class state : std::uint8_t { fresh, refused, replying, slow };
    static constexpr std::uint64_t no_call = ~std::uint64_t{0};

    endpoint_base* endpoint_;
    detail::lifeline* life_;  // held: the endpoint may die while the call waits
    std::vector<std::byte> message_;
    async::cancellation_token token_;
    detail::reply_waiter<R> waiter_;
    async::task<errc> slow_;
    std::uint64_t id_ = no_call;  // the call's id once it has a slot
    errc result_error_ = errc::ok;
    state state_ = state::fresh;
};

// `endpoint<S>` adds the typed, direction-checked verbs.
template <side S>
class endpoint final : public endpoint_base {
  public:
    using endpoint_base::endpoint_base;

    // Calls `m` on the other side with `args`, which are encoded at once
    // (so temporaries may die before the call is awaited). Awaiting the
    // call_operation sends it and resumes with the result, or with an error:
    // the handler's, rpc_unknown_method, rpc_decode, rpc_overloaded,
    // rpc_handler_failed, rpc_channel_faulted, or errc::cancelled when
    // `token` is cancelled first (the late reply is then dropped). It
    // converts to a task<expected<R>>. Owner thread; awaitable from any
    // coroutine on it.
    template <class M, class... A>
    requires method_descriptor<M> &&(M::dir == calls_direction<S>)
        [[nodiscard]] call_operation<typename M::result_type> call(async::cancellation_token token,
                                                                   const M& /*m*/, A&&... args) {
        static_assert(sizeof...(A) == std::tuple_size_v<typename M::arguments>,
                      "wrong number of arguments for this method");
        std::vector<std::byte> message = take_buffer();
        writer w(message, writer::reuse);
        w.put_u64(0);  // call id, filled in when the call opens its slot
        w.put_u64(M::id);
        encode_arguments<typename M::parameters>(w, std::index_sequence_for<A...>{},
                                                 std::forward<A>(args)...);
        w.finish();
        return {*this, std::move(message), token};
    }
    template <class M, class... A>
    requires method_descriptor<M> &&(M::dir == calls_direction<S>)
        [[nodiscard]] call_operation<typename M::result_type> call(const M& m, A&&... args) {
        return call(async::cancellation_token{}, m, std::forward<A>(args)...);
    }

    // Serves `m`: `handler(args...)` returns R, expected<R>, task<R> or
    // task<expected<R>>. Setup path (allocates); call before the peer calls.
    template <class M, class F>
    requires method_descriptor<M> &&
        (M::dir != calls_direction<S>)void serve(const M& m, F handler) {
        using R = typename M::result_type;
        using Args = typename M::arguments;
        auto* stored = new F(std::move(handler));
        add_handler(M::id, {.invoke =
                                [](endpoint_base& ep, void* h, std::uint64_t id,
                                   std::span<const std::byte> bytes) {
                                    auto& self = static_cast<endpoint&>(ep);
                                    F& fn = *static_cast<F*>(h);
                                    Args args;
                                    if (!decode_exactly(bytes, args)) return false;
                                    using V = decltype(std::apply(fn, std::move(args)));
                                    if constexpr (detail::is_task<V>::value) {
                                        // Started now, so that handlers start in
                                        // ring order whatever their kind.
                                        self.executor().spawn_now(
                                            self.template run_serve<R>(fn, id, std::move(args)));
                                    } else {
                                        // A synchronous handler runs here and now:
                                        // no coroutine frame, the reply goes out at once.
                                        self.template serve_now<R>(fn, id, std::move(args));
                                    }
                                    return true;
                                },
                            .handler = stored,
                            .destroy = [](void* h) noexcept { delete static_cast<F*>(h); }});
        (void)m;
    }

  private:
    // Encodes each argument as the declared parameter type: a vector passed
    // for a span parameter is encoded through a span, never copied first.
    template <class Params, class... A, std::size_t... I>
    static void encode_arguments(writer& w, std::index_sequence<I...>, A&&... args) {
        (encode_as<std::tuple_element_t<I, Params>>(w, std::forward<A>(args)), ...);
    }
    template <class P, class X>
    static void encode_as(writer& w, X&& x) {
        if constexpr (std::is_same_v<std::remove_cvref_t<X>, P>) {
            codec<P>::encode(w, x);
        } else {
            const P p(std::forward<X>(x));
            codec<P>::encode(w, p);
        }
    }
};

// ---------------------------------------------------------------------------
// Templates of endpoint_base.

template <class R>
void endpoint_base::encode_reply(std::vector<std::byte>& out, std::uint64_t id,
                                 const expected<R>& result) {
    writer w(out, writer::reuse);
    w.put_u64(id);
    w.put_u64(result.has_value() ? 0 : static_cast<std::uint64_t>(result.error()));
    if constexpr (!std::is_void_v<R>) {
        if (result.has_value()) encode(w, *result);
    }
    w.finish();
    if (out.size() > options_.max_message) [[unlikely]] {
        // The caller's side would fault the channel on it: answer the error.
        writer e(out, writer::reuse);
        e.put_u64(id);
        e.put_u64(static_cast<std::uint64_t>(errc::rpc_message_too_large));
        e.finish();
    }
}

template <class R, class F, class Args>
async::task<void> endpoint_base::run_serve(F& handler, std::uint64_t id, Args args) {
    const detail::lifeline_hold life(lifeline_);
    expected<R> result = unexpected(errc::rpc_handler_failed);
    try {
        using V =
            typename detail::is_task<decltype(std::apply(handler, std::move(args)))>::value_type;
        if constexpr (std::is_void_v<V>) {
            co_await std::apply(handler, std::move(args));
            result = expected<R>();
        } else {
            result = detail::as_expected<R>(co_await std::apply(handler, std::move(args)));
        }
    } catch (...) {
        result = unexpected(errc::rpc_handler_failed);  // exceptions stay on this side
    }
    if (!life.alive()) co_return;  // nobody left to answer through
    served();
    std::vector<std::byte> reply = take_buffer();
    encode_reply<R>(reply, id, result);
    (void)co_await send(reply_tag, reply);
    if (life.alive()) give_back(std::move(reply));
}

template <class R, class F, class Args>
void endpoint_base::serve_now(F& handler, std::uint64_t id, Args args) noexcept {
    expected<R> result = unexpected(errc::rpc_handler_failed);
    try {
        using V = decltype(std::apply(handler, std::move(args)));
        if constexpr (std::is_void_v<V>) {
            std::apply(handler, std::move(args));
            result = expected<R>();
        } else {
            result = detail::as_expected<R>(std::apply(handler, std::move(args)));
        }
    } catch (...) {
        result = unexpected(errc::rpc_handler_failed);
    }
    served();
    std::vector<std::byte> reply = take_buffer();
    encode_reply<R>(reply, id, result);
    send_reply_soon(std::move(reply));
}

}  // namespace airlock::rpc
