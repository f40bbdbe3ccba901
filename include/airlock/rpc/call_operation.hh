// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/rpc/call_operation.hh: one call across the boundary, as an awaitable.
//
// `call_operation<R>` is what `endpoint::call` returns: one call, encoded
// and not yet sent, that `co_await` sends and that resumes with its
// `expected<R>`. It is a cancellation point: it observes the token given to
// `call`, the awaiting task's own token (async/task.hh) and a deadline set
// with `with_deadline`/`with_timeout`, and ends with errc::cancelled or
// errc::deadline_exceeded when one of them fires first (the peer is told,
// and its late reply dropped). Without a deadline of its own, the
// endpoint's default one bounds it (endpoint_options::default_call_timeout_ns).
// The common case (the channel healthy, a free call slot, room in the ring,
// no deadline of its own, at most one token that can cancel it) has no
// coroutine frame of its own: awaiting it commits the record into the ring,
// listens to that token (a call inside when_all, a scope or any task with a
// stop source has one) and suspends the caller until the reply, or the
// cancellation, resumes it directly. Anything else continues in the
// endpoint's untyped slow path (finish_call), which the operation awaits in
// turn.
//
// A call whose encoding is at least the endpoint's pool threshold, on a
// channel with a buffer pool, is encoded only when it is sent, straight into
// a pool buffer: until then it keeps its arguments (views as views, owning
// rvalues moved in), so the bytes a span, string_view or borrowed_bytes
// argument names must stay valid and unchanged until the call is awaited.
//
// Made or awaited on a thread that is not the endpoint's, it yields
// rpc_wrong_thread and touches neither the ring nor the endpoint (debug
// builds abort at the mistake).
//
// Awaited at most once. Before that it may be moved, or converted to
// `task_type` (a task that awaits it), for code that stores calls as tasks;
// async::sync_wait, when_all and when_any take it directly. Destroying an
// operation that was never awaited returns its buffer; destroying one that
// was sent but not answered gives up its call: the slot frees, the peer is
// told, and a late reply is dropped.
//
// Thread contract: the endpoint's executor thread (see endpoint_base.hh).

#include <coroutine>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "airlock/async/cancel_point.hh"
#include "airlock/async/cancellation.hh"
#include "airlock/async/resumption.hh"
#include "airlock/async/task.hh"
#include "airlock/base/check.hh"
#include "airlock/base/expected.hh"
#include "airlock/rpc/endpoint_base.hh"
#include "airlock/rpc/waiters.hh"

namespace airlock::rpc {

template <class R>
class [[nodiscard("co_await it")]] call_operation {
  public:
    using task_type = async::task<expected<R>>;

    // `deferred`: the arguments, not yet encoded (a call large enough for
    // the buffer pool; `message` then holds its header); owned from here.
    call_operation(endpoint_base & ep, std::vector<std::byte> message,
                   async::cancellation_token token,
                   detail::deferred_arguments deferred = {}) noexcept
        : endpoint_(&ep),
          life_(ep.lifeline_),
          message_(std::move(message)),
          token_(std::move(token)),
          waiter_(*ep.executor_),
          deferred_(deferred) {
        ++life_->holders;
    }
    // A call made on a thread that is not the endpoint's: awaiting it yields
    // rpc_wrong_thread. It holds nothing of the endpoint (whose state
    // belongs to the owner thread).
    static call_operation made_elsewhere(endpoint_base & ep) noexcept {
        return call_operation(ep, elsewhere{});
    }
    call_operation(call_operation && other) noexcept
        : endpoint_(other.endpoint_),
          life_(std::exchange(other.life_, nullptr)),
          message_(std::move(other.message_)),
          token_(std::move(other.token_)),
          waiter_(other.waiter_.executor()),
          deferred_(std::exchange(other.deferred_, {})),
          deadline_ns_(other.deadline_ns_),
          thread_(other.thread_),
          result_error_(other.result_error_),
          state_(other.state_) {
        AIRLOCK_CHECK(other.state_ == state::fresh || other.state_ == state::refused,
                      "a call moved after it was awaited");
    }
    call_operation& operator=(call_operation&&) = delete;
    ~call_operation() {
        if (life_ == nullptr) return;  // moved from, or made elsewhere
        if (!on_its_thread()) [[unlikely]] {
            // Awaited (or dropped) on another thread, so never sent: the
            // endpoint is not touched here; its hold goes back on the
            // owner thread.
            endpoint_base::release_elsewhere(waiter_.executor(), life_);
        } else {
            stop_listening();  // never called back once destroyed
            slow_ = {};        // its frames leave the endpoint's queues first
            if (life_->endpoint != nullptr) {
                if (state_ == state::fresh)
                    endpoint_->give_back(std::move(message_));
                else if ((state_ == state::replying || state_ == state::slow) && id_ != no_call &&
                         !waiter_.done())
                    endpoint_->abandon_call(id_, sent_);  // a late reply is dropped
            }
            if (--life_->holders == 0 && life_->endpoint == nullptr) delete life_;
        }
        if (deferred_.state != nullptr) deferred_.destroy(deferred_.state);
    }

