// SPDX-License-Identifier: Apache-2.0
// Description: attach rejects every crafted region image (base inside or
// straddling enclave memory, misaligned, wrapping, too small, ring size 0 or
// not a power of two, each header and ring-descriptor field forged) with its
// own code and without touching memory it rejected; after attach, the header
// is never read again (HOSTILE-INPUTS #4).
#include <cstdint>
#include <limits>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::code_of;

namespace {

const region_geometry geometry{{256, 1024}, 2};

// Word index of a field of the header or of ring descriptor `ring`.
constexpr std::size_t header_word(std::size_t byte_offset) {
    return byte_offset / 8;
}
constexpr std::size_t descriptor_word(std::size_t ring, std::size_t byte_offset) {
    return (sizeof(wire::region_header) + ring * sizeof(wire::ring_descriptor) + byte_offset) / 8;
}

// An address far from anything mapped: attach must reject a range there
// before it reads a byte of it (a read would crash the test).
constexpr std::uintptr_t unmapped = 0x7e00'0000'0000ull;

std::span<std::byte> fake_span(std::uintptr_t at, std::size_t size) {
    return {reinterpret_cast<std::byte*>(at), size};
}

}  // namespace

TEST(hostile_region_image, trusted_geometry_is_checked_first) {
    const std::vector<std::pair<const char*, region_geometry>> bad = {
        {"ring of 0 bytes", {{0}, 0}},
        {"ring of 300 bytes (not a power of two)", {{300}, 0}},
        {"ring of 384 bytes (not a power of two)", {{256, 384}, 0}},
        {"ring below the minimum", {{wire::min_ring_capacity / 2}, 0}},
        {"ring above the maximum", {{wire::max_ring_capacity * 2}, 0}},
        {"ring of 2^63 bytes", {{std::size_t{1} << 63}, 0}},
        {"too many rings", {std::vector<std::size_t>(max_rings + 1, 256), 0}},
        {"too many doorbells", {{256}, max_doorbells + 1}},
    };
    test::exact_region r(geometry);
    for (const auto& [what, g] : bad) {
        SCOPED_TRACE(what);
        AIRLOCK_EXPECT_ERRC(code_of(region::required_size(g)), errc::invalid_argument);
        AIRLOCK_EXPECT_ERRC(code_of(region::attach(r.span(), g)), errc::invalid_argument);
        AIRLOCK_EXPECT_ERRC(code_of(region::format(r.span(), g)), errc::invalid_argument);
    }
}

TEST(hostile_region_image, memory_range_misaligned_short_or_wrapping) {
    test::exact_region r(geometry);
    const std::size_t size = r.size();
    struct bad_range {
        const char* what;
        std::span<std::byte> memory;
        errc want;
    };
    const std::vector<bad_range> bad = {
        {"base misaligned by 8", {r.data() + 8, size - 8}, errc::region_misaligned},
        {"base 64- but not 128-aligned", {r.data() + 64, size - 64}, errc::region_misaligned},
        {"one word short", {r.data(), size - 8}, errc::region_too_small},
        {"size 0", {r.data(), 0}, errc::region_too_small},
        {"size 0 at a null base", {static_cast<std::byte*>(nullptr), 0}, errc::region_too_small},
        {"base + size wraps the address space",
         fake_span(std::numeric_limits<std::uintptr_t>::max() & ~std::uintptr_t{4095}, 8192),
         errc::region_address_wraps},
        {"range ending exactly at 2^64",
         fake_span(unmapped, std::numeric_limits<std::size_t>::max() - unmapped + 1),
         errc::region_address_wraps},
    };
    for (const bad_range& b : bad) {
        SCOPED_TRACE(b.what);
        AIRLOCK_EXPECT_ERRC(code_of(region::attach(b.memory, geometry)), b.want);
    }
    // The honest range attaches.
    AIRLOCK_EXPECT_ERRC(code_of(region::attach(r.span(), geometry)), errc::ok);
}

