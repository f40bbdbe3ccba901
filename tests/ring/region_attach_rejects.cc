// SPDX-License-Identifier: Apache-2.0
// Description: attach refuses bad alignment, size, magic, version, geometry, overlap, wrap.
//
// These are the API contract of region::attach (HOSTILE-INPUTS #4) with one
// thing wrong at a time; crafted hostile images are tested in hostile_*.cc.
#include <cstdint>
#include <limits>
#include <vector>

#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::aligned_memory;

namespace {

constexpr std::uintptr_t max_address = std::numeric_limits<std::uintptr_t>::max();

// A formatted region whose header words a test may change and restore.
struct formatted {
    region_geometry geometry{{256, 1024, 512}, 2};
    aligned_memory memory{region::required_size(geometry).value()};
    formatted() { EXPECT_TRUE(region::format(memory.span(), geometry)); }

    shared_u64& word(std::size_t byte_offset) {
        return reinterpret_cast<shared_u64*>(memory.data())[byte_offset / 8];
    }
    errc attach(const attach_options& options = {}) {
        return region::attach(memory.span(), geometry, options).error();
    }
    std::uintptr_t begin() const { return reinterpret_cast<std::uintptr_t>(memory.data()); }
};

}  // namespace

TEST(region_attach_rejects, nothing_wrong_attaches) {
    formatted f;
    EXPECT_EQ(f.attach(), errc::ok);
}

TEST(region_attach_rejects, misaligned_base) {
    const region_geometry g{{256}, 0};
    const std::size_t need = region::required_size(g).value();
    aligned_memory mem(need + 4096);
    for (std::size_t shift : {8u, 16u, 64u, 120u, 1u, 3u}) {
        // format refuses such memory too, so attach sees a zeroed span: the
        // alignment check must come before anything is read.
        EXPECT_EQ(region::attach(mem.span().subspan(shift, need), g).error(),
                  errc::region_misaligned)
            << "base + " << shift;
    }
}

TEST(region_attach_rejects, memory_smaller_than_the_trusted_geometry_needs) {
    formatted f;
    const std::size_t need = region::required_size(f.geometry).value();
    for (std::size_t size : {need - 8, need - 4096 + 8, std::size_t{64}, std::size_t{0}})
        EXPECT_EQ(region::attach(f.memory.span().first(size), f.geometry).error(),
                  errc::region_too_small)
            << "size " << size << " of " << need;
}

TEST(region_attach_rejects, bad_magic) {
    formatted f;
    const std::uint64_t good = shared::load_relaxed(f.word(0));
    for (std::uint64_t bad : {std::uint64_t{0}, good ^ 1, good ^ (std::uint64_t{1} << 63),
                              std::uint64_t{0x4149524C4F434B21}}) {
        shared::store_relaxed(f.word(0), bad);
        EXPECT_EQ(f.attach(), errc::region_bad_magic) << std::hex << bad;
    }
    shared::store_relaxed(f.word(0), good);
    EXPECT_EQ(f.attach(), errc::ok);
}

TEST(region_attach_rejects, bad_version) {
    formatted f;
    for (std::uint64_t bad :
         {std::uint64_t{0}, wire::region_version + 1, std::numeric_limits<std::uint64_t>::max()}) {
        shared::store_relaxed(f.word(8), bad);
        EXPECT_EQ(f.attach(), errc::region_bad_version) << bad;
    }
    shared::store_relaxed(f.word(8), wire::region_version);
    EXPECT_EQ(f.attach(), errc::ok);
}

TEST(region_attach_rejects, each_header_field_changed) {
    formatted f;
    const std::size_t need = region::required_size(f.geometry).value();
    struct field {
        const char* name;
        std::size_t offset;
        std::vector<std::uint64_t> bad;
    };
    const field fields[] = {
        {"region_size", 16, {need - 8, need + 8, 0, std::numeric_limits<std::uint64_t>::max()}},
        {"ring_count", 24, {0, 2, 4, std::uint64_t{1} << 40}},
        {"doorbell_count", 32, {0, 1, 3}},
        {"ring_table_offset", 40, {0, 56, 72, 128}},
        {"doorbell_offset", 48, {0, 64, 128, 248, 264, 384}},
    };
    for (const field& fl : fields) {
        const std::uint64_t good = shared::load_relaxed(f.word(fl.offset));
        for (std::uint64_t bad : fl.bad) {
            ASSERT_NE(bad, good) << fl.name;
            shared::store_relaxed(f.word(fl.offset), bad);
            EXPECT_EQ(f.attach(), errc::region_geometry_mismatch)
                << fl.name << " = " << bad << " instead of " << good;
        }
        shared::store_relaxed(f.word(fl.offset), good);
        ASSERT_EQ(f.attach(), errc::ok) << "restoring " << fl.name;
    }
}