    // The call ends with errc::deadline_exceeded if no reply has come by
    // `deadline_ns` on the executor's clock (or `timeout_ns` from now).
    call_operation&& with_deadline(std::uint64_t deadline_ns)&& noexcept {
        deadline_ns_ = deadline_ns == 0 ? 1 : deadline_ns;  // 0 means none
        return std::move(*this);
    }
    call_operation&& with_timeout(std::uint64_t timeout_ns)&& noexcept {
        const std::uint64_t now = waiter_.executor().now_ns();
        const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
        return std::move(*this).with_deadline(timeout_ns > max - now ? max : now + timeout_ns);
    }

    [[nodiscard]] bool await_ready() noexcept {
        AIRLOCK_CHECK(state_ == state::refused || (life_ != nullptr && state_ == state::fresh),
                      "a call is awaited once");
        if (state_ == state::refused) return true;
        // Awaited on a thread that is not the endpoint's (a coroutine that
        // hopped since it made the call): nothing of the endpoint is
        // touched, nothing is sent.
        if (!on_its_thread()) [[unlikely]] {
            AIRLOCK_DCHECK(false, "an rpc call awaited on a thread that is not its endpoint's");
            return refuse(errc::rpc_wrong_thread);
        }
        if (life_->endpoint == nullptr) [[unlikely]] {  // the endpoint died before the call began
            return refuse(errc::broken_promise);
        }
        endpoint_base& ep = *endpoint_;
        const std::size_t bytes = deferred_.state != nullptr ? deferred_.bytes : message_.size();
        if (const errc why = ep.refusal(bytes, token_); why != errc::ok) [[unlikely]] {
            ep.give_back(std::move(message_));
            return refuse(why);
        }
        return false;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> awaiting) noexcept {
        return suspend(awaiting);
    }
    [[nodiscard]] expected<R> await_resume() noexcept {
        if (state_ == state::refused) return unexpected(result_error_);
        stop_listening();
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
    struct elsewhere {};
    call_operation(endpoint_base & ep, elsewhere) noexcept
        : endpoint_(&ep),
          life_(nullptr),
          waiter_(*ep.executor_),
          result_error_(errc::rpc_wrong_thread),
          state_(state::refused) {}

    static task_type as_task(call_operation op) {
        co_return co_await op;
    }

    // True on the thread the call was made on: its endpoint's, whose
    // executor may be gone by now (so it is not asked).
    [[nodiscard]] bool on_its_thread() const noexcept {
        return &async::detail::tls_thread_marker == thread_;
    }

    bool refuse(errc why) noexcept {
        result_error_ = why;
        state_ = state::refused;
        return true;
    }

    // Typed on the awaiting promise so that the slow path's task inherits the
    // caller's whole context (token and spawned root), not just its token.
    template <class P>
    bool suspend(std::coroutine_handle<P> awaiting) noexcept {
        const async::detail::task_context* context = async::detail::context_of(awaiting);
        const async::cancellation_token* inherited = context != nullptr ? &context->token : nullptr;
        endpoint_base& ep = *endpoint_;
        if (inherited != nullptr && inherited->is_cancellation_requested()) [[unlikely]] {
            ep.give_back(std::move(message_));
            refuse(errc::cancelled);
            return false;
        }
        expected<std::uint64_t> id = ep.try_open_call(waiter_);
        // The one token that can cancel the call on the fast path, if any;
        // two of them, or a deadline, need the slow path's combined stop.
        const bool given = token_.can_be_cancelled();
        const bool from_task = inherited != nullptr && inherited->can_be_cancelled() &&
                               !(given && token_ == *inherited);  // the same token counts once
        const async::cancellation_token* listen = given ? &token_ : from_task ? inherited : nullptr;
        if (id && deadline_ns_ == 0 && !(given && from_task) && deferred_.state == nullptr)
            [[likely]] {
            id_ = *id;
            std::memcpy(message_.data(), &id_, sizeof id_);
            if (ep.try_send_now(call_tag, message_)) [[likely]] {
                ep.give_back(std::move(message_));
                ++ep.stats_.calls_sent;
                ep.watch_sent(id_, ep.watch_epoch(0));  // no deadline of its own
                sent_ = true;
                state_ = state::replying;
                waiter_.set_handle(awaiting);
                if (listen != nullptr) listen_to(ep, *listen);
                return true;  // the reply (or the cancellation) resumes it later
            }
        } else if (id) {
            id_ = *id;
            std::memcpy(message_.data(), &id_, sizeof id_);
        }
        slow_ = ep.finish_call(message_, waiter_, id, token_, inherited, deadline_ns_, id_, sent_,
                               deferred_.state != nullptr ? &deferred_ : nullptr);
        state_ = state::slow;
        // The finish_call task inherits the caller's context, like any task it awaits.
        return slow_.when_ready().await_suspend(awaiting);
    }

    // The fast path's token: through the endpoint's watch when it is on the
    // same token's calls (or free), else with a registration of the call's
    // own. Cancelled since the checks before the send, on another thread:
    // the call is in the ring, so the peer is told.
    void listen_to(endpoint_base & ep, const async::cancellation_token& token) noexcept {
        watch_node_.cancel = &on_cancel;
        watch_node_.context = this;
        switch (ep.token_watch_.watch(*ep.executor_, token, watch_node_)) {
            case detail::token_watch::outcome::watched:
                return;
            case detail::token_watch::outcome::busy:
                if (!cancel_.arm(*ep.executor_, token, &on_cancel, this)) on_cancel(this);
                return;
            case detail::token_watch::outcome::cancelled:
                on_cancel(this);
                return;
        }
    }
    // Off the endpoint's watch: answered, or going away. An endpoint that
    // ended took every call off it already.
    void stop_listening() noexcept {
        if (watch_node_.linked) endpoint_->token_watch_.unwatch(watch_node_);
        cancel_.disarm();
    }

    // The fast path's cancellation, on the endpoint's thread: unless the
    // reply (or the default deadline) came first, the slot frees, the peer
    // is told, a late reply is dropped, and the caller resumes cancelled.
    static void on_cancel(void* self) noexcept {
        auto& op = *static_cast<call_operation*>(self);
        if (op.waiter_.done()) return;
        if (op.life_->endpoint != nullptr) op.endpoint_->abandon_call(op.id_, /*sent=*/true);
        op.waiter_.fail(errc::cancelled);
    }

    enum class state : std::uint8_t { fresh, refused, replying, slow };
    static constexpr std::uint64_t no_call = ~std::uint64_t{0};

    endpoint_base* endpoint_;
    detail::lifeline* life_;  // held: the endpoint may die while the call waits
    std::vector<std::byte> message_;
    async::cancellation_token token_;
    detail::reply_waiter<R> waiter_;
    detail::deferred_arguments deferred_;  // state null: the message is encoded
    async::task<errc> slow_;
    detail::watched_call watch_node_;  // on the endpoint's token watch, while it waits
    async::detail::cancel_point
        cancel_;                     // the fast path's own registration, when the watch is busy
    std::uint64_t deadline_ns_ = 0;  // 0: none
    std::uint64_t id_ = no_call;     // the call's id once it has a slot
    // The thread it was made on (the endpoint's: endpoint::call checks).
    const char* thread_ = &async::detail::tls_thread_marker;
    errc result_error_ = errc::ok;
    state state_ = state::fresh;
    bool sent_ = false;  // the whole call is in the ring (the peer may run it)
};

}  // namespace airlock::rpc
