// SPDX-License-Identifier: Apache-2.0
// Sockets of enclave code (socket.hh), and the calls on a handle that
// sockets, listeners and files share.
#include <algorithm>
#include <cerrno>
#include <optional>

#include "airlock/sys/socket.hh"
#include "stream.hh"

namespace airlock::sys {

namespace detail {

async::task<result<outcome>> call_on(client_ref c, handle h, handle_kind kind, request r) {
    if (!c || !c->valid(h, kind)) co_return fail(errc::sys_bad_handle);
    r.target = h;
    co_return co_await c->call(r);
}

async::task<result<address>> address_of(client_ref c, handle h, handle_kind kind, wire::op op) {
    std::array<std::byte, wire::max_sockaddr> buf{};
    request r{.op = op};
    r.into = buf;
    auto o = co_await call_on(c, h, kind, r);
    if (!o) co_return unexpected(o.error());
    co_return address::from_bytes({buf.data(), o->bytes});
}

void close_detached(client_ref& c, handle& h, handle_kind kind) noexcept {
    if (!c || h == 0) return;
    if (c->valid(h, kind)) {
        (void)c->post({.op = wire::op::close, .target = h});
        c->retire(h);
    }
    h = 0;
    c = client_ref();
}

async::task<result<void>> close_and_wait(client_ref c, handle h, handle_kind kind) {
    if (!c || !c->valid(h, kind)) co_return fail(errc::sys_bad_handle);
    // Retired first: no call of this program can use the handle any more,
    // and the host closes before anything sent after this request.
    auto op = c->call({.op = wire::op::close, .target = h});
    c->retire(h);
    co_return done(co_await op);
}

}  // namespace detail

// --- socket ---------------------------------------------------------------------

namespace {
// The stream's kept error, as a call's result.
template <class T>
std::optional<result<T>> kept_error(const detail::stream& s) {
    if (!s.failure()) return std::nullopt;
    return result<T>(unexpected(*s.failure()));
}
}  // namespace

socket::~socket() {
    if (stream_) stream_->detach();
}

socket& socket::operator=(socket&& o) noexcept {
    if (this != &o) {
        if (stream_) stream_->detach();
        stream_ = std::move(o.stream_);
    }
    return *this;
}

bool socket::is_open() const noexcept {
    return stream_ && stream_->is_open();
}

handle socket::native_handle() const noexcept {
    return stream_ ? stream_->id() : 0;
}

std::size_t socket::unflushed() const noexcept {
    return stream_ ? stream_->unflushed() : 0;
}

std::size_t socket::received_ahead() const noexcept {
    return stream_ ? stream_->buffered() : 0;
}

async::task<result<socket>> socket::connect(client& c, address to, connect_options options) {
    client_ref ref(c);
    auto h = c.make_handle(handle_kind::socket);
    if (!h) co_return unexpected(h.error());
    request r{.op = wire::op::connect, .target = *h, .makes = *h};
    r.args[0] = options.no_delay ? 1 : 0;
    r.payload = to.bytes();
    auto o = co_await c.call(r);
    if (!o) co_return unexpected(o.error());  // the client retires *h
    auto s = detail::stream::make(std::move(ref), *h);
    if (!s) co_return fail(errc::enclave_memory_exhausted);
    co_return socket(std::move(s));
}

namespace {
// What a receiving call finds once it waited for bytes received ahead.
enum class ahead : std::uint8_t { bytes, end, on_demand };

// Waits until the stream holds received bytes, the peer ended, or a kept
// error; on_demand when no receive can be posted ahead (no eager request
// left), so the caller asks the host itself.
async::task<result<ahead>> wait_received(std::shared_ptr<detail::stream> s) {
    for (;;) {
        if (s->buffered() != 0) co_return ahead::bytes;
        if (auto e = kept_error<ahead>(*s)) co_return *e;
        if (s->at_end()) co_return ahead::end;
        if (!s->receive_ahead()) co_return ahead::on_demand;
        s->received.reset();
        if (!co_await s->received.wait()) co_return fail(errc::cancelled);
        if (!s->is_open()) co_return fail(errc::sys_bad_handle);
    }
}
}  // namespace

async::task<result<std::size_t>> socket::recv(std::span<std::byte> into) {
    std::shared_ptr<detail::stream> s = stream_;  // lives through the waits
    if (!s || !s->is_open()) co_return fail(errc::sys_bad_handle);
    into = into.first(std::min(into.size(), wire::max_io));
    if (s->receives_ahead()) {
        auto found = s->buffered() != 0 || into.empty() ? result<ahead>(ahead::bytes)
                                                        : co_await wait_received(s);
        if (!found) co_return unexpected(found.error());
        if (*found == ahead::end) co_return 0;
        if (*found == ahead::bytes) {
            const std::size_t n = s->take(into);  // at most into.size()
            (void)s->receive_ahead();             // room again: keep one posted
            co_return n;
        }
    }
    if (auto e = kept_error<std::size_t>(*s)) co_return *e;
    request r{.op = wire::op::recv};
    r.args[0] = into.size();
    r.asked = into.size();
    r.into = into;
    auto o = co_await detail::call_on(s->owner(), s->id(), handle_kind::socket, r);
    if (!o) co_return unexpected(o.error());
    co_return o->bytes;
}

namespace {
// Waits until the stream's queue has room; the kept error, or a closed
// socket's, instead.
async::task<result<void>> wait_for_room(std::shared_ptr<detail::stream> s) {
    for (;;) {
        if (!s->is_open()) co_return fail(errc::sys_bad_handle);
        if (auto e = kept_error<void>(*s)) co_return *e;
        if (s->room() != 0) co_return result<void>{};
        s->sent.reset();
        if (!co_await s->sent.wait()) co_return fail(errc::cancelled);
    }
}
}  // namespace

async::task<result<std::size_t>> socket::send(std::span<const std::byte> bytes) {
    std::shared_ptr<detail::stream> s = stream_;
    if (!s || !s->is_open()) co_return fail(errc::sys_bad_handle);
    if (auto e = kept_error<std::size_t>(*s)) co_return *e;
    bytes = bytes.first(std::min(bytes.size(), wire::max_io));
    if (s->writes_behind()) {
        if (bytes.empty()) co_return 0;
        if (auto w = co_await wait_for_room(s); !w) co_return unexpected(w.error());
        bytes = bytes.first(std::min(bytes.size(), s->room()));
        const std::span<const std::byte> parts[1] = {bytes};
        if (auto q = s->queue(parts); !q) co_return unexpected(q.error());
        co_return bytes.size();
    }
    request r{.op = wire::op::send};
    r.payload = bytes;
    r.asked = bytes.size();
    auto o = co_await detail::call_on(s->owner(), s->id(), handle_kind::socket, r);
    if (!o) co_return unexpected(o.error());
    co_return static_cast<std::size_t>(o->value);
}

async::task<result<std::size_t>> socket::readv(std::span<const std::span<std::byte>> into) {
    std::shared_ptr<detail::stream> s = stream_;
    if (!s || !s->is_open()) co_return fail(errc::sys_bad_handle);
    std::vector<std::span<std::byte>> keep;
    std::size_t total = 0;
    const auto parts = detail::first_bytes(into, wire::max_io, keep, total);
    if (s->receives_ahead()) {
        auto found = s->buffered() != 0 || total == 0 ? result<ahead>(ahead::bytes)
                                                      : co_await wait_received(s);
        if (!found) co_return unexpected(found.error());
        if (*found == ahead::end) co_return 0;
        if (*found == ahead::bytes) {
            std::size_t n = 0;
            for (const auto& p : parts)
                n += s->take(p);  // in order; at most the buffers' total
            (void)s->receive_ahead();
            co_return n;
        }
    }
    if (auto e = kept_error<std::size_t>(*s)) co_return *e;
    request r{.op = wire::op::recv};
    r.scatter = parts;
    r.args[0] = total;
    r.asked = total;
    auto o = co_await detail::call_on(s->owner(), s->id(), handle_kind::socket, r);
    if (!o) co_return unexpected(o.error());
    co_return o->bytes;
}

async::task<result<std::size_t>> socket::writev(std::span<const std::span<const std::byte>> bytes) {
    std::shared_ptr<detail::stream> s = stream_;
    if (!s || !s->is_open()) co_return fail(errc::sys_bad_handle);
    if (auto e = kept_error<std::size_t>(*s)) co_return *e;
    std::vector<std::span<const std::byte>> keep;
    std::size_t total = 0;
    if (s->writes_behind()) {
        (void)detail::first_bytes(bytes, wire::max_io, keep, total);
        if (total == 0) co_return 0;
        if (auto w = co_await wait_for_room(s); !w) co_return unexpected(w.error());
        const auto parts =
            detail::first_bytes(bytes, std::min(wire::max_io, s->room()), keep, total);
        if (auto q = s->queue(parts); !q) co_return unexpected(q.error());
        co_return total;
    }
    request r{.op = wire::op::send};
    r.gather = detail::first_bytes(bytes, wire::max_io, keep, total);
    r.asked = total;
    auto o = co_await detail::call_on(s->owner(), s->id(), handle_kind::socket, r);
    if (!o) co_return unexpected(o.error());
    co_return static_cast<std::size_t>(o->value);
}

async::task<result<void>> socket::send_all(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        auto n = co_await send(bytes);
        if (!n) co_return unexpected(n.error());
        if (*n == 0) co_return unexpected(error::from_errno(EPIPE));
        bytes = bytes.subspan(*n);
    }
    co_return result<void>{};
}

