// Description: with the model's rows in a suvm space, a row the host changed in the backing store
// answers pulls and pushes with suvm_fault_integrity, never its bytes, and the connection goes on.
#include <cstring>

#include "engine_support.hh"
#include "suvm/suvm_support.hh"

namespace airlock::ps::testing {
namespace {

TEST(PsModelSuvm, TamperedRowsAnswerAnIntegrityFault) {
    constexpr std::uint32_t dim = 8;      // 32-byte rows, 32 to a 1 KiB page
    constexpr std::uint64_t keys = 1024;  // 32 pages, 8 times the cache
    auto o = suvm::test::small_options(0, 4, 1024);
    o.size = model::paged_bytes(dim, keys);
    o.prefetch = false;
    suvm::test::paged space(o);
    ASSERT_TRUE(space.s);
    auto pm = model::paged(dim, keys, *space.s);
    ASSERT_TRUE(pm.has_value());
    model& m = *pm;
    std::vector<float> v(dim);
    for (std::uint64_t id = 0; id < keys; ++id) {
        model::initial_value(id, v);
        ASSERT_TRUE(m.insert(id, v).has_value());
    }
    engine e(m, engine_options{0.5f, 8});
    session s;
    // Every page sealed out; then the host flips a bit of row 0's page.
    suvm::test::evict_all(*space.s);
    space.slot(0)[5] ^= std::byte{1};

    std::vector<std::byte> in, out;
    const std::uint64_t far = keys - 1, first = 0;
    encode_pull(in, std::span(&far, 1));  // a page still intact
    encode_pull(in, std::span(&first, 1));
    const std::vector<float> g(dim, 1.0f);
    encode_push(in, std::span(&far, 1), g, dim);
    ASSERT_TRUE(e.on_bytes(s, in, out)) << "the connection goes on";
    const auto frames = frames_of(out);
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(status_of(frames[0]), errc::ok);
    EXPECT_EQ(status_of(frames[1]), errc::suvm_fault_integrity);
    EXPECT_EQ(peek_header(frames[1])->frame_bytes(), header_bytes) << "no row bytes";
    // The fault is sticky: the intact page fails too from now on.
    EXPECT_EQ(status_of(frames[2]), errc::suvm_fault_integrity);
    EXPECT_EQ(space.s->fault(), errc::suvm_fault_integrity);
    EXPECT_EQ(e.stats().errors, 2u);
}

}  // namespace
}  // namespace airlock::ps::testing
