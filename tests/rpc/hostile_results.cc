// SPDX-License-Identifier: Apache-2.0
// Description: host results out of contract: foreign error codes, undecodable or huge results
// (#13).
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "rpc/allocation_probe.hh"
#include "rpc/hostile_host.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;

// Runs one enclave call of `m` (argument 1) that the host answers with
// `code` and `result`; returns what the caller got.
template <class M>
errc answered_with(test::hostile_host& f, const M& m, std::uint64_t code,
                   std::span<const std::byte> result = {}) {
    auto call = [&] {
        if constexpr (std::tuple_size_v<typename M::arguments> == 0)
            return f.enclave().call(m);
        else
            return f.enclave().call(m, std::uint64_t{1});
    };
    auto out = f.start(call());
    f.settle();
    auto c = f.ch.take_call();
    if (!c) return errc::broken_promise;
    f.ch.send_reply(c->id, code, result);
    f.settle();
    EXPECT_TRUE(out->done()) << "the caller did not resume";
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
    if (!out->done()) return errc::broken_promise;
    return test::code_of(*out->value);
}

TEST(hostile_results, error_codes_outside_the_allowed_ranges_are_out_of_contract) {
    test::hostile_host f;
    const std::vector<std::uint64_t> foreign = {
        1,                                                             // below every range
        static_cast<std::uint64_t>(errc::ring_empty),                  // ring outcomes
        static_cast<std::uint64_t>(errc::ring_full),                   //
        static_cast<std::uint64_t>(errc::region_bad_magic),            // ring attach
        static_cast<std::uint64_t>(errc::fault_tail_beyond_capacity),  // ring faults
        static_cast<std::uint64_t>(errc::fault_fragment_total),        //
        199,                                                           //
        static_cast<std::uint64_t>(errc::platform_unavailable),        // platform codes
        static_cast<std::uint64_t>(errc::enclave_died),                //
        static_cast<std::uint64_t>(errc::host_died),                   //
        static_cast<std::uint64_t>(errc::peer_stalled),  // the liveness check is the host's own
        static_cast<std::uint64_t>(errc::enclave_context_failed),  //
        static_cast<std::uint64_t>(errc::host_pool_full),    // host_worker_pool codes, passed on
        static_cast<std::uint64_t>(errc::host_work_failed),  //
        204,
        299,  // undefined async codes
        301,  // rpc_unknown_call_id: call ids are the caller's own business
        304,  // rpc_channel_faulted: the caller's own finding, never the peer's word (#28)
        308,
        399,  // undefined rpc codes
        598,
        599,  // undefined sys codes
        605,
        650,
        699,  // undefined suvm codes
        700,  // ps_bad_length: an application's own protocol code, not a server's answer
        1000,
        65535,        // past every range
        65536 + 300,  // rpc_unknown_method in its low 16 bits
        (std::uint64_t{1} << 32) + 201,
        std::uint64_t{1} << 63,
        std::numeric_limits<std::uint64_t>::max(),
    };
    for (std::uint64_t code : foreign)
        EXPECT_TRUE(
            test::same_errc(answered_with(f, lookup, code), errc::rpc_result_out_of_contract))
            << "error code " << code;
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));
    EXPECT_EQ(f.enclave().stats().replies_received, foreign.size());
}

TEST(hostile_results, error_codes_a_server_may_send_arrive_as_they_are) {
    test::hostile_host f;
    for (errc e : {errc::cancelled, errc::deadline_exceeded, errc::broken_promise,
                   errc::rpc_unknown_method, errc::rpc_decode, errc::rpc_result_out_of_contract,
                   errc::rpc_overloaded, errc::rpc_handler_failed, errc::rpc_message_too_large,
                   errc::sys_bad_result, errc::sys_errno, errc::suvm_out_of_range,
                   errc::channel_closed, errc::enclave_memory_exhausted})
        EXPECT_TRUE(test::same_errc(answered_with(f, lookup, static_cast<std::uint64_t>(e)), e));
    // An error reply's trailing bytes are ignored, never decoded.
    const auto junk = test::encoded(std::string("junk"), std::uint64_t{5});
    EXPECT_TRUE(test::same_errc(
        answered_with(f, lookup, static_cast<std::uint64_t>(errc::rpc_overloaded), junk),
        errc::rpc_overloaded));
}

