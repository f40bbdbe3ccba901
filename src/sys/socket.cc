// SPDX-License-Identifier: Apache-2.0
// Sockets of enclave code (socket.hh), and the calls on a handle that
// sockets, listeners and files share.
#include <algorithm>

#include "airlock/sys/socket.hh"

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

socket& socket::operator=(socket&& o) noexcept {
    if (this != &o) {
        close_detached();
        client_ = std::move(o.client_);
        handle_ = o.handle_;
        o.handle_ = 0;
    }
    return *this;
}

void socket::close_detached() noexcept {
    detail::close_detached(client_, handle_, handle_kind::socket);
}

bool socket::is_open() const noexcept {
    return client_ && client_->valid(handle_, handle_kind::socket);
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
    co_return socket(std::move(ref), *h);
}

async::task<result<std::size_t>> socket::recv(std::span<std::byte> into) {
    into = into.first(std::min(into.size(), wire::max_io));
    request r{.op = wire::op::recv};
    r.args[0] = into.size();
    r.asked = into.size();
    r.into = into;
    auto o = co_await detail::call_on(client_, handle_, handle_kind::socket, r);
    if (!o) co_return unexpected(o.error());
    co_return o->bytes;
}

async::task<result<std::size_t>> socket::send(std::span<const std::byte> bytes) {
    bytes = bytes.first(std::min(bytes.size(), wire::max_io));
    request r{.op = wire::op::send};
    r.payload = bytes;
    r.asked = bytes.size();
    auto o = co_await detail::call_on(client_, handle_, handle_kind::socket, r);
    if (!o) co_return unexpected(o.error());
    co_return static_cast<std::size_t>(o->value);
}

async::task<result<std::size_t>> socket::readv(std::span<const std::span<std::byte>> into) {
    std::vector<std::span<std::byte>> keep;
    std::size_t total = 0;
    request r{.op = wire::op::recv};
    r.scatter = detail::first_bytes(into, wire::max_io, keep, total);
    r.args[0] = total;
    r.asked = total;
    auto o = co_await detail::call_on(client_, handle_, handle_kind::socket, r);
    if (!o) co_return unexpected(o.error());
    co_return o->bytes;
}

async::task<result<std::size_t>> socket::writev(std::span<const std::span<const std::byte>> bytes) {
    std::vector<std::span<const std::byte>> keep;
    std::size_t total = 0;
    request r{.op = wire::op::send};
    r.gather = detail::first_bytes(bytes, wire::max_io, keep, total);
    r.asked = total;
    auto o = co_await detail::call_on(client_, handle_, handle_kind::socket, r);
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

async::task<result<void>> socket::shutdown(shutdown_how how) {
    request r{.op = wire::op::shutdown};
    r.args[0] = static_cast<std::uint64_t>(how);
    co_return done(co_await detail::call_on(client_, handle_, handle_kind::socket, r));
}

async::task<result<void>> socket::set_option(wire::socket_option option, bool on) {
    request r{.op = wire::op::set_option};
    r.args[0] = static_cast<std::uint64_t>(option);
    r.args[1] = on ? 1 : 0;
    co_return done(co_await detail::call_on(client_, handle_, handle_kind::socket, r));
}

async::task<result<address>> socket::local_address() {
    return detail::address_of(client_, handle_, handle_kind::socket, wire::op::local_address);
}

async::task<result<address>> socket::peer_address() {
    return detail::address_of(client_, handle_, handle_kind::socket, wire::op::peer_address);
}

async::task<result<void>> socket::close() {
    client_ref c = std::move(client_);
    const handle h = handle_;
    handle_ = 0;
    return detail::close_and_wait(std::move(c), h, handle_kind::socket);
}

}  // namespace airlock::sys
