// Description: in every I/O mode the server answers pushes and pulls from several connections at
// once with the values a reference model computes.
#include <cstring>
#include <map>
#include <random>

#include "server_support.hh"

namespace airlock::ps::testing {
namespace {

class PsServer : public ::testing::TestWithParam<io_mode> {};

TEST_P(PsServer, ServesSeveralConnections) {
    const server_options o = small_server(GetParam());
    running_server srv(o);
    constexpr int clients = 3;
    std::vector<std::unique_ptr<client>> cs;
    for (int i = 0; i < clients; ++i)
        cs.push_back(std::make_unique<client>(srv.port()));
    ASSERT_TRUE(srv.wait_connections(clients));

    std::map<std::uint64_t, std::vector<float>> ref;
    std::mt19937_64 rng(7);
    for (int step = 0; step < 300; ++step) {
        client& c = *cs[rng() % clients];
        const std::uint32_t count = 1 + static_cast<std::uint32_t>(rng() % o.engine.max_batch);
        std::vector<std::uint64_t> ids(count);
        for (auto& id : ids) {
            id = rng() % o.keys;
            if (!ref.count(id)) {
                ref[id].resize(o.dimension);
                model::initial_value(id, ref[id]);
            }
        }
        std::vector<std::byte> req;
        const bool push = rng() % 2 == 0;
        if (push) {
            std::vector<float> g(count * o.dimension);
            for (float& x : g)
                x = static_cast<float>(rng() % 1000) / 250.0f - 2.0f;
            encode_push(req, ids, g, o.dimension);
            for (std::uint32_t i = 0; i < count; ++i)
                for (std::uint32_t j = 0; j < o.dimension; ++j)
                    ref[ids[i]][j] -= o.engine.learning_rate * g[i * o.dimension + j];
        } else {
            encode_pull(req, ids);
        }
        c.send_all(req);
        const auto f = c.receive_frame();
        ASSERT_TRUE(f.has_value()) << "step " << step;
        const auto r = check_reply(*f, push ? op::push : op::pull, count, o.dimension);
        ASSERT_TRUE(r.has_value()) << "step " << step;
        ASSERT_EQ(r->status(), errc::ok);
        if (!push) {
            for (std::uint32_t i = 0; i < count; ++i)
                ASSERT_EQ(std::memcmp(r->payload.data() + i * o.dimension * 4, ref[ids[i]].data(),
                                      o.dimension * 4),
                          0)
                    << "step " << step;
        }
    }
    std::vector<std::byte> req;
    encode_stats(req);
    cs[0]->send_all(req);
    const auto f = cs[0]->receive_frame();
    ASSERT_TRUE(f.has_value());
    const auto st = decode_stats(*check_reply(*f, op::stats, 0, 0));
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ(st->requests, 300u);
    EXPECT_EQ(st->errors, 0u);
}

INSTANTIATE_TEST_SUITE_P(Modes, PsServer, ::testing::ValuesIn(all_modes),
                         [](const auto& p) { return std::string(to_string(p.param)); });

}  // namespace
}  // namespace airlock::ps::testing
