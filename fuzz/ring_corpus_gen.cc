// SPDX-License-Identifier: Apache-2.0
// ring_corpus_gen: writes the seed corpus of the ring fuzz target.
//
//   ring_corpus_gen <dir>     writes seed-* files into <dir>
//
// Seeds cover every geometry with honest traffic (single records, wrapped
// rings, fragmented messages, a full ring, zero-copy calls, doorbells and
// wait hooks) and the hostile cases of HOSTILE-INPUTS.md at ring level
// (forged indices and headers, padding at offset 0, injected writes,
// pre-filled and forged region images), so the fuzzer starts deep in the
// state space. The committed fuzz/corpus/ring is this program's output plus
// any regression-* inputs a fuzzer run once crashed on.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "airlock/ring/region.hh"
#include "airlock/ring/spsc_ring.hh"
#include "ring_fuzz_driver.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::fuzz::op;

namespace {

region_geometry geometry_of(std::uint8_t g) {
    switch (g % fuzz::geometry_count) {
        case 0:
            return {{256, 256}, 0};
        case 1:
            return {{512, 256}, 1};
        case 2:
            return {{1024, 1024}, 0};
        default:
            return {{256, 4096}, 2};
    }
}

// A formatted region image; `prepare` may write into it before it is
// captured. Trailing zero bytes are left out (the driver zero-fills).
template <class Prepare>
std::vector<std::uint8_t> image(std::uint8_t g, Prepare prepare) {
    const region_geometry geometry = geometry_of(g);
    const std::size_t size = region::required_size(geometry).value();
    auto* mem = static_cast<std::byte*>(::operator new (size, std::align_val_t{128}));
    std::memset(mem, 0, size);
    region r = region::format({mem, size}, geometry).value();
    prepare(r);
    std::vector<std::uint8_t> bytes(size);
    std::memcpy(bytes.data(), mem, size);
    ::operator delete (mem, std::align_val_t{128});
    while (!bytes.empty() && bytes.back() == 0)
        bytes.pop_back();
    return bytes;
}
std::vector<std::uint8_t> image(std::uint8_t g) {
    return image(g, [](region&) {});
}

class seed {
  public:
    seed(std::uint8_t geometry, std::uint8_t flags, const std::vector<std::uint8_t>& img) {
        u8(geometry);
        u8(flags);
        u16(static_cast<std::uint16_t>(img.size()));
        bytes_.insert(bytes_.end(), img.begin(), img.end());
    }
    seed& u8(std::uint8_t v) {
        bytes_.push_back(v);
        return *this;
    }
    seed& u16(std::uint16_t v) {
        return u8(static_cast<std::uint8_t>(v)).u8(static_cast<std::uint8_t>(v >> 8));
    }
    seed& u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i)
            u8(static_cast<std::uint8_t>(v >> (8 * i)));
        return *this;
    }
    seed& act(op o) { return u8(static_cast<std::uint8_t>(o)); }
    seed& act(op o, std::uint16_t arg) { return act(o).u16(arg); }
    [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return bytes_; }

  private:
    std::vector<std::uint8_t> bytes_;
};

