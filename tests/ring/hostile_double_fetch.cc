// SPDX-License-Identifier: Apache-2.0
// Description: a record header or payload changed after the consumer took
// its snapshot cannot change what the consumer does: the copy is bounded by
// the snapshot's length, the private copy is what was read once, and a
// flipper thread toggling a header between an honest and a hostile value
// while the consumer runs yields either the honest message or a fault, never
// a longer read (HOSTILE-INPUTS #6, #7).
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::code_of;

namespace {

constexpr std::uint64_t capacity = 1024;
constexpr std::uint64_t max_payload = wire::max_record_payload(capacity);

std::uint64_t header(std::uint64_t length, std::uint64_t tag, wire::record_kind kind) {
    return wire::encode(
        {static_cast<std::uint32_t>(length), static_cast<std::uint16_t>(tag), kind});
}

// Header values the host flips to after the snapshot: longer than the
// record, longer than the ring, "negative", a different kind, garbage.
const std::vector<std::uint64_t> flipped_headers = {
    header(0xffff'ffff, 1, wire::record_kind::message),
    header(max_payload, 1, wire::record_kind::message),
    header(capacity, 1, wire::record_kind::message),
    header(8, 1, wire::record_kind::padding),
    header(40, 1, wire::record_kind::fragment_first),
    0xffff'ffff'ffff'ffffull,
    0,
};

// The subset that is invalid wherever it appears in the flipper test below
// (longer than anything published, or not a valid header at all); a flip to
// a header that is valid in context is simply another honest-looking record.
const std::vector<std::uint64_t> invalid_headers = {
    header(0xffff'ffff, 1, wire::record_kind::message),
    header(max_payload, 1, wire::record_kind::message),
    header(capacity, 1, wire::record_kind::fragment_middle),
    0xffff'ffff'ffff'ffffull,
    0,
    header(16, 1, wire::record_kind::message) | (std::uint64_t{1} << 56),
};

// The data-area word index of ring offset `pos`.
std::size_t data_word(const test::exact_region& r, std::uint64_t pos) {
    return r.offset_of(r.ring().data) / 8 + pos / 8;
}

}  // namespace

TEST(hostile_double_fetch, header_flipped_between_peek_and_copy) {
    // The record sits in the ring's last 48 bytes: a copy that followed the
    // flipped length would run off the data area, which ASan guards.
    for (std::uint64_t flipped : flipped_headers) {
        SCOPED_TRACE(flipped);
        test::exact_region r({{capacity}});
        r.guard_ring(0);
        test::raw_writer host(r.ring());
        ring_consumer c(r.ring());
        const std::uint64_t pos = capacity - 48;
        for (std::uint64_t i = 0; i < pos / 8; ++i)
            host.record(wire::record_kind::message, 0);
        host.publish();
        for (std::uint64_t i = 0; i < pos / 8; ++i)
            ASSERT_TRUE(c.try_receive().has_value());
        // The record: 40 bytes, each word `0x4040...` plus its index.
        host.put(header(40, 7, wire::record_kind::message));
        for (std::uint64_t w = 0; w < 5; ++w)
            host.put(0x4040'4040'4040'4040ull + w);
        host.record(wire::record_kind::message, 8, 8, 0x0808'0808'0808'0808ull);  // then one more
        host.publish();

        auto rec = c.try_peek();
        ASSERT_TRUE(rec.has_value()) << to_string(rec.error());
        ASSERT_EQ(rec->size(), 40u);
        r.host_store(data_word(r, pos), flipped);  // after the snapshot
        EXPECT_EQ(rec->size(), 40u) << "the record's length is the snapshot's";
        EXPECT_EQ(rec->tag(), 7);
        EXPECT_EQ(rec->kind(), wire::record_kind::message);
        std::vector<std::byte> copy(rec->size());
        rec->copy_to(copy);
        for (std::uint64_t w = 0; w < 5; ++w) {
            std::uint64_t v;
            std::memcpy(&v, copy.data() + w * 8, 8);
            EXPECT_EQ(v, 0x4040'4040'4040'4040ull + w) << "word " << w;
        }
        c.release(*rec);
        // The consumer advanced by the snapshot's length: the next record is
        // found where it is, at the start of the ring.
        auto next = c.try_receive();
        ASSERT_TRUE(next.has_value()) << to_string(next.error());
        EXPECT_EQ(next->tag, 8);
        EXPECT_EQ(next->bytes.size(), 8u);
        EXPECT_FALSE(c.faulted());
    }
}

TEST(hostile_double_fetch, fragment_total_is_read_once) {
    // The announced total of a fragmented message is read once; changing it
    // afterwards does not change how much is reassembled or accepted.
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer host(r.ring());
    ring_consumer c(r.ring());
    const std::vector<std::byte> big = test::pattern(max_payload * 2 + 100, 3);
    outgoing_message m(5, big);
    AIRLOCK_EXPECT_ERRC(code_of(host.try_send(m)), errc::ring_full);  // a lap of fragments
    // The first fragment is at offset 0; its total is payload word 0.
    const std::size_t total_word = data_word(r, 8);
    ASSERT_EQ(r.host_load(total_word), big.size());
    // The consumer takes that lap (and reads the total once) ...
    AIRLOCK_EXPECT_ERRC(code_of(c.try_receive()), errc::ring_empty);
    // ... then the host changes the total, before the rest arrives.
    r.host_store(total_word, 1u << 30);
    std::optional<std::vector<std::byte>> got;
    for (int i = 0; i < 16 && !got; ++i) {
        (void)host.try_send(m);
        auto part = c.try_receive();
        if (part)
            got.emplace(part->bytes.begin(), part->bytes.end());
        else
            AIRLOCK_EXPECT_ERRC(part.error(), errc::ring_empty);
    }
    ASSERT_TRUE(got.has_value()) << "the message never completed";
    ASSERT_EQ(got->size(), big.size());
    EXPECT_EQ(test::first_mismatch(*got, 3), -1);
}

TEST(hostile_double_fetch, payload_changed_after_copy_does_not_reach_the_message) {
    test::exact_region r({{capacity}});
    r.guard_ring(0);
    ring_producer host(r.ring());
    ring_consumer c(r.ring());
    ASSERT_TRUE(host.try_send(1, test::pattern(100, 1)).has_value());
    auto m = c.try_receive();
    ASSERT_TRUE(m.has_value()) << to_string(m.error());
    EXPECT_FALSE(r.contains(m->bytes.data(), 1)) << "message bytes must be a private copy";
    // The host now rewrites the whole data area.
    const std::size_t first = data_word(r, 0);
    for (std::size_t w = first; w < first + capacity / 8; ++w)
        r.host_store(w, ~0ull);
    EXPECT_EQ(m->bytes.size(), 100u);
    EXPECT_EQ(test::first_mismatch(m->bytes, 1), -1) << "the private copy changed";

    // Same for a fragmented message, reassembled privately.
    test::exact_region r2({{capacity}});
    ring_producer host2(r2.ring());
    ring_consumer c2(r2.ring());
    const std::vector<std::byte> big = test::pattern(max_payload + 300, 2);
    outgoing_message om(2, big);
    ASSERT_TRUE(host2.try_send(om).has_value());
    auto fm = c2.try_receive();
    ASSERT_TRUE(fm.has_value()) << to_string(fm.error());
    EXPECT_FALSE(r2.contains(fm->bytes.data(), 1));
    const std::size_t first2 = r2.offset_of(r2.ring().data) / 8;
    for (std::size_t w = first2; w < first2 + capacity / 8; ++w)
        r2.host_store(w, 0);
    EXPECT_EQ(test::first_mismatch(fm->bytes, 2), -1);
}

TEST(hostile_double_fetch, flipper_thread_on_the_header) {
    // A thread toggles the header word of the record the consumer is about
    // to read between its honest value and a hostile one, at full speed.
    // Every outcome is the honest message or a record fault.
    test::watchdog dog(std::chrono::seconds(120), "header flipper");
    const int rounds = static_cast<int>(3000 * test::stress_scale()) + 10;
    std::atomic<std::size_t> target{0};  // word index + 1; 0 = idle
    std::atomic<std::uint64_t> honest_value{0};
    std::atomic<std::uint64_t> hostile_value{0};
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> acked{0};  // rounds the flipper has seen end
    std::atomic<std::uint64_t> round_no{0};
    auto region = std::make_unique<test::exact_region>(region_geometry{{capacity}});
    region->guard_ring(0);  // the flipper and the writer touch only the data area and tail

    std::thread flipper([&] {
        std::uint64_t seen = 0;
        while (!stop.load(std::memory_order_acquire)) {
            const std::size_t t = target.load(std::memory_order_acquire);
            if (t == 0) {
                acked.store(round_no.load(std::memory_order_acquire), std::memory_order_release);
                std::this_thread::yield();  // idle: leave the CPU to the consumer
                continue;
            }
            const std::uint64_t h = honest_value.load(std::memory_order_relaxed);
            const std::uint64_t x = hostile_value.load(std::memory_order_relaxed);
            region->host_store(t - 1, (seen++ & 1) ? x : h);
        }
    });

    std::uint64_t delivered = 0;
    std::uint64_t faults = 0;
    auto consumer = std::make_unique<ring_consumer>(region->ring());
    auto writer = std::make_unique<test::raw_writer>(region->ring());
    for (int i = 0; i < rounds; ++i) {
        const std::uint64_t length = 8 + static_cast<std::uint64_t>(i % 13) * 8;
        const std::uint64_t seq = static_cast<std::uint64_t>(i);
        // Stage one honest record at the writer's tail.
        writer->wrap_for(wire::record_bytes(length));
        const std::uint64_t pos = writer->tail() & (capacity - 1);
        const std::uint64_t honest = header(length, seq & 0xffff, wire::record_kind::message);
        writer->put(honest);
        for (std::uint64_t w = 0; w < length / 8; ++w)
            writer->put(seq * 1000 + w);
        writer->publish();
        // Arm the flipper on that header.
        honest_value.store(honest, std::memory_order_relaxed);
        hostile_value.store(invalid_headers[static_cast<std::size_t>(i) % invalid_headers.size()],
                            std::memory_order_relaxed);
        target.store(data_word(*region, pos) + 1, std::memory_order_release);

        auto m = consumer->try_receive();

        // Disarm and wait until the flipper has stopped writing.
        target.store(0, std::memory_order_release);
        round_no.store(seq + 1, std::memory_order_release);
        while (acked.load(std::memory_order_acquire) != seq + 1)
            std::this_thread::yield();

        if (m) {
            ++delivered;
            ASSERT_EQ(m->bytes.size(), length) << "round " << i;
            ASSERT_EQ(m->tag, seq & 0xffff);
            for (std::uint64_t w = 0; w < length / 8; ++w) {
                std::uint64_t v;
                std::memcpy(&v, m->bytes.data() + w * 8, 8);
                ASSERT_EQ(v, seq * 1000 + w) << "round " << i << " word " << w;
            }
            continue;
        }
        const errc e = m.error();
        ASSERT_TRUE(e == errc::fault_record_header || e == errc::fault_record_length)
            << "round " << i << ": expected the message or a record fault, got " << to_string(e);
        ++faults;
        test::expect_consumer_stuck(*consumer, e);
        // Start over on a fresh region.
        auto fresh = std::make_unique<test::exact_region>(region_geometry{{capacity}});
        fresh->guard_ring(0);
        consumer = std::make_unique<ring_consumer>(fresh->ring());
        writer = std::make_unique<test::raw_writer>(fresh->ring());
        region = std::move(fresh);  // the flipper is idle: safe to swap
    }
    stop.store(true, std::memory_order_release);
    flipper.join();
    std::printf("flipper: %llu messages delivered intact, %llu faults\n",
                static_cast<unsigned long long>(delivered),
                static_cast<unsigned long long>(faults));
    EXPECT_EQ(delivered + faults, static_cast<std::uint64_t>(rounds));
}

TEST(hostile_double_fetch, payload_words_are_copied_whole) {
    // A thread toggles every payload word between two values while the
    // consumer copies: each word of the private copy is one value or the
    // other, never a mix of bytes (8-byte atomic loads, #22, #24).
    test::watchdog dog(std::chrono::seconds(120), "payload flipper");
    test::exact_region r({{capacity}});
    ring_producer host(r.ring());
    ring_consumer c(r.ring());
    constexpr std::uint64_t a = 0x1111'1111'1111'1111ull;
    constexpr std::uint64_t b = 0x2222'2222'2222'2222ull;
    const std::vector<std::byte> payload(max_payload, std::byte{0x11});
    std::atomic<bool> stop{false};
    const std::size_t first = data_word(r, 8);  // payload words of the record at offset 0
    std::thread flipper([&] {
        std::uint64_t n = 0;
        while (!stop.load(std::memory_order_acquire)) {
            for (std::size_t w = 0; w < max_payload / 8; ++w)
                r.host_store(first + w, (n & 1) ? b : a);
            ++n;
        }
    });
    const int rounds = static_cast<int>(2000 * test::stress_scale()) + 10;
    std::uint64_t mixed = 0;
    for (int i = 0; i < rounds; ++i) {
        auto rec = c.try_peek();
        if (!rec) {
            AIRLOCK_EXPECT_ERRC(rec.error(), errc::ring_empty);
            ASSERT_TRUE(host.try_send(1, payload).has_value());
            rec = c.try_peek();
            ASSERT_TRUE(rec.has_value());
        }
        std::vector<std::byte> copy(rec->size());
        rec->copy_to(copy);
        bool saw_a = false;
        bool saw_b = false;
        for (std::size_t w = 0; w < copy.size() / 8; ++w) {
            std::uint64_t v;
            std::memcpy(&v, copy.data() + w * 8, 8);
            ASSERT_TRUE(v == a || v == b) << "word " << w << " torn: 0x" << std::hex << v;
            saw_a |= v == a;
            saw_b |= v == b;
        }
        mixed += saw_a && saw_b;
        // Keep reading the same record (the ring is not released), so the
        // flipper always targets the words being copied.
    }
    stop.store(true, std::memory_order_release);
    flipper.join();
    std::printf("payload flipper: %llu of %d copies saw both values\n",
                static_cast<unsigned long long>(mixed), rounds);
}
