// Description: a request naming an id the model does not hold gets ps_unknown_id with the id's
// index and changes nothing.
#include "engine_support.hh"

namespace airlock::ps::testing {
namespace {

TEST(PsProtocol, UnknownIdsChangeNothing) {
    engine_fixture f;
    std::vector<float> before(test_dimension), after(test_dimension);
    ASSERT_TRUE(f.m.read(f.m.find(3), reinterpret_cast<std::byte*>(before.data())).has_value());

    const std::uint64_t ids[] = {3, 1000, 5};
    std::vector<float> g(3 * test_dimension, 1.0f);
    std::vector<std::byte> in;
    encode_push(in, ids, g, test_dimension);
    encode_pull(in, ids);
    ASSERT_TRUE(f.feed(in));
    const auto frames = frames_of(f.out);
    ASSERT_EQ(frames.size(), 2u);
    for (const auto& frame : frames) {
        EXPECT_EQ(status_of(frame), errc::ps_unknown_id);
        EXPECT_EQ(peek_header(frame)->count, 1u) << "index of the first unknown id";
    }
    // The push applied to none of its ids, not even the known one before 1000.
    ASSERT_TRUE(f.m.read(f.m.find(3), reinterpret_cast<std::byte*>(after.data())).has_value());
    EXPECT_EQ(before, after);
}

}  // namespace
}  // namespace airlock::ps::testing