std::uint64_t header(std::uint32_t length, wire::record_kind kind) {
    return wire::encode({length, 0, kind});
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    int written = 0;
    auto write = [&](const std::string& name, const seed& s) {
        std::ofstream out(dir / ("seed-" + name), std::ios::binary);
        out.write(reinterpret_cast<const char*>(s.bytes().data()),
                  static_cast<std::streamsize>(s.bytes().size()));
        ++written;
    };

    for (std::uint8_t g = 0; g < fuzz::geometry_count; ++g) {
        const std::string gs = "-g" + std::to_string(g);
        const auto img = image(g);
        write("empty" + gs, seed(g, 0, img));
        {  // A few messages each way, through the copying calls.
            seed s(g, 2, img);
            for (std::uint16_t n : {std::uint16_t{0}, std::uint16_t{1}, std::uint16_t{8},
                                    std::uint16_t{13}, std::uint16_t{64}, std::uint16_t{100}}) {
                s.act(op::h_send, n).act(op::c_receive);
                s.act(op::p_send, n).act(op::h_receive);
            }
            write("echo" + gs, s);
        }
        {  // Many laps of both rings, sizes that force wrap padding.
            seed s(g, 4, img);
            for (std::uint16_t i = 0; i < 40; ++i) {
                s.act(op::h_send, static_cast<std::uint16_t>(i * 29 % 120)).act(op::c_receive);
                s.act(op::p_send, static_cast<std::uint16_t>(i * 37 % 110)).act(op::h_receive);
            }
            write("wrap" + gs, s);
        }
        {  // Fragmented messages both ways.
            seed s(g, 4, img);
            s.act(op::h_send, 3000);
            for (int i = 0; i < 12; ++i)
                s.act(op::c_receive).act(op::h_send, 3000);
            s.act(op::p_send_large, 5000);
            for (int i = 0; i < 12; ++i)
                s.act(op::h_receive).act(op::p_send_large, 5000);
            write("fragments" + gs, s);
        }
        {  // Zero-copy calls, a full ring, commits without publish.
            seed s(g, 6, img);
            for (int i = 0; i < 3; ++i)
                s.act(op::h_send, 24);
            s.act(op::c_peek).act(op::c_peek_release).act(op::c_poll).u8(5).act(op::c_has_data);
            for (int i = 0; i < 20; ++i)
                s.act(op::p_send, 40);
            s.act(op::p_wait, 40);
            for (int i = 0; i < 3; ++i)
                s.act(op::p_reserve_commit, 16);
            s.act(op::p_publish);
            for (int i = 0; i < 25; ++i)
                s.act(op::h_receive);
            write("full" + gs, s);
        }
        {  // The bulk verbs: runs out, run views in.
            seed s(g, 4, img);
            for (std::uint16_t n : {std::uint16_t{1}, std::uint16_t{8}, std::uint16_t{13},
                                    std::uint16_t{64}, std::uint16_t{200}}) {
                s.act(op::p_send_run, n).u8(static_cast<std::uint8_t>(n % 37 + 3));
                for (int i = 0; i < 4; ++i)
                    s.act(op::h_receive);
                s.act(op::h_send, n).act(op::h_send, n).act(op::c_peek_run).u8(5);
                s.act(op::c_peek_run).u8(1);
            }
            write("runs" + gs, s);
        }
    }

    const auto img0 = image(0);
    {  // Doorbells are hints; waits with hooks.
        seed s(1, 1 | 2, image(1));
        s.act(op::x_bell)
            .u8(0)
            .u64(~0ull)
            .act(op::x_bell)
            .u8(3)
            .u64(1)
            .act(op::x_bell)
            .u8(4)
            .u64(7);
        s.act(op::c_wait).act(op::h_send, 10).act(op::c_wait).act(op::c_receive);
        for (int i = 0; i < 12; ++i)
            s.act(op::p_send, 60);
        s.act(op::p_wait, 60).act(op::h_receive).act(op::p_wait, 60);
        write("bells-hooks", s);
    }
    {  // Abandoned messages both ways.
        seed s(0, 2, img0);
        s.act(op::p_send_large, 2000).act(op::p_abandon).act(op::p_send, 5);
        s.act(op::h_send, 2000).act(op::h_abandon).act(op::h_send, 5);
        for (int i = 0; i < 6; ++i)
            s.act(op::c_receive).act(op::h_receive).act(op::h_send, 7);
        write("abandon", s);
    }
    // --- hostile ---------------------------------------------------------
    {
        seed s(0, 0, img0);
        s.act(op::h_send, 10).act(op::x_index_delta).u8(0).u16(100);
        s.act(op::c_receive).act(op::c_receive).act(op::c_poll).u8(3).act(op::c_has_data);
        write("tail-beyond-capacity", s);
    }
    {
        seed s(0, 0, img0);
        s.act(op::h_send, 10).act(op::h_send, 10).act(op::c_receive).act(op::c_receive);
        s.act(op::x_index_delta).u8(0).u16(static_cast<std::uint16_t>(-4)).act(op::c_receive);
        write("tail-rewound", s);
    }
    {
        seed s(2, 0, image(2));
        s.act(op::h_send, 10).act(op::x_index_delta).u8(4).u16(3).act(op::c_receive);
        write("tail-misaligned", s);
    }
    {
        seed s(0, 1, img0);
        for (int i = 0; i < 8; ++i)
            s.act(op::p_send, 50);
        s.act(op::x_index_delta).u8(3).u16(50).act(op::p_send, 50).act(op::p_wait, 10);
        write("head-beyond-tail", s);
    }
    {
        seed s(0, 0, img0);
        for (int i = 0; i < 8; ++i)
            s.act(op::p_send, 50).act(op::h_receive);
        s.act(op::x_index_delta).u8(3).u16(static_cast<std::uint16_t>(-2));
        for (int i = 0; i < 8; ++i)
            s.act(op::p_send, 50);
        write("head-rewound", s);
    }
    {
        seed s(0, 0, img0);
        s.act(op::h_send, 16)
            .act(op::x_header_at_head)
            .u64(header(16, wire::record_kind::message) | (9ull << 48));
        s.act(op::c_receive);
        write("header-bad-kind", s);
    }
    {
        seed s(0, 0, img0);
        s.act(op::h_send, 16)
            .act(op::x_header_at_head)
            .u64(header(0xffff'ffff, wire::record_kind::message));
        s.act(op::c_peek).act(op::c_receive);
        write("header-huge-length", s);
    }
    {
        // A 16-byte message's header rewritten as a run of two 8-byte
        // messages (the same bytes), then one of three (past the tail).
        seed s(0, 0, img0);
        s.act(op::h_send, 16)
            .act(op::x_header_at_head)
            .u64(header(8, wire::record_kind::message) | (1ull << 56));
        s.act(op::c_peek_run).u8(3);
        s.act(op::h_send, 16)
            .act(op::x_header_at_head)
            .u64(header(8, wire::record_kind::message) | (2ull << 56));
        s.act(op::c_peek_run).u8(3);
        write("header-run", s);
    }
    {
        seed s(0, 0, img0);
        s.act(op::x_header_at_head).u64(header(256 - 8, wire::record_kind::padding));
        s.act(op::x_index_delta).u8(0).u16(32).act(op::c_receive);
        write("padding-at-zero", s);
    }
    {
        seed s(0, 0, img0);
        s.act(op::h_send, 3000)
            .act(op::x_header_at_head)
            .u64(header(8, wire::record_kind::fragment_middle));
        s.act(op::c_receive).act(op::c_receive);
        write("fragment-out-of-order", s);
    }
    {
        seed s(0, 1, img0);
        // Word 0 of ring 0's data area (a record header) is rewritten from
        // inside the consumer's publish.
        s.act(op::x_bell).u8(1).u64(1);
        s.act(op::x_arm_injection).u16(static_cast<std::uint16_t>((128 + 512) / 8)).u64(~0ull);
        for (int i = 0; i < 10; ++i)
            s.act(op::h_send, 30).act(op::c_receive);
        write("injection", s);
    }
    {
        seed s(0, 0, img0);
        std::uint64_t v = 0x9E37'79B9'7F4A'7C15ull;
        for (int i = 0; i < 40; ++i) {
            v = v * 6364136223846793005ull + 1442695040888963407ull;
            s.act(op::x_write_word).u16(static_cast<std::uint16_t>(v >> 48)).u64(v);
            s.act(op::h_send, static_cast<std::uint16_t>(v >> 20))
                .act(op::c_receive)
                .act(op::p_send, 9);
        }
        write("scribbles", s);
    }
    {  // An image that already holds records (tail published by the host).
        const auto img = image(0, [](region& r) {
            ring_producer host(r.ring(0));
            for (std::uint16_t i = 0; i < 4; ++i) {
                std::vector<std::byte> b(i * 11u, std::byte{0x42});
                (void)host.try_send(i, b);
            }
        });
        seed s(0, 0, img);
        for (int i = 0; i < 5; ++i)
            s.act(op::c_receive);
        write("image-with-records", s);
    }
    {  // Forged images: attach refuses them.
        auto bad_magic = img0;
        bad_magic[0] ^= 1;
        write("image-bad-magic", seed(0, 0, bad_magic));
        auto bad_capacity = img0;
        bad_capacity[64 + 8 + 1] = 3;  // ring 0 capacity 256 becomes 768
        write("image-bad-capacity", seed(0, 0, bad_capacity));
        write("image-truncated",
              seed(0, 0, std::vector<std::uint8_t>(img0.begin(), img0.begin() + 40)));
    }
    std::printf("wrote %d seeds to %s\n", written, dir.c_str());
    return 0;
}
