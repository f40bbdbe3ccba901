// Description: a seeded run of random pushes and pulls, single and batched, matches a reference
// model bit for bit, with the model's vectors in enclave memory and in a suvm space fifteen times
// its page cache.
#include <cstring>
#include <map>
#include <memory>
#include <random>

#include "engine_support.hh"
#include "suvm/suvm_support.hh"

namespace airlock::ps::testing {
namespace {

constexpr std::uint32_t dim = 5;  // 20-byte rows: some cross a page boundary
constexpr std::uint64_t keys = 3000;

// The model under test, in the storage asked for. The suvm one: 1 KiB pages,
// a 4-page cache, 60,000 bytes of rows (15 times the cache).
struct model_under_test {
    std::unique_ptr<suvm::test::paged> space;
    std::unique_ptr<model> m;

    explicit model_under_test(model_storage storage) {
        if (storage == model_storage::memory) {
            m = std::make_unique<model>(dim, keys);
            return;
        }
        auto o = suvm::test::small_options(0, 4, 1024);
        o.size = model::paged_bytes(dim, keys);
        space = std::make_unique<suvm::test::paged>(o);
        auto p = model::paged(dim, keys, *space->s);
        EXPECT_TRUE(p.has_value());
        if (p) m = std::make_unique<model>(std::move(*p));
        EXPECT_GE(m->rows_bytes(), 14 * space->s->cache_bytes());
    }
    // Row `r` of the model, read back.
    std::vector<float> row_of(std::uint64_t id) const {
        std::vector<float> v(dim);
        const auto r = m->find(id);
        EXPECT_NE(r, model::no_row);
        EXPECT_TRUE(m->read(r, reinterpret_cast<std::byte*>(v.data())).has_value());
        return v;
    }
};

class PsModel : public ::testing::TestWithParam<model_storage> {};

TEST_P(PsModel, RandomPushesAndPullsMatchAReferenceModel) {
    constexpr float rate = 0.125f;
    model_under_test t(GetParam());
    ASSERT_TRUE(t.m);
    model& m = *t.m;
    EXPECT_EQ(m.storage(), GetParam());
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
        ASSERT_EQ(std::memcmp(t.row_of(id).data(), v.data(), dim * 4), 0);
    if (t.space) {
        // The rows went through the backing store: evicted, sealed and read back.
        const auto st = t.space->s->stats();
        EXPECT_GT(st.write_backs, keys * dim * 4 / 1024);
        EXPECT_GT(st.faults, 10 * (keys * dim * 4 / 1024));
        EXPECT_EQ(t.space->s->fault(), errc::ok);
    }
}

TEST_P(PsModel, FullModelRefusesANewFeature) {
    model_under_test t(GetParam());
    ASSERT_TRUE(t.m);
    model& m = *t.m;
    std::vector<float> v(dim, 1.0f);
    for (std::uint64_t id = 0; id < keys; ++id)
        ASSERT_TRUE(m.insert(id, v).has_value());
    EXPECT_EQ(m.insert(keys, v).error(), errc::ps_model_full);
    v[0] = 2;
    EXPECT_TRUE(m.insert(1, v).has_value()) << "overwriting a held feature needs no room";
    EXPECT_EQ(t.row_of(1), v);
    EXPECT_EQ(m.find(keys), model::no_row);
}

INSTANTIATE_TEST_SUITE_P(storages, PsModel,
                         ::testing::Values(model_storage::memory, model_storage::suvm),
                         [](const auto& param_info) {
                             return param_info.param == model_storage::memory ? "memory" : "suvm";
                         });

}  // namespace
}  // namespace airlock::ps::testing
