// Description: requests cut at every byte boundary get the same replies as when they arrive whole.
#include <random>

#include "engine_support.hh"

namespace airlock::ps::testing {
namespace {

TEST(PsProtocol, FramesSplitAnywhereGiveTheSameReplies) {
    std::vector<std::byte> in;
    const std::uint64_t ids[] = {1, 2, 3};
    std::vector<float> g(3 * test_dimension, 0.25f);
    encode_pull(in, ids);
    encode_push(in, ids, g, test_dimension);
    encode_pull(in, ids);
    encode_stats(in);

    engine_fixture whole;
    ASSERT_TRUE(whole.feed(in));

    std::mt19937_64 rng(16);
    for (int round = 0; round < 50; ++round) {
        engine_fixture split;
        std::size_t pos = 0;
        while (pos < in.size()) {
            const std::size_t n = std::min<std::size_t>(in.size() - pos, 1 + rng() % 13);
            ASSERT_TRUE(split.feed(std::span(in).subspan(pos, n)));
            pos += n;
        }
        EXPECT_EQ(split.s.buffered(), 0u);
        ASSERT_EQ(split.out, whole.out) << "round " << round;
    }
}

}  // namespace
}  // namespace airlock::ps::testing
