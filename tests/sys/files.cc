// SPDX-License-Identifier: Apache-2.0
// Description: enclave code creates, writes, reads (with its own offset and
// at given offsets), syncs, truncates, stats, renames and removes files and
// folders, and lists a folder, in a temporary folder through the sys link, on sim and on the
// sealed process platform; a missing file is ENOENT, printable.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "airlock/sys/file.hh"
#include "enclave_fixture.hh"
#include "temp_dir.hh"

namespace {

using namespace airlock;
using airlock::async::task;

// Runs the file scenario in folder `dir`; returns 0 or the step that failed.
constexpr rpc::enclave_method<1, std::uint64_t(std::string)> file_scenario{"file_scenario"};
// stat of a missing path: the printed error.
constexpr rpc::enclave_method<2, std::string(std::string)> stat_missing{"stat_missing"};

std::span<const std::byte> bytes(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

task<expected<std::uint64_t>> scenario(sys::client& c, std::string dir) {
    const std::string a = dir + "/a.txt", b = dir + "/b.txt", sub = dir + "/sub";
    auto f = co_await sys::file::open(c, a, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (!f) co_return 1;
    if (!co_await f->write_all(bytes("hello, "))) co_return 2;
    if (!co_await f->write_all(bytes("enclave"))) co_return 3;
    if (f->offset() != 14) co_return 4;
    if (!co_await f->fsync(true)) co_return 5;
    std::array<std::byte, 64> buf{};
    auto n = co_await f->pread(buf, 7);
    if (!n || *n != 7 || std::memcmp(buf.data(), "enclave", 7) != 0) co_return 6;
    f->seek(0);
    n = co_await f->read(std::span(buf).first(5));
    if (!n || *n != 5 || std::memcmp(buf.data(), "hello", 5) != 0 || f->offset() != 5) co_return 7;
    auto w = co_await f->pwrite(bytes("HELLO"), 0);
    if (!w || *w != 5) co_return 8;
    auto st = co_await f->stat();
    if (!st || st->size != 14 || !S_ISREG(st->mode)) co_return 9;
    if (!co_await f->truncate(5)) co_return 10;
    f->seek(0);
    n = co_await f->read(buf);
    if (!n || *n != 5 || std::memcmp(buf.data(), "HELLO", 5) != 0) co_return 11;
    n = co_await f->read(buf);
    if (!n || *n != 0) co_return 12;  // end of file
    if (!co_await f->close()) co_return 13;
    if (f->is_open()) co_return 14;
    if (!co_await sys::rename(c, a, b)) co_return 15;
    auto sb = co_await sys::stat(c, b);
    if (!sb || sb->size != 5) co_return 16;
    if (!co_await sys::mkdir(c, sub, 0700)) co_return 17;
    auto sd = co_await sys::stat(c, sub);
    if (!sd || !S_ISDIR(sd->mode)) co_return 18;
    auto again = co_await sys::mkdir(c, sub, 0700);
    if (again || !again.error().is_errno(EEXIST)) co_return 19;
    auto listed = co_await sys::list_dir(c, dir);
    if (!listed || listed->size() != 2) co_return 23;
    bool saw_b = false, saw_sub = false;
    for (const auto& e : *listed) {
        saw_b |= e.name == "b.txt" && e.type == DT_REG;
        saw_sub |= e.name == "sub" && e.type == DT_DIR;
    }
    if (!saw_b || !saw_sub) co_return 24;
    if (!co_await sys::rmdir(c, sub)) co_return 20;
    if (!co_await sys::unlink(c, b)) co_return 21;
    auto gone = co_await sys::stat(c, b);
    if (gone || !gone.error().is_errno(ENOENT)) co_return 22;
    co_return 0;
}

void program(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);
    t.host.serve(file_scenario, [&c](std::string dir) { return scenario(c, std::move(dir)); });
    t.host.serve(stat_missing, [&c](std::string path) -> task<expected<std::string>> {
        auto s = co_await sys::stat(c, path);
        if (s) co_return std::string("found");
        co_return sys::to_string(s.error());
    });
}

using sys_files = test::sys_enclave_test<program>;

TEST_P(sys_files, every_file_call_against_the_real_kernel) {
    test::watchdog dog(std::chrono::seconds(60), "sys_files");
    const test::temp_dir dir("airlock-sys-files");
    ASSERT_FALSE(dir.path().empty());
    EXPECT_EQ(call(file_scenario, dir.path()), 0u) << "the step that failed";
    auto m = try_call(stat_missing, dir.path() + "/no-such-file");
    ASSERT_TRUE(m.has_value()) << to_string(m.error());
    EXPECT_EQ(*m, "sys_errno ENOENT (No such file or directory)");
}

AIRLOCK_SYS_ON_BOTH_PLATFORMS(sys_files);

}  // namespace
