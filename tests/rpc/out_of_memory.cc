// SPDX-License-Identifier: Apache-2.0
// Description: running out of enclave memory is an answer for one call,
// never a terminate: a result too large to decode ends its call with
// enclave_memory_exhausted; arguments too large to decode, and a handler
// whose allocation fails, are answered enclave_memory_exhausted; a message
// too large to reassemble faults the channel with that reason; the
// endpoint goes on (or reports the fault) every time.
#include <array>
#include <optional>
#include <vector>

#include "rpc/allocation_probe.hh"
#include "rpc/call_checks.hh"
#include "rpc/hostile_host.hh"

using namespace airlock;
using namespace airlock::test::hostile_calls;
using test::error_of;

namespace {

using bulky = std::vector<std::optional<std::array<std::uint64_t, 64>>>;
inline constexpr rpc::host_method<20, bulky(std::uint64_t)> fetch_bulky{"fetch_bulky"};
inline constexpr rpc::enclave_method<20, std::uint64_t(bulky)> take_bulky{"take_bulky"};
inline constexpr rpc::enclave_method<21, std::uint64_t(std::uint64_t)> allocate{"allocate"};

// n absent optionals: one byte each on the wire, 520 bytes each in memory.
std::vector<std::byte> absent_elements(std::uint64_t n) {
    std::vector<std::byte> out(8 + n);
    std::memcpy(out.data(), &n, sizeof n);
    return out;
}

constexpr std::size_t ceiling = 1 << 20;  // 1 MiB: the largest allocation that succeeds

}  // namespace

TEST(out_of_memory, a_result_too_large_to_decode_ends_its_call_only) {
    test::hostile_host f;
    auto out = f.start(f.enclave().call(fetch_bulky, 1));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    // 20 KB in, 10 MB decoded.
    const auto reply = test::raw_channel::reply_bytes(c->id, 0, absent_elements(20'000));
    {
        const test::allocation_ceiling limit(ceiling);
        ASSERT_TRUE(f.ch.send_big(rpc::reply_tag, reply, [&] { f.h.ex.run_once(); }));
        f.settle();
    }
    ASSERT_TRUE(out->done());
    EXPECT_EQ(error_of(*out->value), errc::enclave_memory_exhausted);
    EXPECT_EQ(f.enclave().fault(), errc::ok) << "one call's memory is not the channel's fault";

    auto next = f.start(f.enclave().call(lookup, 2));
    f.settle();
    auto d = f.ch.take_call();
    ASSERT_TRUE(d.has_value());
    f.ch.send_reply(d->id, 0, test::encoded(std::uint64_t{3}));
    f.settle();
    EXPECT_EQ(**next->value, 3u);
}

TEST(out_of_memory, arguments_too_large_to_decode_and_a_failing_handler_are_answered) {
    test::hostile_host f;
    f.enclave().serve(take_bulky, [](const bulky& b) { return std::uint64_t{b.size()}; });
    f.enclave().serve(allocate, [](std::uint64_t bytes) {
        std::vector<std::byte> v(bytes);  // the handler's own allocation fails
        return std::uint64_t{v.size()};
    });
    const auto call = test::raw_channel::call_bytes(1, take_bulky.id, absent_elements(20'000));
    {
        const test::allocation_ceiling limit(ceiling);
        ASSERT_TRUE(f.ch.send_big(rpc::call_tag, call, [&] { f.h.ex.run_once(); }));
        f.ch.send_call(2, allocate.id, test::encoded(std::uint64_t{16} << 20));
        f.settle();
    }
    auto a = f.ch.take_reply();
    auto b = f.ch.take_reply();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->code, static_cast<std::uint64_t>(errc::enclave_memory_exhausted));
    EXPECT_EQ(b->code, static_cast<std::uint64_t>(errc::enclave_memory_exhausted));
    EXPECT_EQ(f.enclave().fault(), errc::ok);
    EXPECT_EQ(f.enclave().serving(), 0u);
}

TEST(out_of_memory, a_message_too_large_to_reassemble_faults_the_channel_with_the_reason) {
    test::hostile_host f;
    auto out = f.start(f.enclave().call(fetch_bulky, 1));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    // Fragments: 40 KB to reassemble.
    const auto reply = test::raw_channel::reply_bytes(c->id, 0, absent_elements(40'000));
    {
        const test::allocation_ceiling limit(16 * 1024);
        (void)f.ch.send_big(rpc::reply_tag, reply, [&] { f.h.ex.run_once(); });
        f.settle();
    }
    ASSERT_TRUE(out->done());
    EXPECT_EQ(error_of(*out->value), errc::rpc_channel_faulted);
    EXPECT_EQ(f.enclave().ring_fault(), errc::enclave_memory_exhausted);
}