TEST(hostile_region_image, region_must_lie_wholly_outside_enclave_memory) {
    test::exact_region r(geometry);
    const auto b = reinterpret_cast<std::uintptr_t>(r.data());
    const std::size_t s = r.size();
    struct case_t {
        const char* what;
        address_range enclave;
        errc want;
    };
    const std::vector<case_t> cases = {
        {"identical ranges", {b, s}, errc::region_overlaps_enclave},
        {"enclave straddles the region's start",
         {b - 4096, 4096 + 8},
         errc::region_overlaps_enclave},
        {"enclave straddles the region's end", {b + s - 8, 4096}, errc::region_overlaps_enclave},
        {"enclave inside the region", {b + 128, 64}, errc::region_overlaps_enclave},
        {"region inside the enclave", {b - 8192, s + 16384}, errc::region_overlaps_enclave},
        {"enclave of one byte at the region's last byte",
         {b + s - 1, 1},
         errc::region_overlaps_enclave},
        {"enclave ends where the region begins", {b - 4096, 4096}, errc::ok},
        {"enclave begins where the region ends", {b + s, 4096}, errc::ok},
        {"enclave range itself wraps",
         {std::numeric_limits<std::uintptr_t>::max() - 100, 4096},
         errc::invalid_argument},
    };
    for (const case_t& c : cases) {
        SCOPED_TRACE(c.what);
        attach_options o;
        o.trusted_memory = c.enclave;
        AIRLOCK_EXPECT_ERRC(code_of(region::attach(r.span(), geometry, o)), c.want);
    }
}

TEST(hostile_region_image, base_inside_enclave_memory_is_never_dereferenced) {
    // The "region" the host hands over is enclave memory (here: an unmapped
    // address standing for it). Attach refuses it from the addresses alone.
    attach_options o;
    o.trusted_memory = {unmapped, std::size_t{1} << 30};
    const std::size_t size = region::required_size(geometry).value();
    ASSERT_EQ(size, 4096u) << "the straddling cases below assume a one-page region";
    const std::uintptr_t end = unmapped + (std::size_t{1} << 30);
    for (std::uintptr_t at : {unmapped, unmapped + 4096, end - 4096, unmapped - 2048, end - 2048}) {
        SCOPED_TRACE(static_cast<std::int64_t>(at - unmapped));
        AIRLOCK_EXPECT_ERRC(code_of(region::attach(fake_span(at, size), geometry, o)),
                            errc::region_overlaps_enclave);
    }
}

