// SPDX-License-Identifier: Apache-2.0
// Description: a file's writes return once queued and reach the file in
// the order they were made: seeded writes and overlapping pwrites, never
// more than the bound unflushed, read back through the file (reads wait
// for the queue) and by the host after close, byte for byte; a write that
// fails behind surfaces at flush and stays for every later call, close
// included; a file dropped with writes queued still writes them (sim and
// process).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "airlock/sys/file.hh"
#include "enclave_fixture.hh"
#include "temp_dir.hh"

namespace {

using namespace airlock;
using airlock::async::task;

constexpr std::size_t bound = 4096;  // file_write_behind_bytes
constexpr std::uint64_t seed = 41;

// Writes the seeded scenario to `path`, reads it back, closes; returns the
// file's FNV-1a hash, or an error.
constexpr rpc::enclave_method<1, std::uint64_t(std::string)> write_scenario{"write_scenario"};
// Returns 0, or the step that broke the promise.
constexpr rpc::enclave_method<2, std::uint64_t(std::string)> error_kept{"error_kept"};
// Writes `n` bytes of the stream and drops the file; returns the bytes unflushed then.
constexpr rpc::enclave_method<3, std::uint64_t(std::string)> write_and_drop{"write_and_drop"};

constexpr std::size_t dropped_bytes = 100'000;

std::uint64_t fnv(std::span<const std::byte> b) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (std::byte x : b)
        h = (h ^ static_cast<std::uint64_t>(x)) * 0x100000001b3ull;
    return h;
}

task<expected<std::uint64_t>> scenario(sys::client& c, std::string path) {
    auto f = co_await sys::file::open(c, path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (!f) co_return unexpected(f.error().code);
    std::vector<std::byte> model;
    test::seeded g{seed};
    std::uint64_t label = 0;
    for (int op = 0; op < 300; ++op) {
        std::vector<std::byte> piece(g.size(6000));
        for (auto& b : piece)
            b = test::stream_byte(seed, label++);
        // Mostly writes at the offset; some pwrites over earlier bytes (or past the end).
        const bool at_offset = g.next() % 3 != 0;
        const std::uint64_t at = at_offset ? f->offset() : g.next() % (model.size() + 100);
        auto n = at_offset ? co_await f->write(piece) : co_await f->pwrite(piece, at);
        if (!n) co_return unexpected(n.error().code);
        if (*n == 0 || *n > piece.size()) co_return unexpected(errc::sys_bad_result);
        if (f->unflushed() > bound) co_return unexpected(errc::invalid_argument);
        if (model.size() < at + *n) model.resize(at + *n);
        std::copy_n(piece.begin(), *n, model.begin() + static_cast<std::ptrdiff_t>(at));
    }
    // Reads see every write made before them.
    std::vector<std::byte> back(model.size());
    for (std::size_t at = 0; at < back.size();) {
        auto n = co_await f->pread(std::span(back).subspan(at), at);
        if (!n || *n == 0) co_return unexpected(errc::sys_errno);
        at += *n;
    }
    if (back != model) co_return unexpected(errc::invalid_argument);
    auto st = co_await f->stat();
    if (!st || st->size != model.size()) co_return unexpected(errc::sys_bad_result);
    if (!co_await f->close()) co_return unexpected(errc::sys_errno);
    co_return fnv(model);
}

task<std::uint64_t> kept(sys::client& c, std::string path) {
    auto f = co_await sys::file::open(c, path, O_RDONLY);
    if (!f) co_return 1;
    const std::array<std::byte, 10> ten{};
    auto n = co_await f->write(ten);  // queued; the host's write fails (EBADF)
    if (!n || *n != ten.size()) co_return 2;
    auto flushed = co_await f->flush();
    if (flushed || !flushed.error().is_errno(EBADF)) co_return 3;
    auto again = co_await f->write(ten);
    if (again || !again.error().is_errno(EBADF)) co_return 4;
    std::array<std::byte, 4> buf{};
    auto r = co_await f->pread(buf, 0);
    if (r || !r.error().is_errno(EBADF)) co_return 5;
    auto s = co_await f->fsync();
    if (s || !s.error().is_errno(EBADF)) co_return 6;
    auto closed = co_await f->close();
    if (closed || !closed.error().is_errno(EBADF)) co_return 7;
    if (f->is_open()) co_return 8;
    co_return 0;
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t, 0, {.file_write_behind_bytes = bound});
    t.host.serve(write_scenario, [&c](std::string path) { return scenario(c, std::move(path)); });
    t.host.serve(error_kept, [&c](std::string path) { return kept(c, std::move(path)); });
    t.host.serve(write_and_drop, [&c](std::string path) -> task<expected<std::uint64_t>> {
        auto f = co_await sys::file::open(c, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (!f) co_return unexpected(f.error().code);
        std::vector<std::byte> all(dropped_bytes);
        for (std::size_t i = 0; i < all.size(); ++i)
            all[i] = test::stream_byte(seed, i);
        if (!co_await f->write_all(all)) co_return unexpected(errc::sys_errno);
        co_return f->unflushed();  // the file is dropped with these queued
    });
}

class sys_file_write_behind : public test::sys_enclave_test<program> {
  protected:
    void ready() override { ASSERT_FALSE(dir.empty()); }
    static std::vector<std::byte> contents(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::vector<std::byte> b(c.size());
        std::memcpy(b.data(), c.data(), c.size());
        return b;
    }

    const test::temp_dir tmp{"airlock-sys-wb"};  // removed after TearDown
    const std::string& dir = tmp.path();
};

TEST_P(sys_file_write_behind, writes_reach_the_file_in_order_within_the_bound) {
    test::watchdog dog(std::chrono::seconds(60), "sys_file_write_behind");
    const std::string path = dir + "/scenario";
    auto h = try_call(write_scenario, path);
    ASSERT_TRUE(h.has_value()) << to_string(h.error());
    EXPECT_EQ(fnv(contents(path)), *h) << "the host reads what the enclave's model holds";
}

TEST_P(sys_file_write_behind, a_failed_write_behind_is_kept_for_every_later_call) {
    test::watchdog dog(std::chrono::seconds(60), "sys_file_write_behind error");
    const std::string path = dir + "/read-only";
    std::ofstream(path) << "x";
    auto step = try_call(error_kept, path);
    ASSERT_TRUE(step.has_value()) << to_string(step.error());
    EXPECT_EQ(*step, 0u) << "step that broke the promise";
}

TEST_P(sys_file_write_behind, a_file_dropped_with_writes_queued_still_writes_them) {
    test::watchdog dog(std::chrono::seconds(60), "sys_file_write_behind drop");
    const std::string path = dir + "/dropped";
    auto left = try_call(write_and_drop, path);
    ASSERT_TRUE(left.has_value()) << to_string(left.error());
    EXPECT_LE(*left, bound);
    std::vector<std::byte> want(dropped_bytes);
    for (std::size_t i = 0; i < want.size(); ++i)
        want[i] = test::stream_byte(seed, i);
    EXPECT_TRUE(test::eventually([&] { return contents(path) == want; }))
        << "size " << contents(path).size();
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_file_write_behind);

}  // namespace
