// SPDX-License-Identifier: Apache-2.0
// Description: on the process platform the shared region's memfd is sealed
// against shrinking and growing: a host that tries to truncate it under the
// enclave's mapping (which would make the enclave's next access a SIGBUS)
// is refused, and the enclave goes on answering.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"

namespace {

using namespace airlock;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> plus_one{"plus_one"};

void program(platform::enclave_thread& t) {
    t.host.serve(plus_one, [](std::uint64_t x) { return x + 1; });
}

// This process's descriptors for the region's memfd.
std::vector<int> region_memfds() {
    std::vector<int> fds;
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return fds;
    while (dirent* e = readdir(dir)) {
        const std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        char target[PATH_MAX] = {};
        const std::string link = "/proc/self/fd/" + name;
        if (readlink(link.c_str(), target, sizeof target - 1) <= 0) continue;
        if (std::string(target).find("memfd:airlock-region") != std::string::npos)
            fds.push_back(std::stoi(name));
    }
    closedir(dir);
    return fds;
}

}  // namespace

TEST(process_region_sealed, the_host_cannot_truncate_the_region) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(platform::platform_kind::process);
    platform::enclave_config config;
    config.platform = platform::platform_kind::process;
    auto enclave = platform::enclave::create(config, &program);
    ASSERT_TRUE(enclave.has_value()) << to_string(enclave.error());
    const std::vector<int> fds = region_memfds();
    ASSERT_FALSE(fds.empty()) << "the host keeps the region's memfd";
    for (int fd : fds) {
        EXPECT_NE(fcntl(fd, F_GET_SEALS) & F_SEAL_SHRINK, 0);
        EXPECT_NE(fcntl(fd, F_GET_SEALS) & F_SEAL_GROW, 0);
        errno = 0;
        EXPECT_EQ(ftruncate(fd, 4096), -1) << "the region shrank";
        EXPECT_EQ(errno, EPERM);
        EXPECT_EQ(ftruncate(fd, off_t{1} << 30), -1) << "the region grew";
    }
    auto channel = (*enclave)->open_channel(0);
    const auto r = async::sync_wait(channel->executor(), channel->endpoint().call(plus_one, 41));
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, 42u);
    EXPECT_EQ((*enclave)->failure(), errc::ok);
}
