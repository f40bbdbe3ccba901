// SPDX-License-Identifier: Apache-2.0
// Description: forged fragment sequences (a part without a first, a first
// shorter than its total word or longer than its total, parts that overrun
// or fall short of the total, a changed tag, interleaved messages, totals
// above the trusted cap up to 2^64 - 1, a first whose header claims one byte
// more than a record may carry or more than was published) fault the
// consumer with fault_fragment_sequence, fault_fragment_total or
// fault_record_length, before any allocation beyond the cap and before any
// copy past the record; valid sequences reassemble (HOSTILE-INPUTS #5, #19).
#include <cstdint>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::code_of;
using kind = airlock::ring::wire::record_kind;

namespace {

constexpr std::uint64_t capacity = 1024;
constexpr std::size_t cap = 4096;  // the consumer's trusted max_message
constexpr auto max_payload = static_cast<std::uint32_t>(wire::max_record_payload(capacity));

struct step {
    kind k;
    std::uint32_t length;
    std::uint16_t tag = 1;
    std::uint64_t fill = 0;    // every payload word; word 0 of a first is its total
    bool header_only = false;  // write the header word alone (a forged length)
};

struct sequence {
    const char* what;
    std::vector<step> steps;
    errc want;  // errc::ok: a message of `size` bytes
    std::size_t size = 0;
};

const std::uint64_t u64_max = ~std::uint64_t{0};

const std::vector<sequence> sequences = {
    {"middle without a first", {{kind::fragment_middle, 16}}, errc::fault_fragment_sequence},
    {"last without a first", {{kind::fragment_last, 16}}, errc::fault_fragment_sequence},
    {"abort without a first", {{kind::fragment_abort, 0}}, errc::fault_fragment_sequence},
    {"first of 0 bytes (no total word)",
     {{kind::fragment_first, 0}},
     errc::fault_fragment_sequence},
    {"first of 7 bytes", {{kind::fragment_first, 7, 1, 100}}, errc::fault_fragment_sequence},
    {"first carrying more than its total",
     {{kind::fragment_first, 8 + 32, 1, 16}},
     errc::fault_fragment_sequence},
    {"total one above the cap",
     {{kind::fragment_first, 8, 1, cap + 1}},
     errc::fault_fragment_total},
    {"total 2^63",
     {{kind::fragment_first, 8, 1, std::uint64_t{1} << 63}},
     errc::fault_fragment_total},
    {"total 2^64 - 1", {{kind::fragment_first, 8, 1, u64_max}}, errc::fault_fragment_total},
    {"first of max_payload + 1 bytes (all of them published)",
     {{kind::fragment_first, max_payload + 1, 1, cap}},
     errc::fault_record_length},
    {"first of max_payload + 1 bytes, more than its total too",
     {{kind::fragment_first, max_payload + 1, 1, 16}},
     errc::fault_record_length},
    {"first claiming 2^32 - 8 bytes",
     {{kind::fragment_first, 0xffff'fff8, 1, 0, true}},
     errc::fault_record_length},
    {"first claiming 64 bytes with only its header published",
     {{kind::fragment_first, 64, 1, 0, true}},
     errc::fault_record_length},
    {"last of max_payload + 1 bytes",
     {{kind::fragment_first, 8, 1, cap}, {kind::fragment_last, max_payload + 1}},
     errc::fault_record_length},
    {"message inside a fragmented one",
     {{kind::fragment_first, 24, 1, 100}, {kind::message, 8}},
     errc::fault_fragment_sequence},
    {"first inside a fragmented one",
     {{kind::fragment_first, 24, 1, 100}, {kind::fragment_first, 24, 1, 100}},
     errc::fault_fragment_sequence},
    {"middle with another tag",
     {{kind::fragment_first, 24, 1, 100}, {kind::fragment_middle, 16, 2}},
     errc::fault_fragment_sequence},
    {"last with another tag",
     {{kind::fragment_first, 24, 1, 32}, {kind::fragment_last, 16, 2}},
     errc::fault_fragment_sequence},
    {"middle overrunning the total",
     {{kind::fragment_first, 24, 1, 100}, {kind::fragment_middle, 100}},
     errc::fault_fragment_sequence},
    {"middle of 2^32 - 8 bytes",
     {{kind::fragment_first, 24, 1, 100}, {kind::fragment_middle, 0xffff'fff8, 1, 0, true}},
     errc::fault_record_length},
    {"last falling short of the total",
     {{kind::fragment_first, 24, 1, 100}, {kind::fragment_last, 50}},
     errc::fault_fragment_sequence},
    {"last overrunning the total",
     {{kind::fragment_first, 24, 1, 100}, {kind::fragment_last, 85}},
     errc::fault_fragment_sequence},
    {"middle that completes the total (it must be a last)",
     {{kind::fragment_first, 24, 1, 100}, {kind::fragment_middle, 84}},
     errc::fault_fragment_sequence},
    // Valid sequences.
    {"first, middle, last",
     {{kind::fragment_first, 24, 1, 40}, {kind::fragment_middle, 16}, {kind::fragment_last, 8}},
     errc::ok,
     40},
    {"empty fragmented message",
     {{kind::fragment_first, 8, 1, 0}, {kind::fragment_last, 0}},
     errc::ok,
     0},
    {"total exactly the cap, abandoned, then a message",
     {{kind::fragment_first, 8, 1, cap},
      {kind::fragment_middle, 256},
      {kind::fragment_abort, 0},
      {kind::message, 5, 3}},
     errc::ok,
     5},
    {"first of exactly max_payload bytes, then the rest",
     {{kind::fragment_first, max_payload, 1, 1000},
      {kind::fragment_last, 1000 - (max_payload - 8)}},
     errc::ok,
     1000},
    {"zero-length middles are legal",
     {{kind::fragment_first, 16, 1, 16},
      {kind::fragment_middle, 0},
      {kind::fragment_middle, 0},
      {kind::fragment_last, 8}},
     errc::ok,
     16},
};

}  // namespace

TEST(hostile_fragments, table_of_sequences) {
    for (const sequence& seq : sequences) {
        SCOPED_TRACE(seq.what);
        test::exact_region r({{capacity}});
        r.guard_ring(0);
        test::raw_writer host(r.ring());
        consumer_options o;
        o.max_message = cap;
        ring_consumer c(r.ring(), o);
        for (const step& s : seq.steps) {
            if (s.header_only)
                host.put(wire::encode({s.length, s.tag, s.k}));
            else
                host.record(s.k, s.length, s.tag, s.fill);
        }
        host.publish();
        auto m = c.try_receive();
        AIRLOCK_EXPECT_ERRC(code_of(m), seq.want);
        if (seq.want == errc::ok) {
            if (m) {
                EXPECT_EQ(m->bytes.size(), seq.size);
            }
            EXPECT_FALSE(c.faulted()) << to_string(c.fault());
        } else {
            test::expect_consumer_stuck(c, seq.want);
        }
    }
}

TEST(hostile_fragments, unfragmented_message_above_the_cap) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    test::raw_writer host(r.ring());
    consumer_options o;
    o.max_message = 64;
    ring_consumer c(r.ring(), o);
    host.record(kind::message, 65);
    host.publish();
    AIRLOCK_EXPECT_ERRC(code_of(c.try_receive()), errc::fault_fragment_total);
    test::expect_consumer_stuck(c, errc::fault_fragment_total);
}

TEST(hostile_fragments, reassembly_grows_only_to_the_cap) {
    // A message exactly at the cap, in many small fragments, reassembles;
    // one byte more faults. The content is the honest producer's.
    for (std::size_t total : {cap, cap + 1}) {
        SCOPED_TRACE(total);
        test::exact_region r({{capacity}});
        r.guard_ring(0);
        ring_producer honest(r.ring());
        consumer_options o;
        o.max_message = cap;
        ring_consumer c(r.ring(), o);
        const std::vector<std::byte> big = test::pattern(total, 6);
        outgoing_message m(6, big);
        errc outcome = errc::ring_empty;
        for (int i = 0; i < 100 && outcome == errc::ring_empty; ++i) {
            (void)honest.try_send(m);
            auto got = c.try_receive();
            outcome = code_of(got);
            if (got) {
                EXPECT_EQ(test::first_mismatch(got->bytes, 6), -1);
            }
        }
        AIRLOCK_EXPECT_ERRC(outcome, total <= cap ? errc::ok : errc::fault_fragment_total);
    }
}
