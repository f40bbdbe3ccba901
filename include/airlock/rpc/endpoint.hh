// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/rpc/endpoint.hh: typed asynchronous calls across the boundary.
//
// An `endpoint<side>` is one side's end of a channel (rpc/endpoint_base.hh).
// Through it a side calls the methods the other side serves
// (`co_await ep.call(method, args...)`, returning `expected<R>`) and serves
// the methods the other side calls (`ep.serve(method, handler)`). The
// enclave endpoint calls host_methods (ocalls) and serves enclave_methods
// (ecalls); the host endpoint the reverse; anything else does not compile,
// with a sentence saying which direction the method goes.
//
// Incoming calls start their handlers in ring order (per-channel ordering);
// replies go back in completion order, and each resumes the coroutine that
// waits for it. Errors are values: a handler's error, an unknown method,
// undecodable arguments or a thrown exception all travel back as an error
// code, never as an exception; a handler that runs out of memory answers
// enclave_memory_exhausted. A method may declare its result as
// `expected<T, E>` with an error type of the application's own, which
// travels as a value (rpc/codec.hh).
//
// A coroutine handler runs under its call's own token (async/task.hh): when
// the caller gives up (its cancellation or deadline), the peer's cancel
// record cancels it, and it stops at its next cancellation point; a
// handler may also take the token as its first parameter.
//
// Hostile peer (HOSTILE-INPUTS #9-15, #19, #25, #28): ids are looked up
// with a bounds check and a branch-free clamp (base/speculation.hh); unknown or stale reply ids
// are dropped and counted; error codes outside the rpc/async/sys ranges
// become rpc_result_out_of_contract; malformed results become rpc_decode; a
// ring fault fails every waiting call with rpc_channel_faulted; the number of
// calls served at once is capped (the excess is answered rpc_overloaded).
//
// Thread contract: an endpoint belongs to its executor's thread; every call
// is made there. Memory ordering: that of the rings (ring/spsc_ring.hh).

#include <cstdint>
#include <exception>
#include <new>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/task.hh"
#include "airlock/base/expected.hh"
#include "airlock/rpc/call_operation.hh"
#include "airlock/rpc/codec.hh"
#include "airlock/rpc/endpoint_base.hh"
#include "airlock/rpc/method.hh"
#include "airlock/rpc/protocol.hh"

namespace airlock::rpc {

namespace detail {
// Parameters whose encoding has a fixed, small size: a call of only these
// never needs the buffer pool, so it skips counting its bytes.
template <class T>
inline constexpr bool fixed_size_param =
    std::is_arithmetic_v<T> || std::is_enum_v<T> || copy_as_bytes<T>;
template <class Tuple>
inline constexpr bool fixed_size_v = false;
template <class... T>
inline constexpr bool fixed_size_v<std::tuple<T...>> = (fixed_size_param<T> && ...);

// What a deferred call keeps of an argument `A` (a forwarding reference)
// for parameter `P`: P itself, or, for a view parameter given an owning
// rvalue, that value (moved in).
template <class P>
inline constexpr bool is_view_param =
    std::is_same_v<P, std::span<const std::byte>> || std::is_same_v<P, borrowed_bytes> ||
    std::is_same_v<P, std::string_view>;
template <class P, class A>
using kept_t = std::conditional_t<is_view_param<P> && !std::is_lvalue_reference_v<A> &&
                                      !std::is_trivially_copyable_v<std::remove_cvref_t<A>>,
                                  std::remove_cvref_t<A>, P>;
}  // namespace detail

// The direction of the methods a side calls.
template <side S>
inline constexpr direction calls_direction =
    S == side::enclave ? direction::enclave_to_host : direction::host_to_enclave;

namespace detail {

// Whether a handler takes the call's token before its arguments.
template <class F, class Tuple>
struct takes_token : std::false_type {};
template <class F, class... A>
struct takes_token<F, std::tuple<A...>>
    : std::is_invocable<F&, const async::cancellation_token&, A...> {};

// Calls `fn(args...)`, or `fn(token, args...)` when the handler takes the
// call's token first.
template <class F, class Args>
decltype(auto) invoke_handler(F& fn, const async::cancellation_token& token, Args&& args) {
    if constexpr (takes_token<F, std::remove_cvref_t<Args>>::value) {
        return std::apply(
            [&](auto&&... a) -> decltype(auto) {
                return fn(token, std::forward<decltype(a)>(a)...);
            },
            std::forward<Args>(args));
    } else {
        return std::apply(fn, std::forward<Args>(args));
    }
}

template <class F, class Args>
using handler_result_t = decltype(invoke_handler(
    std::declval<F&>(), std::declval<const async::cancellation_token&>(), std::declval<Args>()));

}  // namespace detail

// `endpoint<S>` adds the typed, direction-checked verbs.
template <side S>
class endpoint final : public endpoint_base {
  public:
    // See endpoint_base: the host reads pooled messages from the enclave in
    // place; the enclave copies every one into private memory first.
    // `resume`: the wire state the last endpoint of this side left
    // (endpoint_base::hand_over), or null for rings used by no endpoint yet.
    endpoint(async::executor& ex, ring::ring_view out, ring::ring_view in, endpoint_wiring wiring,
             endpoint_options options, endpoint_handover* resume = nullptr)
        : endpoint_base(ex, out, in, wiring, options, S == side::host, resume) {}