TEST(region_attach_rejects, each_ring_descriptor_field_changed) {
    formatted f;
    const std::size_t table = 64;
    const char* names[] = {"control_offset", "capacity", "data_offset"};
    for (std::size_t ring = 0; ring < f.geometry.ring_capacities.size(); ++ring) {
        for (std::size_t field = 0; field < 3; ++field) {
            const std::size_t at = table + ring * sizeof(wire::ring_descriptor) + field * 8;
            const std::uint64_t good = shared::load_relaxed(f.word(at));
            for (std::uint64_t bad : {good + 8, good - 8, good * 2, std::uint64_t{0},
                                      std::numeric_limits<std::uint64_t>::max() - 7}) {
                shared::store_relaxed(f.word(at), bad);
                EXPECT_EQ(f.attach(), errc::region_geometry_mismatch)
                    << "ring " << ring << " " << names[field] << " = " << bad << " instead of "
                    << good;
            }
            shared::store_relaxed(f.word(at), good);
            ASSERT_EQ(f.attach(), errc::ok);
        }
    }
}

TEST(region_attach_rejects, trusted_geometry_differs_from_the_formatted_one) {
    // Both geometries need one page, so only the header can tell them apart.
    const region_geometry formatted_as{{256, 512}, 1};
    aligned_memory mem(4096);
    ASSERT_EQ(region::required_size(formatted_as).value(), mem.size());
    ASSERT_TRUE(region::format(mem.span(), formatted_as));
    const region_geometry others[] = {
        {{512, 256}, 1}, {{256, 256}, 1}, {{256, 512}, 0},
        {{256, 512}, 2}, {{256}, 1},      {{256, 512, 256}, 1},
    };
    for (const region_geometry& g : others) {
        ASSERT_EQ(region::required_size(g).value(), mem.size());
        EXPECT_EQ(region::attach(mem.span(), g).error(), errc::region_geometry_mismatch)
            << g.ring_capacities.size() << " rings, " << g.doorbells << " doorbells";
    }
    EXPECT_TRUE(region::attach(mem.span(), formatted_as));
}

TEST(region_attach_rejects, span_shorter_than_the_size_the_host_announced) {
    const region_geometry g{{256}, 0};
    const std::size_t need = region::required_size(g).value();
    aligned_memory mem(need + 4096);
    ASSERT_TRUE(region::format(mem.span(), g));  // announces need + 4096
    EXPECT_EQ(region::attach(mem.span().first(need), g).error(), errc::region_geometry_mismatch);
    EXPECT_TRUE(region::attach(mem.span(), g));
}

TEST(region_attach_rejects, overlap_with_trusted_memory) {
    formatted f;
    const std::uintptr_t b = f.begin();
    const std::size_t s = f.memory.size();
    struct range_case {
        const char* what;
        address_range trusted;
        errc expected;
    };
    const range_case cases[] = {
        {"the region itself", {b, s}, errc::region_overlaps_enclave},
        {"inside the region", {b + 128, 256}, errc::region_overlaps_enclave},
        {"first byte of the region", {b, 1}, errc::region_overlaps_enclave},
        {"last byte of the region", {b + s - 1, 1}, errc::region_overlaps_enclave},
        {"covering the region", {b - 4096, s + 8192}, errc::region_overlaps_enclave},
        {"straddling the start", {b - 4096, 4097}, errc::region_overlaps_enclave},
        {"straddling the end", {b + s - 1, 4096}, errc::region_overlaps_enclave},
        {"straddling both ends", {b - 1, s + 2}, errc::region_overlaps_enclave},
        {"ending where the region begins", {b - 4096, 4096}, errc::ok},
        {"beginning where the region ends", {b + s, 4096}, errc::ok},
        {"far below", {4096, 4096}, errc::ok},
        {"far above", {max_address - 8191, 4096}, errc::ok},
        {"empty (no check)", {b, 0}, errc::ok},
        {"wrapping the address space", {max_address - 10, 100}, errc::invalid_argument},
    };
    for (const range_case& c : cases) {
        attach_options o;
        o.trusted_memory = c.trusted;
        EXPECT_EQ(f.attach(o), c.expected) << c.what;
    }
}

TEST(region_attach_rejects, region_that_wraps_the_address_space) {
    const region_geometry g{{256}, 0};
    // Nothing is read: the address check comes before any access.
    const std::uintptr_t top = max_address & ~std::uintptr_t{4095};
    struct wrap_case {
        std::uintptr_t begin;
        std::size_t size;
    };
    const wrap_case cases[] = {
        {top, 8192},
        {top, 4096},  // ends exactly at 2^64: the end address is not representable
        {top - 4096, std::size_t{1} << 20},
        {wire::region_alignment, max_address},
    };
    for (const wrap_case& c : cases) {
        std::span<std::byte> fake(reinterpret_cast<std::byte*>(c.begin), c.size);
        EXPECT_EQ(region::attach(fake, g).error(), errc::region_address_wraps)
            << std::hex << "begin 0x" << c.begin << " size 0x" << c.size;
    }
}