async::task<result<void>> socket::flush() {
    std::shared_ptr<detail::stream> s = stream_;
    if (!s || !s->is_open()) co_return fail(errc::sys_bad_handle);
    while (!s->flushed() && !s->failure()) {
        s->sent.reset();
        if (!co_await s->sent.wait()) co_return fail(errc::cancelled);
    }
    if (auto e = kept_error<void>(*s)) co_return *e;
    co_return result<void>{};
}

async::task<result<void>> socket::shutdown(shutdown_how how) {
    std::shared_ptr<detail::stream> s = stream_;
    if (!s || !s->is_open()) co_return fail(errc::sys_bad_handle);
    if (how != shutdown_how::read) {
        // The queued bytes go before the end of the stream.
        if (auto f = co_await flush(); !f) co_return f;
    }
    if (auto e = kept_error<void>(*s)) co_return *e;
    request r{.op = wire::op::shutdown};
    r.args[0] = static_cast<std::uint64_t>(how);
    co_return done(co_await detail::call_on(s->owner(), s->id(), handle_kind::socket, r));
}

async::task<result<void>> socket::set_option(wire::socket_option option, bool on) {
    std::shared_ptr<detail::stream> s = stream_;
    if (!s || !s->is_open()) co_return fail(errc::sys_bad_handle);
    if (auto e = kept_error<void>(*s)) co_return *e;
    request r{.op = wire::op::set_option};
    r.args[0] = static_cast<std::uint64_t>(option);
    r.args[1] = on ? 1 : 0;
    co_return done(co_await detail::call_on(s->owner(), s->id(), handle_kind::socket, r));
}

