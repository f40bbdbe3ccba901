// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/channel.hh: a bounded channel between coroutines.
//
// `channel<T>` carries values from any number of senders (on any threads of
// the side) to one receiver, in the order the sends took effect, through a
// buffer of fixed capacity: an MPSC queue with back-pressure, and so also an
// SPSC one. `co_await ch.send(v)` suspends the sender while the buffer is
// full; `co_await ch.receive()` suspends the receiver while it is empty. A
// value never waits twice: a receiver taking a value moves the oldest
// waiting sender's value into the freed place and wakes it. `close()` ends
// the channel: waiting senders fail with errc::channel_closed (their values
// are not sent), and the receiver gets every value already sent, then
// errc::channel_closed. Both waits are cancellation points (a token of
// their own, and the awaiting task's): a cancelled send sends nothing.
//
// Thread contract: `send`, `try_send` and `close` from any thread of the
// side; `receive` and `try_receive` from one coroutine at a time (a second
// concurrent receiver is a bug, AIRLOCK_CHECK). Waiting needs an executor
// on the waiting thread. Memory ordering: the buffer is guarded by a spin
// lock (acquire/release): a value is fully written before the receiver sees it.

#include <coroutine>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/task.hh"
#include "airlock/async/wait_list.hh"
#include "airlock/base/check.hh"
#include "airlock/base/expected.hh"

namespace airlock::async {

template <class T>
class channel {
  public:
    // A channel holding up to `capacity` (at least 1) values; the buffer is
    // allocated here, once.
    explicit channel(std::size_t capacity) : buffer_(capacity) {
        AIRLOCK_CHECK(capacity >= 1, "a channel needs room for one value");
    }
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;

    // Sends at once if there is room: true, `value` moved in. False (value
    // untouched) when the buffer is full or the channel closed.
    [[nodiscard]] bool try_send(T&& value) {
        lock_.lock();
        if (closed_ || count_ == buffer_.size()) {
            lock_.unlock();
            return false;
        }
        push_and_wake(std::move(value));  // unlocks
        return true;
    }
    // The oldest value, if any; never waits.
    [[nodiscard]] std::optional<T> try_receive() {
        lock_.lock();
        std::optional<T> v;
        if (count_ != 0) v = pop_and_refill();
        wake_refilled_sender();  // unlocks
        return v;
    }
    // Ends the channel (idempotent): waiting senders fail, the receiver
    // drains what was sent, then gets errc::channel_closed.
    // Every waiter is taken under one hold of the lock and woken after it;
    // then the channel is not touched again (once it is closed, a
    // coroutine may destroy it at once).
    void close() noexcept {
        lock_.lock();
        closed_ = true;
        detail::wait_node* senders = senders_.take_all();  // each finds delivered_ false
        detail::wait_node* r = receivers_.pop_front();
        lock_.unlock();
        detail::wait_list::wake_taken(senders);
        if (r != nullptr) r->wake();
    }
    [[nodiscard]] bool closed() noexcept {
        lock_.lock();
        const bool c = closed_;
        lock_.unlock();
        return c;
    }
    [[nodiscard]] std::size_t size() noexcept {
        lock_.lock();
        const std::size_t n = count_;
        lock_.unlock();
        return n;
    }
    [[nodiscard]] std::size_t capacity() const noexcept { return buffer_.size(); }

    class [[nodiscard("co_await it")]] send_operation : private detail::primitive_wait {
      public:
        send_operation(channel & ch, T value, cancellation_token token)
            : primitive_wait(ch.lock_, ch.senders_, std::move(token)),
              channel_(&ch),
              value_(std::move(value)) {}
        send_operation(send_operation && other) noexcept
            : primitive_wait(std::move(other)),
              channel_(other.channel_),
              value_(std::move(other.value_)) {}
        ~send_operation() {
            (void)abandon();  // a delivered value is in the buffer already
        }
        [[nodiscard]] bool await_ready() {
            channel_->lock_.lock();
            if (try_now()) return true;
            channel_->lock_.unlock();
            return false;
        }
        template <class P>
        bool await_suspend(std::coroutine_handle<P> h) {
            const detail::task_context* context = detail::context_of(h);
            if (cancelled_before(context)) return false;
            channel_->lock_.lock();
            if (try_now()) return false;
            // Still locked: wait for room (a receiver delivers our value).
            return suspend_on(h, context);
        }
        // ok once the value is in the channel; errc::channel_closed or
        // errc::cancelled when it was not sent.
        [[nodiscard]] expected<void> await_resume() noexcept {
            resumed();
            if (outcome_ != errc::ok) return unexpected(outcome_);
            if (wait_result() != errc::ok) return unexpected(wait_result());
            if (!delivered_) return unexpected(errc::channel_closed);
            return {};
        }

