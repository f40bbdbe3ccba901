// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/sys/stream_support.hh: the host's side of the stream tests
// (eager receive, write behind, eager accept, echo): a loopback listener, a
// connection to the enclave, reading a whole reply, a bounded wait, and
// seeded byte streams both sides can make and check.
//
// Thread contract: host side, any test thread.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

namespace airlock::test {

// Waits (bounded) for `done`; the test's watchdog ends a run that hangs anyway.
inline bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 20'000; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return done();
}

// A loopback TCP listener on a free port (in `port`), or -1.
inline int loopback_listener(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (fd < 0) return -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
        ::close(fd);
        return -1;
    }
    port = ntohs(sa.sin_port);
    return fd;
}

// A connection to 127.0.0.1:`port`, or -1.
inline int loopback_connect(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Reads `n` bytes from `fd`; fewer when the stream ends or fails first.
inline std::string read_exactly(int fd, std::size_t n) {
    std::string got(n, '\0');
    std::size_t at = 0;
    while (at < n) {
        const ssize_t r = ::read(fd, got.data() + at, n - at);
        if (r <= 0) break;
        at += static_cast<std::size_t>(r);
    }
    got.resize(at);
    return got;
}

// A seeded generator (splitmix64) both sides run to make and check streams
// of bytes and of chunk sizes.
struct seeded {
    std::uint64_t state;
    std::uint64_t next() noexcept {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // A size in [1, most].
    std::size_t size(std::size_t most) noexcept { return 1 + next() % most; }
};

// Byte `i` of the stream made from `seed`.
inline std::byte stream_byte(std::uint64_t seed, std::uint64_t i) noexcept {
    seeded g{seed ^ (i / 8) * 0x2545f4914f6cdd1dull};
    return static_cast<std::byte>(g.next() >> (8 * (i % 8)));
}

}  // namespace airlock::test
