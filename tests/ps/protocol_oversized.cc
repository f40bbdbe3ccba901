// Description: a batch above max_batch gets ps_batch_too_large and the connection goes on; a length
// above the largest frame gets ps_frame_too_large and the connection closes.
#include "engine_support.hh"

namespace airlock::ps::testing {
namespace {

TEST(PsProtocol, OversizedBatchIsRefusedAndTheConnectionSurvives) {
    engine_fixture f;
    std::vector<std::uint64_t> ids(test_max_batch + 1, 1);
    std::vector<std::byte> in;
    encode_pull(in, ids);  // fits max_frame (a pull id is smaller than a push entry)
    ids.resize(test_max_batch);
    encode_pull(in, ids);  // the largest allowed batch
    ASSERT_LE(in.size(), f.e.max_frame() * 2);
    ASSERT_TRUE(f.feed(in));
    const auto frames = frames_of(f.out);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(status_of(frames[0]), errc::ps_batch_too_large);
    const auto r = check_reply(frames[1], op::pull, test_max_batch, test_dimension);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status(), errc::ok);
}

TEST(PsProtocol, OversizedFrameClosesTheConnection) {
    engine_fixture f;
    std::vector<std::byte> in;
    detail::put(in, static_cast<std::uint32_t>(f.e.max_frame()));  // 4 + this > max_frame
    detail::put(in, std::uint32_t{1});
    EXPECT_FALSE(f.feed(in));
    EXPECT_TRUE(f.s.closing());
    const auto frames = frames_of(f.out);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(status_of(frames[0]), errc::ps_frame_too_large);
    // Later input is ignored, nothing is buffered.
    const std::uint64_t id = 1;
    std::vector<std::byte> more;
    encode_pull(more, std::span(&id, 1));
    EXPECT_FALSE(f.feed(more));
    EXPECT_EQ(frames_of(f.out).size(), 1u);
    EXPECT_EQ(f.s.buffered(), 0u);
}

TEST(PsProtocol, LargestLengthIsNotAnOverflow) {
    engine_fixture f;
    std::vector<std::byte> in;
    detail::put(in, std::uint32_t{0xffffffff});
    EXPECT_FALSE(f.feed(in));
    EXPECT_EQ(status_of(frames_of(f.out).at(0)), errc::ps_frame_too_large);
}

}  // namespace
}  // namespace airlock::ps::testing
