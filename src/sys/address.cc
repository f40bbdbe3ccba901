// SPDX-License-Identifier: Apache-2.0
// Socket addresses (address.hh). inet_pton and inet_ntop are pure functions.
#include "airlock/sys/address.hh"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "contract.hh"

namespace airlock::sys {

namespace {

template <class T>
address make(const T& sa) {
    auto r = address::from_bytes({reinterpret_cast<const std::byte*>(&sa), sizeof sa});
    return *r;
}

sockaddr_in v4(std::uint32_t host_order, std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(host_order);
    return sa;
}

sockaddr_in6 v6(const in6_addr& a, std::uint16_t port) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_port = htons(port);
    sa.sin6_addr = a;
    return sa;
}

}  // namespace

result<address> address::parse(std::string_view host, std::uint16_t port) {
    if (host.size() >= INET6_ADDRSTRLEN) return fail(errc::invalid_argument);
    char text[INET6_ADDRSTRLEN] = {};
    std::memcpy(text, host.data(), host.size());
    in_addr a4{};
    if (inet_pton(AF_INET, text, &a4) == 1) {
        sockaddr_in sa = v4(0, port);
        sa.sin_addr = a4;
        return make(sa);
    }
    in6_addr a6{};
    if (inet_pton(AF_INET6, text, &a6) == 1) return make(v6(a6, port));
    return fail(errc::invalid_argument);
}

address address::ipv4_loopback(std::uint16_t port) {
    return make(v4(INADDR_LOOPBACK, port));
}
address address::ipv6_loopback(std::uint16_t port) {
    return make(v6(in6addr_loopback, port));
}
address address::ipv4_any(std::uint16_t port) {
    return make(v4(INADDR_ANY, port));
}
address address::ipv6_any(std::uint16_t port) {
    return make(v6(in6addr_any, port));
}

result<address> address::unix_path(std::string_view path) {
    sockaddr_un sa{};
    if (path.empty() || path.size() >= sizeof sa.sun_path) return fail(errc::invalid_argument);
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path.data(), path.size());
    return from_bytes({reinterpret_cast<const std::byte*>(&sa),
                       offsetof(sockaddr_un, sun_path) + path.size() + 1});
}

result<address> address::from_bytes(std::span<const std::byte> bytes) {
    if (!detail::sockaddr_well_formed(bytes)) return fail(errc::invalid_argument);
    address a;
    std::memcpy(a.storage_.data(), bytes.data(), bytes.size());
    a.size_ = bytes.size();
    return a;
}

family address::family() const noexcept {
    if (size_ < sizeof(sa_family_t)) return family::none;
    sa_family_t f;
    std::memcpy(&f, storage_.data(), sizeof f);
    switch (f) {
        case AF_INET:
            return family::ipv4;
        case AF_INET6:
            return family::ipv6;
        case AF_UNIX:
            return family::unix_stream;
        default:
            return family::none;
    }
}

std::uint16_t address::port() const noexcept {
    switch (family()) {
        case family::ipv4: {
            sockaddr_in sa;
            std::memcpy(&sa, storage_.data(), sizeof sa);
            return ntohs(sa.sin_port);
        }
        case family::ipv6: {
            sockaddr_in6 sa;
            std::memcpy(&sa, storage_.data(), sizeof sa);
            return ntohs(sa.sin6_port);
        }
        default:
            return 0;
    }
}

std::string address::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    switch (family()) {
        case family::ipv4: {
            sockaddr_in sa;
            std::memcpy(&sa, storage_.data(), sizeof sa);
            inet_ntop(AF_INET, &sa.sin_addr, text, sizeof text);
            std::string out(text);
            out.append(1, ':').append(std::to_string(port()));
            return out;
        }
        case family::ipv6: {
            sockaddr_in6 sa;
            std::memcpy(&sa, storage_.data(), sizeof sa);
            inet_ntop(AF_INET6, &sa.sin6_addr, text, sizeof text);
            std::string out(1, '[');
            out.append(text).append("]:").append(std::to_string(port()));
            return out;
        }
        case family::unix_stream: {
            const std::size_t off = offsetof(sockaddr_un, sun_path);
            std::string p(reinterpret_cast<const char*>(storage_.data()) + off, size_ - off);
            while (!p.empty() && p.back() == '\0')
                p.pop_back();
            p.insert(0, "unix:");
            return p;
        }
        default:
            return "none";
    }
}

}  // namespace airlock::sys
