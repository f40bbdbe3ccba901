// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/sys/fake_host_link.hh: a sys client on a link whose service is the
// test itself. The test takes the requests the client sends and writes the
// completions it chooses, byte for byte, to play an honest host or a lying
// one (HOSTILE-INPUTS #13-15).
//
// Thread contract: the executor and the client belong to the test's thread;
// take_request and send_completion may be called from a thread that plays
// the host while the client's thread is blocked (the transition transport).

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

#include "airlock/platform/enclave.hh"
#include "airlock/platform/futex_wait.hh"
#include "airlock/sys/client.hh"
#include "support/region_fixture.hh"

namespace airlock::test {

struct fake_host_link {
    explicit fake_host_link(std::size_t ring_capacity, sys::client_options options = {})
        : geometry(platform::channel_geometry(1, ring_capacity, 1, ring_capacity)),
          memory(*ring::region::required_size(geometry)),
          region(*ring::region::format(memory.span(), geometry)),
          link(platform::link_view(region, 1, 1, 0, 0)),
          ex(region.doorbell(platform::enclave_bell(0)), hooks()),
          client(ex, link, hooks(), options),
          requests(link.to_service,
                   {{.hooks = &hooks(), .peer_bell = link.enclave_bell}, sys::wire::max_message}),
          completions(link.from_service, {.hooks = &hooks(), .peer_bell = link.enclave_bell}) {}

    static ring::wait_hooks& hooks() { return platform::futex_wait_hooks::instance(); }

    // A request as the host reads it: its tag, id and the bytes it asks for.
    struct request {
        std::uint16_t tag = 0;
        std::uint64_t id = 0;
        std::uint64_t asked = 0;
    };
    // The next request sent, if any (any thread).
    std::optional<request> take_request() {
        auto m = requests.try_receive();
        if (!m) return std::nullopt;
        request r{m->tag};
        std::memcpy(&r.id, m->bytes.data(), 8);
        std::memcpy(&r.asked, m->bytes.data() + 16, 8);
        return r;
    }
    // Runs the client's rounds, then takes the request they sent.
    request next_request() {
        run(4);
        auto r = take_request();
        EXPECT_TRUE(r.has_value()) << "the client sent a request";
        return r.value_or(request{});
    }
    // Writes a completion for `id`: `result`, then `data_bytes` of 0x77
    // (any thread).
    void send_completion(std::uint64_t id, std::int64_t result, std::size_t data_bytes) {
        const std::vector<std::byte> data(data_bytes, std::byte{0x77});
        send_completion(id, result, data);
    }
    void send_completion(std::uint64_t id, std::int64_t result, std::span<const std::byte> data) {
        std::vector<std::byte> m(24 + data.size());
        std::memcpy(m.data(), &id, 8);
        std::memcpy(m.data() + 8, &result, 8);
        std::memset(m.data() + 16, 0, 8);
        if (!data.empty()) std::memcpy(m.data() + 24, data.data(), data.size());
        ASSERT_TRUE(completions.try_send(sys::wire::completion_tag, m).has_value());
    }
    // The same, then the client's rounds that take it.
    void complete(std::uint64_t id, std::int64_t result, std::size_t data_bytes) {
        send_completion(id, result, data_bytes);
        run(4);
    }
    void run(int rounds) {
        for (int i = 0; i < rounds; ++i)
            ex.run_once();
    }

    ring::region_geometry geometry;
    test::aligned_memory memory;
    ring::region region;
    platform::service_link link;
    async::executor ex;
    sys::client client;
    ring::ring_consumer requests;
    ring::ring_producer completions;
};

}  // namespace airlock::test
