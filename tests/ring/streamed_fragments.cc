// SPDX-License-Identifier: Apache-2.0
// Description: a message above stream_chunk travels as fragments of at most stream_chunk, each
// published as it is written.
//
// A consumer cannot read a record before all of it is published. A 100 KiB
// message fits one record of a 256 KiB ring, but sent that way the consumer
// would start copying only after the producer finished; streamed, every
// fragment is visible as soon as it is written.
#include <cstdint>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::is_pattern;
using airlock::test::pattern;

namespace {

constexpr std::size_t capacity = std::size_t{256} * 1024;

// Counts the producer's publishes: each one rings the consumer's doorbell,
// and these hooks arm the bell again after every ring, so none is missed.
class publish_counter final : public wait_hooks {
  public:
    explicit publish_counter(wire::doorbell& bell) : bell_(bell) { arm(); }
    void yield() noexcept override {}
    void park(shared_u64&, std::uint64_t, std::uint64_t) noexcept override {}
    void unpark(shared_u64&) noexcept override {
        ++publishes;
        arm();
    }
    [[nodiscard]] std::uint64_t now_ns() noexcept override { return 0; }
    void arm() noexcept { shared::store_relaxed(bell_.word, 1); }
    std::size_t publishes = 0;

  private:
    wire::doorbell& bell_;
};

struct streamed {
    std::vector<std::size_t> fragment_sizes;  // payload of each record, in order
    std::vector<wire::record_kind> kinds;
    std::size_t publishes = 0;
};

// Sends `bytes` with try_send(outgoing_message&) into an empty ring, then
// walks the records it wrote and receives the message whole.
streamed send_and_walk(std::size_t bytes) {
    test::test_region r({capacity});
    publish_counter counter(r.ring().control->consumer_bell);
    ring_producer p(r.ring(), {.hooks = &counter});
    const std::vector<std::byte> message = pattern(bytes, 7);
    outgoing_message m(5, message);
    auto sent = p.try_send(m);
    EXPECT_TRUE(sent) << to_string(sent.error());
    EXPECT_TRUE(m.done());

    streamed s;
    s.publishes = counter.publishes;
    {  // What is in the ring, record by record (zero-copy view).
        ring_consumer peek(r.ring());
        for (;;) {
            auto rec = peek.try_peek();
            if (!rec) break;
            s.fragment_sizes.push_back(rec->size());
            s.kinds.push_back(rec->kind());
            peek.release(*rec);
        }
    }
    ring_consumer c(r.ring());
    auto got = c.try_receive();
    EXPECT_TRUE(got) << to_string(got.error());
    if (got) {
        EXPECT_EQ(got->tag, 5);
        EXPECT_TRUE(is_pattern(got->bytes, bytes, 7));
    }
    return s;
}

}  // namespace

TEST(streamed_fragments, a_message_of_stream_chunk_bytes_is_one_record) {
    ASSERT_LT(stream_chunk, wire::max_record_payload(capacity));
    const streamed s = send_and_walk(stream_chunk);
    ASSERT_EQ(s.kinds.size(), 1u);
    EXPECT_EQ(s.kinds[0], wire::record_kind::message);
    EXPECT_EQ(s.publishes, 1u);
}

TEST(streamed_fragments, a_larger_message_is_fragments_of_at_most_stream_chunk) {
    const std::size_t bytes = 100 * 1024;  // fits one record of this ring
    ASSERT_LT(bytes, wire::max_record_payload(capacity));
    const streamed s = send_and_walk(bytes);
    ASSERT_GE(s.kinds.size(), 2u);
    EXPECT_EQ(s.kinds.front(), wire::record_kind::fragment_first);
    EXPECT_EQ(s.kinds.back(), wire::record_kind::fragment_last);
    std::size_t data = 0;
    for (std::size_t i = 0; i < s.fragment_sizes.size(); ++i) {
        EXPECT_LE(s.fragment_sizes[i], stream_chunk) << "fragment " << i;
        data += s.fragment_sizes[i];
    }
    EXPECT_EQ(data, bytes + 8);  // the first fragment carries the 8-byte total
    EXPECT_EQ(s.fragment_sizes.size(), (bytes + 8 + stream_chunk - 1) / stream_chunk);
    // Each fragment was published on its own, before the next was written.
    EXPECT_EQ(s.publishes, s.fragment_sizes.size());
}

TEST(streamed_fragments, small_rings_keep_records_of_half_the_ring) {
    // Below 32 KiB of ring, half the ring is the smaller limit.
    test::test_region r({4096});
    ring_producer p(r.ring());
    EXPECT_EQ(p.max_single_record(), wire::max_record_payload(4096));
}
