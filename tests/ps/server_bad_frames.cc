// Description: over TCP, in every mode, a bad frame gets an error reply and the connection goes on,
// an oversized frame closes its connection cleanly, and other connections never notice.
#include "server_support.hh"

namespace airlock::ps::testing {
namespace {

class PsServerBadFrames : public ::testing::TestWithParam<io_mode> {};

TEST_P(PsServerBadFrames, ErrorsThenCleanClose) {
    const server_options o = small_server(GetParam());
    running_server srv(o);
    client bystander(srv.port());
    client bad(srv.port());
    ASSERT_TRUE(srv.wait_connections(2));

    // Unknown id, oversized batch and a bad length: answered, connection kept.
    std::vector<std::byte> req;
    const std::uint64_t unknown = o.keys + 5;
    encode_pull(req, std::span(&unknown, 1));
    std::vector<std::uint64_t> many(o.engine.max_batch + 1, 0);
    encode_pull(req, many);
    put_header(req, op::pull, 0, 1, 3);
    req.resize(req.size() + 3);
    bad.send_all(req);
    for (const errc want : {errc::ps_unknown_id, errc::ps_batch_too_large, errc::ps_bad_length}) {
        const auto f = bad.receive_frame();
        ASSERT_TRUE(f.has_value());
        EXPECT_EQ(static_cast<errc>(peek_header(*f)->status), want);
    }
    const std::uint64_t id = 1;
    req.clear();
    encode_pull(req, std::span(&id, 1));
    bad.send_all(req);
    auto f = bad.receive_frame();
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(check_reply(*f, op::pull, 1, o.dimension)->status(), errc::ok);

    // A length above the largest frame: one error reply, then end of stream.
    req.clear();
    detail::put(req, std::uint32_t{1} << 30);
    bad.send_all(req);
    f = bad.receive_frame();
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(static_cast<errc>(peek_header(*f)->status), errc::ps_frame_too_large);
    EXPECT_TRUE(bad.at_end());
    EXPECT_TRUE(srv.wait_connections(1));

    // The other connection was served throughout.
    req.clear();
    encode_pull(req, std::span(&id, 1));
    bystander.send_all(req);
    f = bystander.receive_frame();
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(check_reply(*f, op::pull, 1, o.dimension)->status(), errc::ok);
}

INSTANTIATE_TEST_SUITE_P(Modes, PsServerBadFrames, ::testing::ValuesIn(all_modes),
                         [](const auto& p) { return std::string(to_string(p.param)); });

}  // namespace
}  // namespace airlock::ps::testing
