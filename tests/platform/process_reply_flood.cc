// SPDX-License-Identifier: Apache-2.0
// Description: a host that floods a sealed enclave with calls and never
// reads the replies meets back-pressure: the enclave stops taking calls once
// its replies cannot leave, stays alive within its memory budget, and once
// the host drains, every call it sent is answered, correctly and once
// (HOSTILE-INPUTS #16, #18; DESIGN.md "Work and memory per channel are
// bounded whatever the host does").
//
// The host here is the test itself, writing call messages straight into the
// enclave's incoming ring of channel 0 and reading its outgoing ring, the
// way a hostile host would, with no host endpoint in between.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <span>
#include <thread>
#include <vector>

#include "airlock/platform/enclave.hh"
#include "airlock/ring/region.hh"
#include "airlock/ring/spsc_ring.hh"
#include "airlock/rpc/codec.hh"
#include "airlock/rpc/protocol.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using clock_type = std::chrono::steady_clock;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t, std::uint64_t)> add{"add"};
constexpr std::size_t ring_capacity = std::size_t{1} << 14;

void program(platform::enclave_thread& t) {
    t.host.serve(add, [](std::uint64_t a, std::uint64_t b) { return a + b; });
}

std::vector<std::byte> call_message(std::uint64_t id) {
    std::vector<std::byte> out;
    rpc::writer w(out);
    w.put_u64(id);
    w.put_u64(add.id);
    rpc::encode_all(w, id, std::uint64_t{7});
    return out;
}

TEST(process_reply_flood, a_host_that_never_drains_meets_back_pressure_and_is_served_later) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(platform::platform_kind::process);
    platform::enclave_config config = test::process_config();
    config.ring_capacity = ring_capacity;
    config.enclave_memory = std::size_t{16} << 20;
    auto created = platform::enclave::create(config, program);
    ASSERT_TRUE(created.has_value()) << to_string(created.error());
    platform::enclave& e = **created;
    test::watchdog dog(std::chrono::seconds(120), "reply flood");

    auto region = test::host_view_of_region(e);
    ASSERT_TRUE(region.has_value()) << to_string(region.error());
    ring::wire::doorbell& enclave_bell = region->doorbell(platform::enclave_bell(0));
    ring::ring_producer to_enclave(region->ring(platform::host_to_enclave_ring(0)),
                                   {.hooks = &e.hooks(), .peer_bell = &enclave_bell});
    ring::ring_consumer from_enclave(
        region->ring(platform::enclave_to_host_ring(0)),
        {{.hooks = &e.hooks(), .peer_bell = &enclave_bell}, std::size_t{1} << 20});

    // Flood: send as many calls as the enclave takes, reading nothing, until
    // it has taken none for 300 ms (or a ceiling far above what it should take).
    constexpr std::uint64_t ceiling = 200'000;
    std::uint64_t sent = 0;
    auto last_progress = clock_type::now();
    while (sent < ceiling && clock_type::now() - last_progress < std::chrono::milliseconds(300)) {
        const auto message = call_message(sent);
        if (to_enclave.try_send(rpc::call_tag, message)) {
            ++sent;
            last_progress = clock_type::now();
        } else {
            std::this_thread::yield();
        }
    }
    std::printf("  the enclave took %llu calls before back-pressure held the host\n",
                static_cast<unsigned long long>(sent));
    EXPECT_LT(sent, ceiling) << "the enclave kept taking calls whose replies could not leave";
    EXPECT_EQ(e.failure(), errc::ok) << e.diagnostic();

    // Drain, and send the rest of a fixed total meanwhile: every call is
    // answered with its own sum, once.
    const std::uint64_t total = sent + 5'000;
    std::vector<bool> answered(total, false);
    std::uint64_t replies = 0;
    const auto give_up = clock_type::now() + std::chrono::seconds(60);
    while (replies < total && clock_type::now() < give_up) {
        bool progress = false;
        if (sent < total && to_enclave.try_send(rpc::call_tag, call_message(sent))) {
            ++sent;
            progress = true;
        }
        auto m = from_enclave.try_receive();
        if (m) {
            progress = true;
            ASSERT_EQ(m->tag, rpc::reply_tag);
            ASSERT_EQ(m->bytes.size(), rpc::message_header_bytes + 8);
            std::uint64_t id = 0;
            std::uint64_t code = 0;
            std::uint64_t value = 0;
            std::memcpy(&id, m->bytes.data(), 8);
            std::memcpy(&code, m->bytes.data() + 8, 8);
            std::memcpy(&value, m->bytes.data() + 16, 8);
            ASSERT_LT(id, total);
            EXPECT_FALSE(answered[id]) << "call " << id << " answered twice";
            EXPECT_EQ(code, 0u) << "call " << id;
            EXPECT_EQ(value, id + 7) << "call " << id;
            answered[id] = true;
            ++replies;
            from_enclave.publish();
        } else {
            ASSERT_EQ(m.error(), errc::ring_empty) << to_string(m.error());
        }
        if (!progress) std::this_thread::yield();
    }
    EXPECT_EQ(replies, total) << "not every call was answered";
    EXPECT_EQ(e.failure(), errc::ok) << e.diagnostic();
}

}  // namespace
