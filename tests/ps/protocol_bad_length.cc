// Description: frames whose length disagrees with their op and count get ps_bad_length and the
// connection goes on.
#include "engine_support.hh"

namespace airlock::ps::testing {
namespace {

TEST(PsProtocol, BadLengthsAreAnsweredAndTheConnectionSurvives) {
    engine_fixture f;
    std::vector<std::byte> in;
    // A pull announcing 2 ids but carrying 1.
    put_header(in, op::pull, 0, 2, 8);
    detail::put(in, std::uint64_t{1});
    // A frame shorter than a header: length 4 (op and status only).
    detail::put(in, std::uint32_t{4});
    detail::put(in, std::uint32_t{0});
    // A push whose payload is one byte short.
    put_header(in, op::push, 0, 1, push_entry_bytes(test_dimension) - 1);
    in.resize(in.size() + push_entry_bytes(test_dimension) - 1);
    // A stats request with a count.
    put_header(in, op::stats, 0, 3, 0);
    // Then a good pull.
    const std::uint64_t id = 7;
    encode_pull(in, std::span(&id, 1));

    ASSERT_TRUE(f.feed(in));
    const auto frames = frames_of(f.out);
    ASSERT_EQ(frames.size(), 5u);
    for (std::size_t i = 0; i < 4; ++i)
        EXPECT_EQ(status_of(frames[i]), errc::ps_bad_length) << "frame " << i;
    const auto r = check_reply(frames[4], op::pull, 1, test_dimension);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status(), errc::ok);
    EXPECT_EQ(f.e.stats().errors, 4u);
    EXPECT_EQ(f.e.stats().requests, 1u);
    EXPECT_FALSE(f.s.closing());
}

TEST(PsProtocol, ReservedStatusBitsAndUnknownOpsAreRejected) {
    engine_fixture f;
    std::vector<std::byte> in;
    put_header(in, op::pull, 1, 0, 0);
    put_header(in, static_cast<op>(99), 0, 0, 0);
    ASSERT_TRUE(f.feed(in));
    const auto frames = frames_of(f.out);
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(status_of(frames[0]), errc::ps_bad_header);
    EXPECT_EQ(status_of(frames[1]), errc::ps_unknown_op);
}

}  // namespace
}  // namespace airlock::ps::testing
