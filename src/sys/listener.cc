// SPDX-License-Identifier: Apache-2.0
// Listeners of enclave code (listener.hh).
#include "airlock/sys/listener.hh"

namespace airlock::sys {

listener& listener::operator=(listener&& o) noexcept {
    if (this != &o) {
        detail::close_detached(client_, handle_, handle_kind::listener);
        client_ = std::move(o.client_);
        handle_ = o.handle_;
        o.handle_ = 0;
    }
    return *this;
}

bool listener::is_open() const noexcept {
    return client_ && client_->valid(handle_, handle_kind::listener);
}

async::task<result<listener>> listener::listen(client& c, address at, listen_options options) {
    client_ref ref(c);
    auto h = c.make_handle(handle_kind::listener);
    if (!h) co_return unexpected(h.error());
    request r{.op = wire::op::listen, .target = *h, .makes = *h};
    r.args[0] = options.backlog;
    r.args[1] = (options.reuse_address ? wire::listen_reuse_address : 0) |
                (options.v6_only ? wire::listen_v6_only : 0) |
                (options.reuse_port ? wire::listen_reuse_port : 0);
    r.payload = at.bytes();
    auto o = co_await c.call(r);
    if (!o) co_return unexpected(o.error());  // the client retires *h
    co_return listener(std::move(ref), *h);
}

async::task<result<socket>> listener::accept(address* peer) {
    client_ref c = client_;
    if (!c || !c->valid(handle_, handle_kind::listener)) co_return fail(errc::sys_bad_handle);
    auto h = c->make_handle(handle_kind::socket);
    if (!h) co_return unexpected(h.error());
    std::array<std::byte, wire::max_sockaddr> buf{};
    request r{.op = wire::op::accept, .target = handle_, .makes = *h};
    r.args[0] = *h;
    r.into = buf;
    auto o = co_await c->call(r);
    if (!o) co_return unexpected(o.error());  // the client retires *h
    if (peer != nullptr) {
        auto a = address::from_bytes({buf.data(), o->bytes});
        if (a) *peer = *a;
    }
    co_return socket(std::move(c), *h);
}

async::task<result<address>> listener::local_address() {
    return detail::address_of(client_, handle_, handle_kind::listener, wire::op::local_address);
}

async::task<result<void>> listener::close() {
    client_ref c = std::move(client_);
    const handle h = handle_;
    handle_ = 0;
    return detail::close_and_wait(std::move(c), h, handle_kind::listener);
}

}  // namespace airlock::sys