TEST(hostile_region_image, each_forged_header_field_is_rejected) {
    struct forged_field {
        const char* what;
        std::size_t word;
        std::uint64_t value;
        errc want;
    };
    test::exact_region honest(geometry);
    const std::uint64_t size = honest.size();
    const std::uint64_t table = sizeof(wire::region_header);
    const std::uint64_t control0 = honest.offset_of(honest.ring(0).control);
    const std::uint64_t control1 = honest.offset_of(honest.ring(1).control);
    const std::uint64_t bells = honest.offset_of(&honest.region().doorbell(0));
    const std::vector<forged_field> fields = {
        {"magic zero", header_word(0), 0, errc::region_bad_magic},
        {"magic one bit off", header_word(0), wire::region_magic ^ 1, errc::region_bad_magic},
        {"magic byte-swapped", header_word(0), __builtin_bswap64(wire::region_magic),
         errc::region_bad_magic},
        {"version 0", header_word(8), 0, errc::region_bad_version},
        {"next version", header_word(8), wire::region_version + 1, errc::region_bad_version},
        {"previous version", header_word(8), wire::region_version - 1, errc::region_bad_version},
        {"version all ones", header_word(8), ~0ull, errc::region_bad_version},
        {"region_size one word short", header_word(16), size - 8, errc::region_geometry_mismatch},
        {"region_size 0", header_word(16), 0, errc::region_geometry_mismatch},
        {"region_size beyond the memory", header_word(16), size + 8,
         errc::region_geometry_mismatch},
        {"region_size all ones", header_word(16), ~0ull, errc::region_geometry_mismatch},
        {"ring_count 0", header_word(24), 0, errc::region_geometry_mismatch},
        {"ring_count 3", header_word(24), 3, errc::region_geometry_mismatch},
        {"ring_count all ones", header_word(24), ~0ull, errc::region_geometry_mismatch},
        {"doorbell_count 3", header_word(32), 3, errc::region_geometry_mismatch},
        {"doorbell_count 2^63", header_word(32), 1ull << 63, errc::region_geometry_mismatch},
        {"ring_table_offset 0 (the header)", header_word(40), 0, errc::region_geometry_mismatch},
        {"ring_table_offset misaligned", header_word(40), table + 1,
         errc::region_geometry_mismatch},
        {"ring_table_offset past the end", header_word(40), size, errc::region_geometry_mismatch},
        {"doorbell_offset 0", header_word(48), 0, errc::region_geometry_mismatch},
        {"doorbell_offset into a ring", header_word(48), control0, errc::region_geometry_mismatch},
        {"doorbell_offset off by a word", header_word(48), bells + 8,
         errc::region_geometry_mismatch},
        {"ring 0 control_offset 0", descriptor_word(0, 0), 0, errc::region_geometry_mismatch},
        {"ring 0 control_offset onto ring 1", descriptor_word(0, 0), control1,
         errc::region_geometry_mismatch},
        {"ring 1 control_offset past the end", descriptor_word(1, 0), size,
         errc::region_geometry_mismatch},
        {"ring 1 control_offset all ones", descriptor_word(1, 0), ~0ull,
         errc::region_geometry_mismatch},
        {"ring 0 capacity 0", descriptor_word(0, 8), 0, errc::region_geometry_mismatch},
        {"ring 0 capacity 300", descriptor_word(0, 8), 300, errc::region_geometry_mismatch},
        {"ring 0 capacity doubled", descriptor_word(0, 8), 512, errc::region_geometry_mismatch},
        {"ring 1 capacity 2^63", descriptor_word(1, 8), 1ull << 63, errc::region_geometry_mismatch},
        {"ring 0 data_offset onto its control block", descriptor_word(0, 16), control0,
         errc::region_geometry_mismatch},
        {"ring 1 data_offset off by a word", descriptor_word(1, 16),
         control1 + sizeof(wire::ring_control) + 8, errc::region_geometry_mismatch},
        // The pool count (this geometry has no pools) is compared too.
        {"header pool_count 1", header_word(56), 1, errc::region_geometry_mismatch},
        {"header pool_count all ones", header_word(56), ~0ull, errc::region_geometry_mismatch},
        // Reserved words are not read at all: forging them changes nothing.
        {"ring 1 descriptor reserved word", descriptor_word(1, 24), ~0ull, errc::ok},
    };
    for (const forged_field& f : fields) {
        SCOPED_TRACE(f.what);
        test::exact_region r(geometry);
        r.host_store(f.word, f.value);
        AIRLOCK_EXPECT_ERRC(code_of(region::attach(r.span(), geometry)), f.want);
    }
}

TEST(hostile_region_image, attached_layout_is_a_private_copy) {
    test::exact_region r(geometry);
    auto attached = region::attach(r.span(), geometry);
    ASSERT_TRUE(attached.has_value()) << to_string(attached.error());
    std::vector<ring_view> before;
    for (std::size_t i = 0; i < attached->ring_count(); ++i)
        before.push_back(attached->ring(i));
    wire::doorbell* bell0 = &attached->doorbell(0);

    // The host now rewrites the header and the ring table with garbage.
    const std::size_t first_bell_word = r.offset_of(bell0) / 8;
    for (std::size_t w = 0; w < first_bell_word; ++w)
        r.host_store(w, 0xDEAD'BEEF'0000'0000ull + w);

    ASSERT_EQ(attached->ring_count(), 2u);
    ASSERT_EQ(attached->doorbell_count(), 2u);
    EXPECT_EQ(&attached->doorbell(0), bell0);
    for (std::size_t i = 0; i < before.size(); ++i) {
        SCOPED_TRACE(i);
        const ring_view now = attached->ring(i);
        EXPECT_EQ(now.control, before[i].control);
        EXPECT_EQ(now.data, before[i].data);
        EXPECT_EQ(now.capacity, before[i].capacity);
        EXPECT_TRUE(r.contains(now.data, now.capacity));
        // The rings still carry messages.
        ring_producer p(now);
        ring_consumer c(now);
        ASSERT_TRUE(p.try_send(7, test::pattern(100, i)).has_value());
        auto m = c.try_receive();
        ASSERT_TRUE(m.has_value()) << to_string(m.error());
        EXPECT_EQ(test::first_mismatch(m->bytes, i), -1);
    }
}