    // Calls `m` on the other side with `args`, which are encoded at once
    // (so temporaries may die before the call is awaited). Awaiting the
    // call_operation sends it and resumes with the result, or with an error:
    // the handler's, rpc_unknown_method, rpc_decode, rpc_overloaded,
    // rpc_handler_failed, rpc_channel_faulted, rpc_wrong_thread (made or
    // awaited on a thread not the endpoint's), errc::cancelled when `token` or the
    // caller's own token is cancelled first, or deadline_exceeded past a
    // deadline set on the operation (rpc/call_operation.hh). Owner thread;
    // awaitable from any coroutine on it.
    template <class M, class... A>
    requires method_descriptor<M>
    [[nodiscard]] call_operation<typename M::result_type> call(async::cancellation_token token,
                                                               const M& /*m*/, A&&... args) {
        static_assert(S != side::enclave || M::dir == calls_direction<S>,
                      "wrong direction: this is an enclave_method (an ecall), which the host "
                      "calls and the enclave serves; enclave code calls host_methods (ocalls)");
        static_assert(S != side::host || M::dir == calls_direction<S>,
                      "wrong direction: this is a host_method (an ocall), which the enclave "
                      "calls and the host serves; host code calls enclave_methods (ecalls)");
        static_assert(sizeof...(A) == std::tuple_size_v<typename M::arguments>,
                      "wrong number of arguments for this method");
        if (!on_owner_thread()) [[unlikely]]
            return call_operation<typename M::result_type>::made_elsewhere(*this);
        AIRLOCK_CHECK(!handed_over(), "a call on an endpoint that was handed over");
        std::vector<std::byte> message = take_buffer();
        using P = typename M::parameters;
        // With a buffer pool, a call of pool_min() bytes or more is encoded
        // when it is sent, straight into the pool: the writer stops at the
        // threshold (before copying the value that would cross it).
        constexpr bool may_defer = !detail::fixed_size_v<P>;
        const std::size_t limit = may_defer ? pool_min() - 1 : ~std::size_t{0};
        writer w(message, writer::reuse, limit);
        w.put_u64(0);  // call id, filled in when the call opens its slot
        w.put_u64(M::id);
        encode_arguments<P>(w, std::index_sequence_for<A...>{}, args...);
        if constexpr (may_defer) {
            if (w.overflowed()) [[unlikely]] {
                writer count(writer::counting);
                encode_arguments<P>(count, std::index_sequence_for<A...>{}, args...);
                // The header is sent from the first message_header_bytes;
                // the buffer keeps its size, so that a call that streams
                // after all is encoded over its stale bytes (no zero-fill).
                return {*this, std::move(message), std::move(token),
                        defer<P>(message_header_bytes + count.size(),
                                 std::index_sequence_for<A...>{}, std::forward<A>(args)...)};
            }
        }
        w.finish();
        return {*this, std::move(message), std::move(token)};
    }
    template <class M, class... A>
    requires method_descriptor<M>
    [[nodiscard]] call_operation<typename M::result_type> call(const M& m, A&&... args) {
        return call(async::cancellation_token{}, m, std::forward<A>(args)...);
    }

