// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/rpc/token_watch.hh: one registration for the many calls one token
// can cancel.
//
// A call on the fast path listens to the one token that can cancel it
// (rpc/call_operation.hh). Registering with a token takes its lock twice and
// its reference count twice per call, and on x86 every such locked
// instruction waits until the call's record, just written into lines the
// peer's core holds, has left the store buffer. Calls made together share a
// token: the callers of one when_all, the handlers of one scope. So the
// endpoint keeps one registration, on the token of the calls it watches, and
// a list of those calls; a call under that token joins the list (no atomic
// operation), and when the token is cancelled every call on the list is
// cancelled. A call under another token while the list is not empty
// registers by itself, as before. The registration goes when the list
// empties (it holds a reference to the token's state, which must not outlive
// the calls): many calls in flight share one, one call at a time pays for
// its own.
//
// Thread contract: the endpoint's executor thread; the token may be
// cancelled on any thread (the cancellation runs on the executor,
// async/cancel_point.hh).

#include "airlock/async/cancel_point.hh"
#include "airlock/async/cancellation.hh"

namespace airlock::async {
class executor;
}

namespace airlock::rpc::detail {

// A call the watch may cancel: a node of its list, in the call.
struct watched_call {
    using cancel_fn = void (*)(void* context) noexcept;
    watched_call* prev = nullptr;
    watched_call* next = nullptr;
    cancel_fn cancel = nullptr;
    void* context = nullptr;
    bool linked = false;
};

class token_watch {
  public:
    enum class outcome {
        watched,    // on the list: cancelled with the others
        busy,       // the watch is on another token's calls: register alone
        cancelled,  // the token is cancelled already: cancel the call now
    };

    token_watch() = default;
    token_watch(const token_watch&) = delete;
    token_watch& operator=(const token_watch&) = delete;
    ~token_watch() { end(); }

    // Puts `call` on the list of `token`'s calls, registering with the
    // token first if the list is empty.
    [[nodiscard]] outcome watch(async::executor& ex, const async::cancellation_token& token,
                                watched_call& call) noexcept {
        if (head_ == nullptr) {
            token_ = token;
            if (!point_.arm(ex, token_, &on_cancel, this)) {
                token_ = {};
                return outcome::cancelled;
            }
        } else if (!(token_ == token)) {
            return outcome::busy;
        }
        call.prev = nullptr;
        call.next = head_;
        if (head_ != nullptr) head_->prev = &call;
        head_ = &call;
        call.linked = true;
        return outcome::watched;
    }
    // Takes `call` off the list (it was answered, or is going away).
    void unwatch(watched_call& call) noexcept {
        if (!call.linked) return;
        if (call.prev != nullptr)
            call.prev->next = call.next;
        else
            head_ = call.next;
        if (call.next != nullptr) call.next->prev = call.prev;
        call.prev = call.next = nullptr;
        call.linked = false;
        if (head_ == nullptr) release();
    }
    // The endpoint ends: no callback any more, and no call on the list.
    void end() noexcept {
        while (head_ != nullptr)
            unwatch(*head_);
        release();
    }

  private:
    // No call on the list: no registration, no reference to the token.
    void release() noexcept {
        point_.disarm();
        token_ = {};
    }
    // On the executor: every call on the list is cancelled (the last one
    // off the list releases the registration; a later call under the same
    // token registers again and finds it cancelled).
    static void on_cancel(void* self) noexcept {
        auto& w = *static_cast<token_watch*>(self);
        while (w.head_ != nullptr) {
            watched_call& call = *w.head_;
            w.unwatch(call);
            call.cancel(call.context);
        }
    }

    async::cancellation_token token_;
    async::detail::cancel_point point_;
    watched_call* head_ = nullptr;
};

}  // namespace airlock::rpc::detail
