// SPDX-License-Identifier: Apache-2.0
// The writes a file has queued behind (file_writes.hh).
#include "file_writes.hh"

#include <algorithm>
#include <cerrno>

namespace airlock::sys::detail {

result<void> file_writes::queue(std::span<const std::span<const std::byte>> parts,
                                std::uint64_t offset) noexcept {
    std::size_t total = 0;
    for (const auto& p : parts)
        total += p.size();
    if (total == 0) return {};
    // Drop the written prefix before growing: never more than limit_ bytes.
    if (head_ != 0 && bytes_.size() + total > bytes_.capacity()) {
        bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
    try {
        const std::size_t need = bytes_.size() + total;
        if (need > bytes_.capacity())
            bytes_.reserve(std::max(need, std::min(limit_, 2 * bytes_.capacity())));
        // Contiguous with the last segment (or appending): one segment.
        if (!segments_.empty() &&
            (append_ || segments_.back().offset + segments_.back().bytes == offset))
            segments_.back().bytes += total;
        else
            segments_.push_back({offset, total});
        for (const auto& p : parts)
            bytes_.insert(bytes_.end(), p.begin(), p.end());
    } catch (...) {
        return sys::fail(errc::enclave_memory_exhausted);
    }
    if (!running_) {
        running_ = true;
        client_->executor().spawn_now(pump(shared_from_this()));
    }
    return {};
}

bool file_writes::detach_if_busy() noexcept {
    if (!running_) return false;
    detached_ = true;
    return true;
}

async::task<void> file_writes::pump(std::shared_ptr<file_writes> self) {
    file_writes& w = *self;
    while (!w.failure_ && !w.segments_.empty()) {
        if (!w.client_->valid(w.handle_, handle_kind::file)) {
            w.fail(error{errc::sys_bad_handle, 0});
            break;
        }
        segment& s = w.segments_.front();
        const std::size_t n = std::min(s.bytes, wire::max_io);
        request r{.op = w.append_ ? wire::op::append : wire::op::write, .target = w.handle_};
        r.args[1] = s.offset;
        r.payload = std::span<const std::byte>(w.bytes_).subspan(w.head_, n);
        r.asked = n;
        // The request copies the bytes: the queue may grow (and move) meanwhile.
        auto o = co_await w.client_->call(r);
        if (!o) {
            w.fail(o.error());
            break;
        }
        if (o->value == 0 || o->value > n) {  // 0: no progress; > n: checked by the client
            w.fail(o->value == 0 ? error::from_errno(EIO) : error{errc::sys_bad_result, 0});
            break;
        }
        const auto moved = static_cast<std::size_t>(o->value);
        segment& front = w.segments_.front();  // the deque may have grown: no old reference
        w.head_ += moved;
        front.offset += moved;
        front.bytes -= moved;
        if (front.bytes == 0) w.segments_.pop_front();
        if (w.head_ == w.bytes_.size()) {
            w.bytes_.clear();
            w.head_ = 0;
        }
        w.written.set();
    }
    if (w.failure_) {  // nothing more will be written: the rest is dropped
        w.bytes_.clear();
        w.head_ = 0;
        w.segments_.clear();
    }
    w.running_ = false;
    w.written.set();
    if (w.detached_ && w.client_->valid(w.handle_, handle_kind::file)) {
        (void)w.client_->post({.op = wire::op::close, .target = w.handle_});
        w.client_->retire(w.handle_);
    }
}

void file_writes::fail(error e) noexcept {
    if (!failure_) failure_ = e;
    written.set();
}

}  // namespace airlock::sys::detail
