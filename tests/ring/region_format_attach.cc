// SPDX-License-Identifier: Apache-2.0
// Description: required_size, format and attach agree on one layout that both sides use.
#include <cstdint>
#include <cstring>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::aligned_memory;

namespace {

std::uint64_t header_field(const region& r, std::size_t word) {
    return shared::load_relaxed(reinterpret_cast<const shared_u64*>(r.base())[word]);
}

// The geometries every test here runs over.
const std::vector<region_geometry>& geometries() {
    static const std::vector<region_geometry> all = {
        {{}, 0},          {{256}, 0},
        {{256, 1024}, 2}, {{4096, 256, 65536}, 1},
        {{1u << 20}, 3},  {std::vector<std::size_t>(17, 512), 5},
    };
    return all;
}

}  // namespace

TEST(region_format_attach, required_size_is_a_page_multiple_that_holds_everything) {
    for (const region_geometry& g : geometries()) {
        auto size = region::required_size(g);
        ASSERT_TRUE(size) << to_string(size.error());
        EXPECT_EQ(*size % 4096, 0u) << "required_size " << *size;
        std::size_t floor = sizeof(wire::region_header) +
                            g.ring_capacities.size() * sizeof(wire::ring_descriptor) +
                            g.doorbells * sizeof(wire::doorbell);
        for (std::size_t c : g.ring_capacities)
            floor += sizeof(wire::ring_control) + c;
        EXPECT_GE(*size, floor);
    }
}

TEST(region_format_attach, required_size_of_a_worked_example) {
    // header 64, two descriptors up to 128, two doorbells to 384, ring 0
    // control at 384 (+512 +256 = 1152), ring 1 control at 1152 (+512 +1024
    // = 2688), rounded up to one page.
    auto size = region::required_size({{256, 1024}, 2});
    ASSERT_TRUE(size);
    EXPECT_EQ(*size, 4096u);
    auto bigger = region::required_size({{256, 4096}, 2});
    ASSERT_TRUE(bigger);
    EXPECT_EQ(*bigger, 8192u) << "1152 + 512 + 4096 = 5760 rounds up to 8192";
}

TEST(region_format_attach, format_writes_the_header_of_the_wire_format) {
    const region_geometry g{{256, 1024}, 2};
    aligned_memory mem(region::required_size(g).value());
    auto r = region::format(mem.span(), g);
    ASSERT_TRUE(r) << to_string(r.error());
    EXPECT_EQ(header_field(*r, 0), wire::region_magic);
    EXPECT_EQ(header_field(*r, 1), wire::region_version);
    EXPECT_EQ(header_field(*r, 2), mem.size());
    EXPECT_EQ(header_field(*r, 3), 2u) << "ring_count";
    EXPECT_EQ(header_field(*r, 4), 2u) << "doorbell_count";
    EXPECT_EQ(header_field(*r, 5), 64u) << "ring_table_offset";
    EXPECT_EQ(header_field(*r, 6), 128u) << "doorbell_offset";
    EXPECT_EQ(header_field(*r, 7), 0u) << "pool_count";
    const auto* table = reinterpret_cast<const wire::ring_descriptor*>(r->base() + 64);
    const std::uint64_t controls[] = {384, 1152};
    const std::uint64_t capacities[] = {256, 1024};
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(shared::load_relaxed(table[i].control_offset), controls[i]) << "ring " << i;
        EXPECT_EQ(shared::load_relaxed(table[i].capacity), capacities[i]) << "ring " << i;
        EXPECT_EQ(shared::load_relaxed(table[i].data_offset), controls[i] + 512) << "ring " << i;
        EXPECT_EQ(shared::load_relaxed(table[i].reserved), 0u) << "ring " << i;
        EXPECT_EQ(reinterpret_cast<std::byte*>(r->ring(i).control), r->base() + controls[i]);
        EXPECT_EQ(reinterpret_cast<std::byte*>(r->ring(i).data), r->base() + controls[i] + 512);
        EXPECT_EQ(r->ring(i).capacity, capacities[i]);
    }
    EXPECT_EQ(reinterpret_cast<std::byte*>(&r->doorbell(0)), r->base() + 128);
    EXPECT_EQ(reinterpret_cast<std::byte*>(&r->doorbell(1)), r->base() + 256);
}

