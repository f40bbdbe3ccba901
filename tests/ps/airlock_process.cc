// Description: the airlock mode with its enclave in a sealed process (no system calls) serves
// pushes and pulls over TCP, answers bad frames, and closes a connection whose peer left.
#include <cstring>

#include "platform/process_support.hh"
#include "server_support.hh"

namespace airlock::ps::testing {
namespace {

TEST(PsAirlockProcess, ServesFromASealedEnclave) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(platform::platform_kind::process);
    server_options o = small_server(io_mode::airlock);
    o.platform = platform::platform_kind::process;
    running_server srv(o);
    client a(srv.port());
    {
        client b(srv.port());
        ASSERT_TRUE(srv.wait_connections(2));
        // b leaves with half a request sent.
        std::vector<std::byte> half;
        const std::uint64_t ids[] = {1, 2};
        encode_pull(half, ids);
        half.resize(half.size() - 3);
        b.send_all(half);
    }
    EXPECT_TRUE(srv.wait_connections(1));

    const std::uint64_t ids[] = {5, 9, 5};
    const std::vector<float> g(3 * o.dimension, 0.75f);
    std::vector<std::byte> req;
    encode_push(req, ids, g, o.dimension);
    encode_pull(req, ids);
    const std::uint64_t unknown = o.keys;
    encode_pull(req, std::span(&unknown, 1));
    a.send_all(req);

    auto f = a.receive_frame();
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(check_reply(*f, op::push, 3, o.dimension)->status(), errc::ok);
    f = a.receive_frame();
    ASSERT_TRUE(f.has_value());
    const auto r = check_reply(*f, op::pull, 3, o.dimension);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->status(), errc::ok);
    // Feature 5 took two steps, feature 9 one.
    for (const auto& [index, id, steps] : {std::tuple{0, 5, 2}, {1, 9, 1}, {2, 5, 2}}) {
        std::vector<float> want(o.dimension);
        model::initial_value(static_cast<std::uint64_t>(id), want);
        for (float& w : want)
            for (int s = 0; s < steps; ++s)
                w -= o.engine.learning_rate * 0.75f;
        EXPECT_EQ(
            std::memcmp(r->payload.data() + index * o.dimension * 4, want.data(), o.dimension * 4),
            0)
            << "id " << id;
    }
    f = a.receive_frame();
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(static_cast<errc>(peek_header(*f)->status), errc::ps_unknown_id);
}

}  // namespace
}  // namespace airlock::ps::testing
