// SPDX-License-Identifier: Apache-2.0
// The state of a connected stream socket: receive ahead, write behind (stream.hh).
#include "stream.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace airlock::sys::detail {

std::shared_ptr<stream> stream::make(client_ref c, handle h) noexcept {
    std::shared_ptr<stream> s;
    try {
        s = std::make_shared<stream>(c, h);
    } catch (...) {
        // No stream to own the handle: close it as a destructor would.
        (void)c->post({.op = wire::op::close, .target = h});
        c->retire(h);
        return nullptr;
    }
    const client_options& o = c->options();
    // The transition transport blocks the thread in each call: a receive
    // posted ahead would stop it until the peer sends. Both stay off there.
    if (o.transport == transport::ring) {
        s->tx_limit_ = o.streams.write_behind_bytes;
        try {
            s->rx_buffer_.resize(o.streams.receive_ahead_bytes);
        } catch (...) {
            s->rx_buffer_ = {};  // no memory for the buffer: receive on demand
        }
        (void)s->receive_ahead();
    }
    return s;
}

stream::stream(client_ref c, handle h) noexcept : client_(std::move(c)), handle_(h) {}

stream::~stream() {
    close_now();
}

std::size_t stream::take(std::span<std::byte> into) noexcept {
    const std::size_t n = std::min(into.size(), buffered());
    if (n != 0) std::memcpy(into.data(), rx_buffer_.data() + rx_head_, n);
    rx_head_ += n;
    if (rx_head_ == rx_tail_ && !rx_running_) rx_head_ = rx_tail_ = 0;
    return n;
}

bool stream::receive_ahead() noexcept {
    if (rx_running_ || rx_buffer_.empty() || rx_end_ || failure_ || detached_ || !is_open())
        return rx_running_;
    if (rx_tail_ == rx_buffer_.size() && rx_head_ == 0) return false;  // full
    if (!client_->try_take_eager()) return false;
    rx_running_ = true;
    client_->executor().spawn_now(receive_pump(shared_from_this()));
    return rx_running_;
}

async::task<void> stream::receive_pump(std::shared_ptr<stream> self) {
    stream& s = *self;
    while (!s.detached_ && !s.failure_ && !s.rx_end_ && s.is_open()) {
        // Only here, with no receive in flight, may the bytes move.
        if (s.rx_head_ == s.rx_tail_) {
            s.rx_head_ = s.rx_tail_ = 0;
        } else if (s.rx_head_ != 0 && s.rx_buffer_.size() - s.rx_tail_ < s.rx_buffer_.size() / 2) {
            std::memmove(s.rx_buffer_.data(), s.rx_buffer_.data() + s.rx_head_, s.buffered());
            s.rx_tail_ -= s.rx_head_;
            s.rx_head_ = 0;
        }
        const std::size_t room = std::min(s.rx_buffer_.size() - s.rx_tail_, wire::max_io);
        if (room == 0) break;  // full: the next recv that takes bytes posts again
        request r{.op = wire::op::recv, .target = s.handle_};
        r.args[0] = room;
        r.asked = room;
        r.into = std::span<std::byte>(s.rx_buffer_).subspan(s.rx_tail_, room);
        auto o = co_await s.client_->call(r);
        if (!o) {
            // No request slot left is no fault of the socket: recv asks on
            // demand until one is. A socket closed meanwhile reports nothing.
            if (o.error().code != errc::sys_busy && !s.detached_ && s.is_open()) s.fail(o.error());
            break;
        }
        // The client checked the count against `room` (Iago); checked again
        // here because the buffer's bounds depend on it.
        if (o->bytes > room) {
            s.fail(error{errc::sys_bad_result, 0});
            break;
        }
        if (o->bytes == 0) {
            s.rx_end_ = true;
            break;
        }
        s.rx_tail_ += o->bytes;
        s.received.set();
    }
    s.rx_running_ = false;
    s.client_->give_back_eager();
    s.received.set();
}

result<void> stream::queue(std::span<const std::span<const std::byte>> parts) noexcept {
    std::size_t total = 0;
    for (const auto& p : parts)
        total += p.size();
    // Drop the sent prefix before growing: the queue then never holds more
    // than write_behind_bytes (a send in flight carries its own copy).
    if (tx_head_ != 0 && tx_queue_.size() + total > tx_queue_.capacity()) {
        tx_queue_.erase(tx_queue_.begin(),
                        tx_queue_.begin() + static_cast<std::ptrdiff_t>(tx_head_));
        tx_head_ = 0;
    }
    try {
        const std::size_t need = tx_queue_.size() + total;
        if (need > tx_queue_.capacity())
            tx_queue_.reserve(std::max(need, std::min(tx_limit_, 2 * tx_queue_.capacity())));
        for (const auto& p : parts)
            tx_queue_.insert(tx_queue_.end(), p.begin(), p.end());
    } catch (...) {
        return sys::fail(errc::enclave_memory_exhausted);
    }
    if (!tx_running_ && unflushed() != 0) {
        tx_running_ = true;
        client_->executor().spawn_now(send_pump(shared_from_this()));
    }
    return {};
}

async::task<void> stream::send_pump(std::shared_ptr<stream> self) {
    stream& s = *self;
    while (!s.failure_ && s.unflushed() != 0) {
        if (!s.is_open()) {
            s.fail(error{errc::sys_bad_handle, 0});
            break;
        }
        const std::size_t n = std::min(s.unflushed(), wire::max_io);
        request r{.op = wire::op::send, .target = s.handle_};
        r.payload = std::span<const std::byte>(s.tx_queue_).subspan(s.tx_head_, n);
        r.asked = n;
        // The request copies the bytes when it is sent: the queue may grow
        // (and move) while the host sends them.
        auto o = co_await s.client_->call(r);
        if (!o) {
            s.fail(o.error());
            break;
        }
        if (o->value == 0 ||
            o->value > n) {  // 0: nothing moves any more; > n: checked by the client
            s.fail(o->value == 0 ? error::from_errno(EPIPE) : error{errc::sys_bad_result, 0});
            break;
        }
        s.tx_head_ += static_cast<std::size_t>(o->value);
        if (s.tx_head_ == s.tx_queue_.size()) {
            s.tx_queue_.clear();
            s.tx_head_ = 0;
        }
        s.sent.set();
    }
    if (s.failure_) {  // nothing more will be sent: the bytes are dropped
        s.tx_queue_.clear();
        s.tx_head_ = 0;
    }
    s.tx_running_ = false;
    s.sent.set();
    if (s.detached_) s.close_now();  // the socket is gone: its close was waiting for this
}

void stream::fail(error e) noexcept {
    if (!failure_) failure_ = e;
    received.set();  // a waiting recv or send learns it now
    sent.set();
}

void stream::detach() noexcept {
    detached_ = true;
    if (!tx_running_) close_now();
}

void stream::close_now() noexcept {
    if (client_ && handle_ != 0 && client_->valid(handle_, handle_kind::socket)) {
        (void)client_->post({.op = wire::op::close, .target = handle_});
        client_->retire(handle_);
    }
    handle_ = 0;
}

}  // namespace airlock::sys::detail
