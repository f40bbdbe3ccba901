// Description: a seeded run of random pushes and pulls, single and batched, matches a reference
// model bit for bit.
#include <cstring>
#include <map>
#include <random>

#include "engine_support.hh"

namespace airlock::ps::testing {
namespace {

TEST(PsModel, RandomPushesAndPullsMatchAReferenceModel) {
    constexpr std::uint32_t dim = 5;
    constexpr std::uint64_t keys = 300;
    constexpr float rate = 0.125f;
    model m(dim, keys);
    engine e(m, engine_options{rate, 16});
    session s;
    // The reference: a map of vectors, updated by the SGD step written out here.
    std::map<std::uint64_t, std::vector<float>> ref;
    std::mt19937_64 rng(0x5eed);
    // Sparse 64-bit ids, not 0..keys-1, so the table's probing is exercised.
    std::vector<std::uint64_t> held;
    for (std::uint64_t i = 0; i < keys; ++i) {
        const std::uint64_t id = rng();
        std::vector<float> v(dim);
        model::initial_value(id, v);
        ASSERT_TRUE(m.insert(id, v).has_value());
        ref[id] = v;
        held.push_back(id);
    }
    std::uniform_real_distribution<float> grad(-4.0f, 4.0f);
    std::size_t pulls = 0;
    for (int step = 0; step < 4000; ++step) {
        const std::uint32_t count = 1 + static_cast<std::uint32_t>(rng() % 16);
        std::vector<std::uint64_t> ids(count);
        for (auto& id : ids)
            id = held[rng() % held.size()];  // duplicates happen
        std::vector<std::byte> in, out;
        if (rng() % 2 == 0) {
            std::vector<float> g(count * dim);
            for (float& x : g)
                x = grad(rng);
            encode_push(in, ids, g, dim);
            for (std::uint32_t i = 0; i < count; ++i)
                for (std::uint32_t j = 0; j < dim; ++j)
                    ref[ids[i]][j] -= rate * g[i * dim + j];
            ASSERT_TRUE(e.on_bytes(s, in, out));
            const auto r = check_reply(out, op::push, count, dim);
            ASSERT_TRUE(r.has_value());
            ASSERT_EQ(r->status(), errc::ok);
        } else {
            encode_pull(in, ids);
            ASSERT_TRUE(e.on_bytes(s, in, out));
            const auto r = check_reply(out, op::pull, count, dim);
            ASSERT_TRUE(r.has_value());
            ASSERT_EQ(r->status(), errc::ok);
            for (std::uint32_t i = 0; i < count; ++i)
                ASSERT_EQ(std::memcmp(r->payload.data() + i * dim * 4, ref[ids[i]].data(), dim * 4),
                          0)
                    << "step " << step << " id " << ids[i];
            ++pulls;
        }
    }
    EXPECT_GT(pulls, 0u);
    for (const auto& [id, v] : ref)
        ASSERT_EQ(std::memcmp(m.find(id), v.data(), dim * 4), 0);
}

TEST(PsModel, FullModelRefusesANewFeature) {
    model m(2, 3);
    const float v[2] = {1, 2};
    for (std::uint64_t id = 0; id < 3; ++id)
        ASSERT_TRUE(m.insert(id, v).has_value());
    EXPECT_EQ(m.insert(99, v).error(), errc::ps_model_full);
    EXPECT_TRUE(m.insert(1, v).has_value()) << "overwriting a held feature needs no room";
    EXPECT_EQ(m.find(99), nullptr);
}

}  // namespace
}  // namespace airlock::ps::testing
