// SPDX-License-Identifier: Apache-2.0
// Description: when the host process dies without destroying its enclave,
// the enclave process exits too: nothing is left running. A helper process
// plays the host (creates an enclave, reports its pid, then _exits); this
// test is a child subreaper, so the orphaned enclave becomes its child and
// its end can be awaited, with a watchdog instead of a timeout.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> echo{"echo"};

void program(platform::enclave_thread& t) {
    t.host.serve(echo, [](std::uint64_t x) { return x; });
}

TEST(process_host_death, the_enclave_process_exits_with_its_host) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(::airlock::platform::platform_kind::process);
    ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    int pipe_fds[2];
    ASSERT_EQ(::pipe(pipe_fds), 0);
    const pid_t helper = ::fork();
    ASSERT_GE(helper, 0);
    if (helper == 0) {
        // The "host": create an enclave, say its pid, die without cleanup.
        ::close(pipe_fds[0]);
        auto e = platform::enclave::create(test::process_config(), program);
        const int pid = e ? (*e)->process_id() : -1;
        (void)!::write(pipe_fds[1], &pid, sizeof pid);
        ::_exit(0);
    }
    ::close(pipe_fds[1]);
    int enclave_pid = -1;
    ASSERT_EQ(::read(pipe_fds[0], &enclave_pid, sizeof enclave_pid),
              static_cast<ssize_t>(sizeof enclave_pid));
    ::close(pipe_fds[0]);
    ASSERT_GT(enclave_pid, 0) << "the helper host created its enclave";

    test::watchdog dog(std::chrono::seconds(60), "enclave outliving its host");
    int status = 0;
    ASSERT_EQ(::waitpid(helper, &status, 0), helper);
    // The orphan is reparented to this subreaper; it ends on its own.
    ASSERT_EQ(::waitpid(enclave_pid, &status, 0), enclave_pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the enclave died by PR_SET_PDEATHSIG, status " << status;
    errno = 0;
    EXPECT_EQ(::kill(enclave_pid, 0), -1);
    EXPECT_EQ(errno, ESRCH) << "and was reaped";
}

}  // namespace
