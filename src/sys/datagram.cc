// SPDX-License-Identifier: Apache-2.0
// UDP sockets of enclave code (datagram.hh).
#include "airlock/sys/datagram.hh"

#include <algorithm>
#include <vector>

#include "airlock/sys/socket.hh"

namespace airlock::sys {

// A datagram socket's handles are of kind `socket`: the host tells a UDP fd
// from a TCP one, and the enclave keeps them apart by type.

datagram_socket& datagram_socket::operator=(datagram_socket&& o) noexcept {
    if (this != &o) {
        detail::close_detached(client_, handle_, handle_kind::socket);
        client_ = std::move(o.client_);
        handle_ = o.handle_;
        o.handle_ = 0;
    }
    return *this;
}

datagram_socket::~datagram_socket() {
    detail::close_detached(client_, handle_, handle_kind::socket);
}

bool datagram_socket::is_open() const noexcept {
    return client_ && client_->valid(handle_, handle_kind::socket);
}

async::task<result<datagram_socket>> datagram_socket::bind(client& c, address at) {
    client_ref ref(c);
    auto h = c.make_handle(handle_kind::socket);
    if (!h) co_return unexpected(h.error());
    request r{.op = wire::op::udp_bind, .target = *h, .makes = *h};
    r.payload = at.bytes();
    auto o = co_await c.call(r);
    if (!o) co_return unexpected(o.error());  // the client retires *h
    co_return datagram_socket(std::move(ref), *h);
}

async::task<result<std::size_t>> datagram_socket::send_to(std::span<const std::byte> bytes,
                                                          address to) {
    if (bytes.size() > wire::max_io) co_return unexpected(error::from_errno(EMSGSIZE));
    request r{.op = wire::op::send_to};
    r.args[0] = to.bytes().size();
    r.payload = to.bytes();
    r.payload2 = bytes;
    r.asked = bytes.size();
    auto o = co_await detail::call_on(client_, handle_, handle_kind::socket, r);
    if (!o) co_return unexpected(o.error());
    co_return static_cast<std::size_t>(o->value);
}

async::task<result<std::size_t>> datagram_socket::receive_from(std::span<std::byte> into,
                                                               address* from) {
    into = into.first(std::min(into.size(), wire::max_io));
    // The reply is the sender's address, then the bytes: one private buffer.
    std::vector<std::byte> buf(wire::max_sockaddr + into.size());
    request r{.op = wire::op::receive_from};
    r.args[0] = into.size();
    r.asked = into.size();
    r.into = buf;
    auto o = co_await detail::call_on(client_, handle_, handle_kind::socket, r);
    if (!o) co_return unexpected(o.error());
    // Checked by the link: aux + value == bytes, aux a well-formed address.
    const std::size_t alen = o->aux;
    if (from != nullptr) {
        auto a = address::from_bytes({buf.data(), alen});
        if (a) *from = *a;
    }
    std::copy_n(buf.data() + alen, o->value, into.data());
    co_return static_cast<std::size_t>(o->value);
}

async::task<result<address>> datagram_socket::local_address() {
    return detail::address_of(client_, handle_, handle_kind::socket, wire::op::local_address);
}

async::task<result<void>> datagram_socket::close() {
    client_ref c = std::move(client_);
    const handle h = handle_;
    handle_ = 0;
    return detail::close_and_wait(std::move(c), h, handle_kind::socket);
}

}  // namespace airlock::sys
