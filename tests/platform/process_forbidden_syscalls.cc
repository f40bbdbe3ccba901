// SPDX-License-Identifier: Apache-2.0
// Description: enclave code that calls open() or write(1, ...) on the
// process platform is stopped by the sandbox; the enclave reports why,
// naming the system call and the code that made it, and the host call that
// waited for it fails with an error instead of hanging.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

constexpr rpc::enclave_method<1, std::uint64_t()> open_a_file{"open_a_file"};
constexpr rpc::enclave_method<2, std::uint64_t()> write_to_stdout{"write_to_stdout"};
constexpr rpc::enclave_method<3, std::uint64_t(std::uint64_t)> echo{"echo"};

// Not inlined, so the report's stack names it.
[[gnu::noinline]] std::uint64_t enclave_opens_a_file() {
    const int fd = ::open("/etc/hostname", O_RDONLY);
    return static_cast<std::uint64_t>(fd);
}
[[gnu::noinline]] std::uint64_t enclave_writes_to_stdout() {
    return static_cast<std::uint64_t>(::write(1, "leak\n", 5));
}

void program(platform::enclave_thread& t) {
    t.host.serve(open_a_file, [] { return enclave_opens_a_file(); });
    t.host.serve(write_to_stdout, [] { return enclave_writes_to_stdout(); });
    t.host.serve(echo, [](std::uint64_t x) { return x; });
}

// Makes one forbidden call and checks what the host sees.
template <class Method>
void expect_stopped(const Method& forbidden, std::string_view call_name) {
    auto e = platform::enclave::create(test::process_config(), program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    test::watchdog dog(std::chrono::seconds(60),
                       std::string("forbidden ") + std::string(call_name));
    auto ch = (*e)->open_channel(0);
    auto ok = async::sync_wait(ch->executor(), ch->endpoint().call(echo, 5));
    ASSERT_TRUE(ok.has_value()) << "the enclave serves until it breaks a rule";

    auto r = async::sync_wait(ch->executor(), ch->endpoint().call(forbidden));
    ASSERT_FALSE(r.has_value()) << "a forbidden call never returns to enclave code";
    EXPECT_EQ(r.error(), errc::rpc_channel_faulted) << "got " << to_string(r.error());
    EXPECT_EQ(ch->endpoint().ring_fault(), errc::enclave_died)
        << "got " << to_string(ch->endpoint().ring_fault());
    EXPECT_EQ((*e)->failure(), errc::enclave_died);
    const std::string why = (*e)->diagnostic();
    EXPECT_NE(why.find("stopped by the sandbox"), std::string::npos) << why;
    EXPECT_NE(why.find(std::string("forbids: ") + std::string(call_name) + " "), std::string::npos)
        << "the report names the call: " << why;
    EXPECT_NE(why.find("test_platform_process_forbidden_syscalls+0x"), std::string::npos)
        << "the report locates the enclave code (binary+offset, for addr2line): " << why;

    // Later calls fail at once too.
    auto later = async::sync_wait(ch->executor(), ch->endpoint().call(echo, 6));
    ASSERT_FALSE(later.has_value());
    EXPECT_EQ(later.error(), errc::rpc_channel_faulted);
}

TEST(process_forbidden_syscalls, open_stops_the_enclave_with_a_diagnostic) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(::airlock::platform::platform_kind::process);
    // glibc's open() is the openat system call.
    expect_stopped(open_a_file, "openat");
}

TEST(process_forbidden_syscalls, write_to_stdout_stops_the_enclave_with_a_diagnostic) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(::airlock::platform::platform_kind::process);
    expect_stopped(write_to_stdout, "write");
}

}  // namespace