async::task<result<address>> socket::local_address() {
    std::shared_ptr<detail::stream> s = stream_;
    if (!s || !s->is_open()) co_return fail(errc::sys_bad_handle);
    if (auto e = kept_error<address>(*s)) co_return *e;
    co_return co_await detail::address_of(s->owner(), s->id(), handle_kind::socket,
                                          wire::op::local_address);
}

async::task<result<address>> socket::peer_address() {
    std::shared_ptr<detail::stream> s = stream_;
    if (!s || !s->is_open()) co_return fail(errc::sys_bad_handle);
    if (auto e = kept_error<address>(*s)) co_return *e;
    co_return co_await detail::address_of(s->owner(), s->id(), handle_kind::socket,
                                          wire::op::peer_address);
}

async::task<result<void>> socket::close() {
    std::shared_ptr<detail::stream> s = std::move(stream_);
    if (!s || !s->is_open()) co_return fail(errc::sys_bad_handle);
    while (!s->flushed() && !s->failure()) {
        s->sent.reset();
        if (!co_await s->sent.wait()) {
            s->detach();  // given up: closes once the queue is sent
            co_return fail(errc::cancelled);
        }
    }
    std::optional<error> kept = s->failure();
    // Waiting for the queue may have taken a while: closed meanwhile?
    if (!s->is_open()) co_return fail(kept ? kept->code : errc::sys_bad_handle);
    auto closed = co_await detail::close_and_wait(s->owner(), s->id(), handle_kind::socket);
    if (kept) co_return unexpected(*kept);
    co_return closed;
}

}  // namespace airlock::sys
