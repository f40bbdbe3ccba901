// Description: a worker process killed mid-request (half a frame sent, or replies left unread)
// costs the server only that connection, in every mode.
#include <signal.h>
#include <sys/wait.h>

#include "server_support.hh"

namespace airlock::ps::testing {
namespace {

// What the worker has done when it is killed.
enum class death { half_frame, replies_unread };

// Runs in the forked child: no allocation, only system calls on buffers
// prepared by the parent, then SIGKILL to itself.
[[noreturn]] void die_mid_request(std::uint16_t port, const std::vector<std::byte>& bytes,
                                  int ready_fd) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ::_exit(2);
    std::size_t at = 0;
    while (at < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + at, bytes.size() - at, MSG_NOSIGNAL);
        if (n <= 0) break;  // the socket filled up: the server is not reading ahead
        at += static_cast<std::size_t>(n);
    }
    const char one = 1;
    (void)!::write(ready_fd, &one, 1);
    ::kill(::getpid(), SIGKILL);
    ::_exit(3);
}

class PsWorkerDeath : public ::testing::TestWithParam<std::tuple<io_mode, death>> {};

TEST_P(PsWorkerDeath, ServerDropsOnlyThatConnection) {
    const auto [mode, how] = GetParam();
    const server_options o = small_server(mode);
    running_server srv(o);
    client bystander(srv.port());
    ASSERT_TRUE(srv.wait_connections(1));

    std::vector<std::byte> bytes;
    if (how == death::half_frame) {
        const std::uint64_t ids[] = {1, 2, 3};
        std::vector<float> g(3 * o.dimension, 1.0f);
        encode_push(bytes, ids, g, o.dimension);
        bytes.resize(bytes.size() - 9);  // the last id's gradient never arrives
    } else {
        std::vector<std::uint64_t> ids(o.engine.max_batch, 2);
        while (bytes.size() < (std::size_t{4} << 20))
            encode_pull(bytes, ids);  // MiBs of replies
    }
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) die_mid_request(srv.port(), bytes, ready[1]);
    ::close(ready[1]);
    char c;
    ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the worker did not get to send";
    ::close(ready[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    EXPECT_TRUE(srv.wait_connections(1)) << "the dead worker's connection was not closed";
    // No push was applied by half a frame; the bystander is served.
    std::vector<std::byte> req;
    const std::uint64_t id = 1;
    encode_pull(req, std::span(&id, 1));
    bystander.send_all(req);
    const auto f = bystander.receive_frame();
    ASSERT_TRUE(f.has_value());
    const auto r = check_reply(*f, op::pull, 1, o.dimension);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status(), errc::ok);
    std::vector<float> initial(o.dimension);
    model::initial_value(1, initial);
    EXPECT_EQ(std::memcmp(r->payload.data(), initial.data(), initial.size() * 4), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, PsWorkerDeath,
                         ::testing::Combine(::testing::ValuesIn(all_modes),
                                            ::testing::Values(death::half_frame,
                                                              death::replies_unread)),
                         [](const auto& p) {
                             return std::string(to_string(std::get<0>(p.param))) +
                                    (std::get<1>(p.param) == death::half_frame ? "_half_frame"
                                                                               : "_replies_unread");
                         });

}  // namespace
}  // namespace airlock::ps::testing