TEST(hostile_results, results_that_do_not_decode_are_rpc_decode) {
    test::hostile_host f;
    auto with_trailing = [](std::vector<std::byte> v) {
        v.push_back(std::byte{0});
        return v;
    };
    // uint64: too short, trailing bytes, nothing.
    EXPECT_TRUE(test::same_errc(answered_with(f, lookup, 0), errc::rpc_decode));
    EXPECT_TRUE(test::same_errc(answered_with(f, lookup, 0, test::bytes_of({1, 2, 3, 4, 5, 6, 7})),
                                errc::rpc_decode));
    EXPECT_TRUE(
        test::same_errc(answered_with(f, lookup, 0, with_trailing(test::encoded(std::uint64_t{1}))),
                        errc::rpc_decode));
    // string: a length longer than the bytes, trailing bytes, no length.
    auto short_string = test::encoded(std::uint64_t{10});
    short_string.resize(short_string.size() + 3);
    EXPECT_TRUE(test::same_errc(answered_with(f, name_of, 0, short_string), errc::rpc_decode));
    EXPECT_TRUE(test::same_errc(
        answered_with(f, name_of, 0, with_trailing(test::encoded(std::string("abc")))),
        errc::rpc_decode));
    EXPECT_TRUE(
        test::same_errc(answered_with(f, name_of, 0, test::bytes_of({3, 0, 0})), errc::rpc_decode));
    // vector<uint64_t>: a count with bytes for fewer elements, a ragged tail.
    auto ragged = test::encoded(std::uint64_t{3});
    ragged.resize(ragged.size() + 20);
    EXPECT_TRUE(test::same_errc(answered_with(f, list, 0, ragged), errc::rpc_decode));
    // void: any result bytes at all.
    EXPECT_TRUE(test::same_errc(answered_with(f, ping, 0, test::bytes_of({0})), errc::rpc_decode));
    // bool: only 0 and 1 (HOSTILE-INPUTS #10).
    EXPECT_TRUE(
        test::same_errc(answered_with(f, exists, 0, test::bytes_of({2})), errc::rpc_decode));
    EXPECT_TRUE(
        test::same_errc(answered_with(f, exists, 0, test::bytes_of({0xff})), errc::rpc_decode));
    // optional: a presence flag that is not a bool, present but truncated.
    EXPECT_TRUE(test::same_errc(answered_with(f, find, 0, test::bytes_of({7})), errc::rpc_decode));
    EXPECT_TRUE(
        test::same_errc(answered_with(f, find, 0, test::bytes_of({1, 4, 0, 0, 0, 0, 0, 0, 0, 'a'})),
                        errc::rpc_decode));

    // And the well-formed results still decode on the same channel.
    EXPECT_TRUE(test::same_errc(answered_with(f, ping, 0), errc::ok));
    EXPECT_TRUE(test::same_errc(answered_with(f, exists, 0, test::bytes_of({1})), errc::ok));
    EXPECT_TRUE(test::same_errc(
        answered_with(f, find, 0, test::encoded(std::optional<std::string>("x"))), errc::ok));
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));
}

TEST(hostile_results, huge_claimed_lengths_are_rpc_decode_without_allocating_them) {
    test::hostile_host f;
    // A length field, then a few bytes of "content".
    auto claims = [](std::vector<std::uint64_t> prefix) {
        std::vector<std::byte> out;
        for (std::uint64_t v : prefix)
            test::put_u64(out, v);
        test::put_u64(out, 0x4141414141414141);
        return out;
    };
    constexpr std::size_t limit = std::size_t{1} << 20;  // nothing near the claimed sizes
    const std::uint64_t huge[] = {std::uint64_t{1} << 60, std::uint64_t{1} << 61,
                                  (std::uint64_t{1} << 61) + 1,  // times 8 wraps to 8
                                  std::numeric_limits<std::uint64_t>::max(), 1u << 30};
    for (std::uint64_t n : huge) {
        {
            test::allocation_probe probe;
            EXPECT_TRUE(
                test::same_errc(answered_with(f, name_of, 0, claims({n})), errc::rpc_decode))
                << "string of claimed length " << n;
            EXPECT_LT(probe.largest(), limit) << "string of claimed length " << n;
        }
        {
            test::allocation_probe probe;
            EXPECT_TRUE(test::same_errc(answered_with(f, list, 0, claims({n})), errc::rpc_decode))
                << "vector of claimed length " << n;
            EXPECT_LT(probe.largest(), limit) << "vector of claimed length " << n;
        }
        {
            test::allocation_probe probe;
            std::vector<std::byte> present{std::byte{1}};
            const auto rest = claims({n});
            present.insert(present.end(), rest.begin(), rest.end());
            EXPECT_TRUE(test::same_errc(answered_with(f, find, 0, present), errc::rpc_decode))
                << "optional string of claimed length " << n;
            EXPECT_LT(probe.largest(), limit) << "optional string of claimed length " << n;
        }
    }
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));
}

}  // namespace
