// SPDX-License-Identifier: Apache-2.0
// Description: enclave code reads and writes files and sockets with lists of
// buffers (readv, writev, preadv, pwritev): the bytes land in and leave from
// the buffers in order, empty buffers are skipped, the file offset moves by
// the count, O_APPEND files write at the end, and a list of more than
// wire::max_io bytes is a short call; against the real kernel, on sim and on
// the sealed process platform.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <iterator>
#include <string>

#include "airlock/sys/file.hh"
#include "airlock/sys/socket.hh"
#include "enclave_fixture.hh"
#include "temp_dir.hh"

namespace {

using namespace airlock;
using airlock::async::task;

// Runs the file scenario in folder `dir`; returns 0 or the step that failed.
constexpr rpc::enclave_method<1, std::uint64_t(std::string)> file_scenario{"file_scenario"};
// Connects to the host at `port` and writes "hello" from three buffers;
// returns the count.
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> socket_write{"socket_write"};
// Reads once into buffers of 4, 0, 3 and 3 bytes; returns 0 when they hold
// "0123", "456", "789", or the step that failed.
constexpr rpc::enclave_method<3, std::uint64_t()> socket_read{"socket_read"};

std::span<const std::byte> bytes(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}
std::string_view text(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

task<expected<std::uint64_t>> files(sys::client& c, std::string dir) {
    auto f = co_await sys::file::open(c, dir + "/v.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (!f) co_return 1;
    const std::span<const std::byte> parts[] = {bytes("ab"), {}, bytes("cdef"), bytes("ghi")};
    auto w = co_await f->writev(parts);
    if (!w || *w != 9 || f->offset() != 9) co_return 2;
    std::array<std::byte, 3> a{};
    std::array<std::byte, 4> b{};
    std::array<std::byte, 10> rest{};
    const std::span<std::byte> into[] = {a, {}, b, rest};
    auto n = co_await f->preadv(into, 1);
    if (!n || *n != 8) co_return 3;
    if (text(a) != "bcd" || text(b) != "efgh" || text(std::span(rest).first(1)) != "i") co_return 4;
    if (f->offset() != 9) co_return 5;  // preadv leaves the offset
    f->seek(2);
    n = co_await f->readv(into);
    if (!n || *n != 7 || f->offset() != 9 || text(a) != "cde" || text(b) != "fghi") co_return 6;
    const std::span<const std::byte> over[] = {bytes("XY"), bytes("Z")};
    w = co_await f->pwritev(over, 3);
    if (!w || *w != 3 || f->offset() != 9) co_return 7;
    f->seek(0);
    std::array<std::byte, 16> all{};
    const std::span<std::byte> one[] = {all};
    n = co_await f->readv(one);
    if (!n || text(std::span(all).first(*n)) != "abcXYZghi") co_return 8;
    // More than wire::max_io bytes in all: one short write of the first max_io.
    std::vector<std::byte> big(40'000, std::byte{'x'});
    const std::span<const std::byte> two[] = {big, big};
    f->seek(0);
    w = co_await f->writev(two);
    if (!w || *w != sys::wire::max_io || f->offset() != sys::wire::max_io) co_return 9;
    if (!co_await f->close()) co_return 10;
    // O_APPEND: writev goes to the end whatever the offset.
    auto g = co_await sys::file::open(c, dir + "/v.txt", O_WRONLY | O_APPEND);
    if (!g) co_return 11;
    const std::span<const std::byte> tail[] = {bytes("<"), bytes(">")};
    w = co_await g->pwritev(tail, 0);
    if (!w || *w != 2) co_return 12;
    auto st = co_await g->stat();
    if (!st || st->size != sys::wire::max_io + 2) co_return 13;
    co_return 0;
}

struct state {
    sys::socket s;
};

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    auto st_owner = std::make_shared<state>();
    t.keep_alive->push_back(st_owner);
    state* st = st_owner.get();
    t.host.serve(file_scenario, [&c](std::string dir) { return files(c, std::move(dir)); });
    t.host.serve(socket_write, [&c, st](std::uint64_t port) -> task<expected<std::uint64_t>> {
        auto s = co_await sys::socket::connect(
            c, sys::address::ipv4_loopback(static_cast<std::uint16_t>(port)));
        if (!s) co_return unexpected(s.error().code);
        st->s = std::move(*s);
        const std::span<const std::byte> parts[] = {bytes("he"), {}, bytes("l"), bytes("lo")};
        auto n = co_await st->s.writev(parts);
        if (!n) co_return unexpected(n.error().code);
        co_return *n;
    });
    t.host.serve(socket_read, [st]() -> task<expected<std::uint64_t>> {
        std::array<std::byte, 4> a{};
        std::array<std::byte, 3> b{}, d{};
        const std::span<std::byte> into[] = {a, {}, b, d};
        auto n = co_await st->s.readv(into);
        if (!n) co_return unexpected(n.error().code);
        if (*n != 10) co_return 1;
        if (text(a) != "0123" || text(b) != "456" || text(d) != "789") co_return 2;
        std::array<std::byte, 1> more{};
        const std::span<std::byte> last[] = {more};
        n = co_await st->s.readv(last);
        if (!n || *n != 0) co_return 3;  // end of stream
        co_return 0;
    });
}

using sys_vectored = test::sys_stream_test<program>;

TEST_P(sys_vectored, files_and_sockets_read_and_write_lists_of_buffers) {
    test::watchdog dog(std::chrono::seconds(60), "sys_vectored");
    const test::temp_dir dir("airlock-sys-vectored");
    ASSERT_FALSE(dir.path().empty());
    EXPECT_EQ(call(file_scenario, dir.path()), 0u) << "the file step that failed";

    connect(socket_write);  // writes "hello" from three buffers
    EXPECT_EQ(test::read_exactly(peer, 5), "hello");
    ASSERT_EQ(::send(peer, "0123456789", 10, MSG_NOSIGNAL), 10);
    ::shutdown(peer, SHUT_WR);
    EXPECT_EQ(call(socket_read), 0u) << "the socket step that failed";
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_vectored);

}  // namespace