      private:
        friend class channel;
        // With the lock held: sends now (and unlocks) when it can; or
        // returns false, still locked, when it must wait.
        bool try_now() {
            channel& ch = *channel_;
            if (ch.closed_) {
                ch.lock_.unlock();
                outcome_ = errc::channel_closed;
                return true;
            }
            if (ch.count_ == ch.buffer_.size()) return false;
            ch.push_and_wake(std::move(value_));
            delivered_ = true;
            return true;
        }
        channel* channel_;
        T value_;
        errc outcome_ = errc::ok;
        bool delivered_ = false;  // set by a receiver, under the lock
    };

    class [[nodiscard("co_await it")]] receive_operation : private detail::primitive_wait {
      public:
        receive_operation(channel & ch, cancellation_token token) noexcept
            : primitive_wait(ch.lock_, ch.receivers_, std::move(token)), channel_(&ch) {}
        receive_operation(receive_operation && other) noexcept
            : primitive_wait(std::move(other)), channel_(other.channel_) {}
        ~receive_operation() {
            (void)abandon();  // a wake hands nothing over: values stay in the buffer
        }
        [[nodiscard]] bool await_ready() {
            channel_->lock_.lock();
            if (take_now()) return true;
            channel_->lock_.unlock();
            return false;
        }
        template <class P>
        bool await_suspend(std::coroutine_handle<P> h) {
            const detail::task_context* context = detail::context_of(h);
            if (cancelled_before(context)) return false;
            channel_->lock_.lock();
            if (take_now()) return false;
            AIRLOCK_CHECK(channel_->receivers_.empty(), "two receivers wait on one channel");
            return suspend_on(h, context);
        }
        // The oldest value; errc::channel_closed once the channel is closed
        // and drained; errc::cancelled.
        [[nodiscard]] expected<T> await_resume() {
            resumed();
            if (wait_result() != errc::ok) return unexpected(wait_result());
            if (!value_) {  // woken: a value was sent, or the channel closed
                channel_->lock_.lock();
                if (!take_now()) channel_->lock_.unlock();
            }
            if (!value_) return unexpected(errc::channel_closed);
            return std::move(*value_);
        }

      private:
        // With the lock held: takes a value (or learns the channel is
        // closed) and unlocks; or returns false, still locked.
        bool take_now() {
            channel& ch = *channel_;
            if (ch.count_ != 0) {
                value_ = ch.pop_and_refill();
                ch.wake_refilled_sender();  // unlocks
                return true;
            }
            if (ch.closed_) {
                ch.lock_.unlock();
                return true;
            }
            return false;
        }
        channel* channel_;
        std::optional<T> value_;
    };

    // Sends `value`, waiting for room; a cancellation point.
    [[nodiscard]] send_operation send(T value, cancellation_token token = {}) {
        return send_operation(*this, std::move(value), std::move(token));
    }
    // Receives the oldest value, waiting for one; a cancellation point.
    [[nodiscard]] receive_operation receive(cancellation_token token = {}) noexcept {
        return receive_operation(*this, std::move(token));
    }

  private:
    // Lock held: appends `value`, wakes a waiting receiver, unlocks.
    void push_and_wake(T&& value) {
        buffer_[(head_ + count_) % buffer_.size()].emplace(std::move(value));
        ++count_;
        detail::wait_node* r = receivers_.pop_front();
        lock_.unlock();
        if (r != nullptr) r->wake();
    }
    // Lock held: removes the oldest value and, if a sender waits, moves its
    // value into the freed place (remembered for wake_refilled_sender).
    T pop_and_refill() {
        std::optional<T>& slot = buffer_[head_];
        T v = std::move(*slot);
        slot.reset();
        head_ = (head_ + 1) % buffer_.size();
        --count_;
        refilled_ = senders_.pop_front();
        if (refilled_ != nullptr) {
            auto& op = static_cast<send_operation&>(detail::primitive_wait::owner_of(*refilled_));
            buffer_[(head_ + count_) % buffer_.size()].emplace(std::move(op.value_));
            ++count_;
            op.delivered_ = true;
        }
        return v;
    }
    // Lock held: unlocks, then wakes the sender pop_and_refill delivered.
    void wake_refilled_sender() noexcept {
        detail::wait_node* s = std::exchange(refilled_, nullptr);
        lock_.unlock();
        if (s != nullptr) s->wake();
    }
    detail::spin_lock lock_;
    std::vector<std::optional<T>> buffer_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    bool closed_ = false;
    detail::wait_list senders_;
    detail::wait_list receivers_;
    detail::wait_node* refilled_ = nullptr;
};

}  // namespace airlock::async
