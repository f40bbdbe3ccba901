// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/sys/link_words.hh: one service link in a region of the test's own,
// with its clock words writable as a host would, and the host's clocks.
#include <time.h>

#include <cstdint>

#include "airlock/platform/enclave.hh"
#include "airlock/ring/shared_memory.hh"
#include "airlock/sys/protocol.hh"
#include "support/region_fixture.hh"

namespace airlock::test {

struct link_words {
    link_words()
        : geometry(platform::channel_geometry(1, 1 << 14, 1, 1 << 14)),
          memory(*ring::region::required_size(geometry)),
          region(*ring::region::format(memory.span(), geometry)),
          link(platform::link_view(region, 1, 1, 0, 0)) {}
    // Writes the clock words as the service does, `seq` as given.
    void write(std::uint64_t seq, std::uint64_t mono, std::uint64_t real) {
        using ring::shared;
        shared::store_relaxed(link.words[sys::wire::clock_seq].word, seq);
        shared::store_relaxed(link.words[sys::wire::clock_monotonic].word, mono);
        shared::store_relaxed(link.words[sys::wire::clock_realtime].word, real);
    }
    ring::region_geometry geometry;
    aligned_memory memory;
    ring::region region;
    platform::service_link link;
};

inline std::uint64_t host_clock_ns(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000 +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace airlock::test