    // Serves `m`: `handler(args...)`, or `handler(token, args...)`, returns
    // R, expected<R>, task<R> or task<expected<R>>. Setup path (allocates);
    // call before the peer calls.
    template <class M, class F>
    requires method_descriptor<M>
    void serve(const M& m, F handler) {
        static_assert(S != side::enclave || M::dir != calls_direction<S>,
                      "wrong direction: this is a host_method (an ocall), which the host serves "
                      "and the enclave calls; enclave code serves enclave_methods (ecalls)");
        static_assert(S != side::host || M::dir != calls_direction<S>,
                      "wrong direction: this is an enclave_method (an ecall), which the enclave "
                      "serves and the host calls; host code serves host_methods (ocalls)");
        using R = typename M::result_type;
        using Args = typename M::arguments;
        static_assert(!(detail::is_task<detail::handler_result_t<F, Args&&>>::value &&
                        holds_borrowed_v<Args>),
                      "a coroutine handler cannot take borrowed_bytes: the view is valid only "
                      "while a synchronous handler runs; declare the parameter "
                      "std::span<const std::byte> (it arrives as an owning vector) or serve "
                      "the method with a synchronous handler");
        auto* stored = new F(std::move(handler));
        add_handler(M::id, {.invoke =
                                [](endpoint_base& ep, void* h, std::uint64_t id,
                                   std::span<const std::byte> bytes) {
                                    auto& self = static_cast<endpoint&>(ep);
                                    F& fn = *static_cast<F*>(h);
                                    Args args;
                                    if (!decode_exactly(bytes, args)) return false;
                                    using V = detail::handler_result_t<F, Args&&>;
                                    if constexpr (detail::is_task<V>::value) {
                                        // Started now, so that handlers start in
                                        // ring order whatever their kind.
                                        self.template serve_coroutine<R>(fn, id, std::move(args));
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
    template <class R, class F, class Args>
    void serve_coroutine(F& fn, std::uint64_t id, Args args);

    // Keeps the arguments of a call whose encoding waits until it is sent:
    // each as its declared parameter type (a view stays a view), except an
    // owning rvalue (a temporary vector or string) for a view parameter,
    // which is moved in so that the view cannot outlive it.
    template <class Params, class... A, std::size_t... I>
    static detail::deferred_arguments defer(std::size_t bytes, std::index_sequence<I...>,
                                            A&&... args) {
        using kept = std::tuple<detail::kept_t<std::tuple_element_t<I, Params>, A&&>...>;
        auto* state = new kept(std::forward<A>(args)...);
        return {.state = state,
                .encode =
                    [](const void* p, writer& w) {
                        const kept& k = *static_cast<const kept*>(p);
                        (encode_as<std::tuple_element_t<I, Params>>(w, std::get<I>(k)), ...);
                    },
                .destroy = [](void* p) noexcept { delete static_cast<kept*>(p); },
                .bytes = bytes};
    }

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
// Templates of endpoint_base and endpoint.

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

template <side S>
template <class R, class F, class Args>
void endpoint<S>::serve_coroutine(F& fn, std::uint64_t id, Args args) {
    const std::size_t slot = open_served(id);
    executor().spawn_now(this->template run_serve<R>(fn, id, std::move(args), slot),
                         served_token(slot));
}

template <class R, class F, class Args>
async::task<void> endpoint_base::run_serve(F& handler, std::uint64_t id, Args args,
                                           std::size_t slot) {
    // The lifeline keeps the handler alive (it lives in the lifeline) for
    // as long as this coroutine runs, even past the endpoint.
    const detail::lifeline_hold life(lifeline_);
    const async::cancellation_token token = co_await async::this_task::token();
    expected<R> result = unexpected(errc::rpc_handler_failed);
    try {
        using V = typename detail::is_task<detail::handler_result_t<F, Args&&>>::value_type;
        if constexpr (std::is_void_v<V>) {
            co_await detail::invoke_handler(handler, token, std::move(args));
            result = expected<R>();
        } else {
            result = detail::as_expected<R>(
                co_await detail::invoke_handler(handler, token, std::move(args)));
        }
    } catch (const std::bad_alloc&) {
        result = unexpected(errc::enclave_memory_exhausted);
    } catch (...) {
        result = unexpected(errc::rpc_handler_failed);  // exceptions stay on this side
    }
    if (!life.alive()) co_return;  // nobody left to answer through
    served();
    if (close_served(slot)) {  // the caller gave up: it drops any reply
        reply_settled();
        co_return;
    }
    std::vector<std::byte> reply = take_buffer();
    try {
        encode_reply<R>(reply, id, result);
    } catch (const std::bad_alloc&) {
        give_back(std::move(reply));
        reply_error(id, errc::enclave_memory_exhausted);
        co_return;
    }
    // This frame holds the reply while it waits for room.
    (void)co_await send(reply_tag, reply);
    if (!life.alive()) co_return;
    give_back(std::move(reply));
    reply_settled();
}

template <class R, class F, class Args>
void endpoint_base::serve_now(F& handler, std::uint64_t id, Args args) noexcept {
    expected<R> result = unexpected(errc::rpc_handler_failed);
    try {
        using V = detail::handler_result_t<F, Args&&>;
        const async::cancellation_token none;
        if constexpr (std::is_void_v<V>) {
            detail::invoke_handler(handler, none, std::move(args));
            result = expected<R>();
        } else {
            result = detail::as_expected<R>(detail::invoke_handler(handler, none, std::move(args)));
        }
    } catch (const std::bad_alloc&) {
        result = unexpected(errc::enclave_memory_exhausted);
    } catch (...) {
        result = unexpected(errc::rpc_handler_failed);
    }
    served();
    reply_result<R>(id, result);
}

template <class R>
void endpoint_base::reply_result(std::uint64_t id, const expected<R>& result) noexcept {
    std::vector<std::byte> reply = take_buffer();
    try {
        encode_reply<R>(reply, id, result);
    } catch (const std::bad_alloc&) {  // growing the buffer for a large result
        give_back(std::move(reply));
        reply_error(id, errc::enclave_memory_exhausted);
        return;
    }
    reply_now_or_queue(std::move(reply));
}

}  // namespace airlock::rpc
