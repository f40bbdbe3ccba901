// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/ps/engine_support.hh: an engine over a small model, and the replies
// it produced split into frames, for the protocol tests.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ps/engine.hh"

namespace airlock::ps::testing {

inline constexpr std::uint32_t test_dimension = 4;
inline constexpr std::uint32_t test_keys = 64;
inline constexpr std::uint32_t test_max_batch = 8;

// A model holding ids 0 .. test_keys-1 at their initial values.
struct engine_fixture {
    model m{test_dimension, test_keys};
    engine e{m, engine_options{0.5f, test_max_batch}};
    session s;
    std::vector<std::byte> out;
    engine_fixture() {
        std::vector<float> v(test_dimension);
        for (std::uint64_t id = 0; id < test_keys; ++id) {
            model::initial_value(id, v);
            EXPECT_TRUE(m.insert(id, v).has_value());
        }
    }
    // Feeds `bytes`; returns what on_bytes returned.
    bool feed(std::span<const std::byte> bytes) { return e.on_bytes(s, bytes, out); }
};

// Splits `bytes` into complete frames; fails the test on a trailing partial one.
inline std::vector<std::span<const std::byte>> frames_of(std::span<const std::byte> bytes) {
    std::vector<std::span<const std::byte>> frames;
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        const auto h = peek_header(bytes.subspan(pos));
        EXPECT_TRUE(h.has_value()) << "truncated reply header at byte " << pos;
        if (!h || pos + h->frame_bytes() > bytes.size()) {
            ADD_FAILURE() << "truncated reply at byte " << pos;
            break;
        }
        frames.push_back(bytes.subspan(pos, h->frame_bytes()));
        pos += h->frame_bytes();
    }
    return frames;
}

inline errc status_of(std::span<const std::byte> frame) {
    return static_cast<errc>(peek_header(frame)->status);
}

}  // namespace airlock::ps::testing