TEST(region_format_attach, every_ring_and_doorbell_is_aligned_inside_and_disjoint) {
    for (const region_geometry& g : geometries()) {
        aligned_memory mem(region::required_size(g).value());
        auto r = region::format(mem.span(), g);
        ASSERT_TRUE(r) << to_string(r.error());
        ASSERT_EQ(r->ring_count(), g.ring_capacities.size());
        ASSERT_EQ(r->doorbell_count(), g.doorbells);
        EXPECT_EQ(r->size(), mem.size());
        // Every structure as [begin, end) offsets; they must not intersect.
        std::vector<std::pair<std::uint64_t, std::uint64_t>> parts;
        parts.emplace_back(0, sizeof(wire::region_header) +
                                  g.ring_capacities.size() * sizeof(wire::ring_descriptor));
        for (std::size_t i = 0; i < r->doorbell_count(); ++i) {
            const auto at = static_cast<std::uint64_t>(
                reinterpret_cast<std::byte*>(&r->doorbell(i)) - r->base());
            EXPECT_EQ(at % wire::region_alignment, 0u) << "doorbell " << i;
            EXPECT_EQ(shared::load_relaxed(r->doorbell(i).word), 0u) << "doorbell " << i;
            parts.emplace_back(at, at + sizeof(wire::doorbell));
        }
        for (std::size_t i = 0; i < r->ring_count(); ++i) {
            const ring_view v = r->ring(i);
            const auto at =
                static_cast<std::uint64_t>(reinterpret_cast<std::byte*>(v.control) - r->base());
            EXPECT_EQ(at % wire::region_alignment, 0u) << "ring " << i;
            EXPECT_EQ(reinterpret_cast<std::byte*>(v.data),
                      reinterpret_cast<std::byte*>(v.control) + sizeof(wire::ring_control));
            EXPECT_EQ(v.capacity, g.ring_capacities[i]);
            parts.emplace_back(at, at + sizeof(wire::ring_control) + v.capacity);
        }
        for (std::size_t a = 0; a < parts.size(); ++a) {
            EXPECT_LE(parts[a].second, mem.size()) << "part " << a << " ends outside";
            for (std::size_t b = a + 1; b < parts.size(); ++b)
                EXPECT_TRUE(parts[a].second <= parts[b].first || parts[b].second <= parts[a].first)
                    << "parts " << a << " and " << b << " overlap";
        }
    }
}

TEST(region_format_attach, attach_after_format_sees_the_same_layout) {
    for (const region_geometry& g : geometries()) {
        aligned_memory mem(region::required_size(g).value());
        auto host = region::format(mem.span(), g);
        ASSERT_TRUE(host);
        auto peer = region::attach(mem.span(), g);
        ASSERT_TRUE(peer) << to_string(peer.error());
        ASSERT_EQ(peer->ring_count(), host->ring_count());
        ASSERT_EQ(peer->doorbell_count(), host->doorbell_count());
        EXPECT_EQ(peer->base(), host->base());
        EXPECT_EQ(peer->size(), host->size());
        for (std::size_t i = 0; i < host->ring_count(); ++i) {
            EXPECT_EQ(peer->ring(i).control, host->ring(i).control);
            EXPECT_EQ(peer->ring(i).data, host->ring(i).data);
            EXPECT_EQ(peer->ring(i).capacity, host->ring(i).capacity);
        }
        for (std::size_t i = 0; i < host->doorbell_count(); ++i)
            EXPECT_EQ(&peer->doorbell(i), &host->doorbell(i));
    }
}

TEST(region_format_attach, attach_accepts_memory_larger_than_required) {
    const region_geometry g{{256}, 1};
    const std::size_t need = region::required_size(g).value();
    aligned_memory mem(need + 3 * 4096);
    ASSERT_TRUE(region::format(mem.span(), g));
    auto peer = region::attach(mem.span(), g);
    ASSERT_TRUE(peer) << to_string(peer.error());
    EXPECT_EQ(peer->size(), mem.size());
}

TEST(region_format_attach, format_clears_what_the_memory_held_before) {
    const region_geometry g{{256, 512}, 2};
    aligned_memory mem(region::required_size(g).value());
    std::memset(mem.data(), 0xA5, mem.size());
    auto r = region::format(mem.span(), g);
    ASSERT_TRUE(r);
    for (std::size_t i = 0; i < r->ring_count(); ++i) {
        EXPECT_EQ(test::shared_tail(r->ring(i)), 0u);
        EXPECT_EQ(test::shared_head(r->ring(i)), 0u);
        ring_consumer c(r->ring(i));
        EXPECT_EQ(c.try_receive().error(), errc::ring_empty) << "ring " << i;
        EXPECT_FALSE(c.faulted());
    }
    for (std::size_t i = 0; i < r->doorbell_count(); ++i)
        EXPECT_EQ(shared::load_relaxed(r->doorbell(i).word), 0u);
}

TEST(region_format_attach, host_and_attached_peer_exchange_messages_on_every_ring) {
    const region_geometry g{{256, 1024, 4096}, 0};
    aligned_memory mem(region::required_size(g).value());
    auto host = region::format(mem.span(), g);
    ASSERT_TRUE(host);
    auto peer = region::attach(mem.span(), g);
    ASSERT_TRUE(peer);
    for (std::size_t i = 0; i < g.ring_capacities.size(); ++i) {
        ring_producer p(host->ring(i));
        ring_consumer c(peer->ring(i));
        const std::size_t n = p.max_record_payload();
        ASSERT_TRUE(p.try_send(static_cast<std::uint16_t>(i), test::pattern(n, i)));
        auto m = c.try_receive();
        ASSERT_TRUE(m) << to_string(m.error());
        EXPECT_EQ(m->tag, i);
        EXPECT_TRUE(test::is_pattern(m->bytes, n, i));
    }
}

TEST(region_format_attach, format_rejects_misaligned_or_small_memory) {
    const region_geometry g{{256}, 0};
    const std::size_t need = region::required_size(g).value();
    aligned_memory mem(need + 4096);
    EXPECT_EQ(region::format(mem.span().subspan(8, need), g).error(), errc::region_misaligned);
    EXPECT_EQ(region::format(mem.span().subspan(64, need), g).error(), errc::region_misaligned);
    EXPECT_EQ(region::format(mem.span().first(need - 8), g).error(), errc::region_too_small);
    EXPECT_EQ(region::format(mem.span().first(0), g).error(), errc::region_too_small);
    EXPECT_TRUE(region::format(mem.span().first(need), g));
}
