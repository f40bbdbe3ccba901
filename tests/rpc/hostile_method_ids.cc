// SPDX-License-Identifier: Apache-2.0
// Description: calls for out-of-range method ids get rpc_unknown_method; serving goes on (#9).
#include <cstdint>
#include <limits>
#include <vector>

#include "rpc/hostile_host.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;

TEST(hostile_method_ids, out_of_range_ids_are_answered_unknown_method) {
    test::hostile_host f;
    serve_plain(f.enclave());
    const std::vector<std::uint64_t> bad_ids = {
        std::numeric_limits<std::uint64_t>::max(),
        std::uint64_t{1} << 63,
        std::uint64_t{1} << 32,
        (std::uint64_t{1} << 32) | add.id,  // the low 32 bits name a served method
        (std::uint64_t{1} << 16) | echo.id,
        enclave_table_end,  // just past the table
        enclave_table_end + 1,
        4,  // a gap in the table
        5,  // declared, not served here
        0,  // never an id
    };
    std::uint64_t call_id = 1000;
    for (std::uint64_t method : bad_ids)
        f.ch.send_call(call_id++, method, test::encoded(std::uint64_t{1}, std::uint64_t{2}));
    f.settle();

    for (std::size_t i = 0; i < bad_ids.size(); ++i) {
        auto r = f.ch.take_reply();
        ASSERT_TRUE(r.has_value()) << "no reply for method id " << bad_ids[i];
        EXPECT_EQ(r->id, 1000 + i) << "the reply must carry the host's call id";
        EXPECT_TRUE(test::same_errc(static_cast<errc>(r->code), errc::rpc_unknown_method))
            << "method id " << bad_ids[i];
        EXPECT_TRUE(r->result.empty()) << "an error reply carries no result";
    }
    EXPECT_FALSE(f.ch.take().has_value()) << "one reply per call, nothing more";
    EXPECT_EQ(f.enclave().stats().unknown_methods, bad_ids.size());
    EXPECT_EQ(f.enclave().stats().calls_served, 0u);
    EXPECT_EQ(f.enclave().serving(), 0u);
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));

    // The channel goes on: a real call right after is served.
    f.ch.send_call(7, add, 40, 2);
    f.settle();
    auto r = f.ch.take_reply();
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->id, 7u);
    EXPECT_TRUE(test::same_errc(static_cast<errc>(r->code), errc::ok));
    EXPECT_EQ(test::get_u64(r->result, 0), 42u);
}

TEST(hostile_method_ids, endpoint_serving_nothing_answers_every_id_unknown) {
    test::hostile_host f;  // an empty handler table
    for (std::uint64_t method : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{65535},
                                 std::numeric_limits<std::uint64_t>::max()})
        f.ch.send_call(method ^ 0x55, method);
    f.settle();
    for (int i = 0; i < 4; ++i) {
        auto r = f.ch.take_reply();
        ASSERT_TRUE(r.has_value());
        EXPECT_TRUE(test::same_errc(static_cast<errc>(r->code), errc::rpc_unknown_method));
    }
    EXPECT_EQ(f.enclave().stats().unknown_methods, 4u);
}

TEST(hostile_method_ids, unknown_ids_interleaved_with_real_calls_keep_their_order) {
    test::hostile_host f;
    serve_plain(f.enclave());
    // Per-channel ordering: replies of synchronous handlers go out in call order.
    for (std::uint64_t i = 0; i < 40; ++i) {
        if (i % 3 == 0)
            f.ch.send_call(i, enclave_table_end + i * 977);
        else
            f.ch.send_call(i, add, i, std::uint64_t{1});
    }
    f.settle();
    for (std::uint64_t i = 0; i < 40; ++i) {
        auto r = f.ch.take_reply();
        ASSERT_TRUE(r.has_value()) << "reply " << i;
        EXPECT_EQ(r->id, i);
        if (i % 3 == 0) {
            EXPECT_TRUE(test::same_errc(static_cast<errc>(r->code), errc::rpc_unknown_method));
        } else {
            ASSERT_TRUE(test::same_errc(static_cast<errc>(r->code), errc::ok));
            EXPECT_EQ(test::get_u64(r->result, 0), i + 1);
        }
    }
    EXPECT_EQ(f.enclave().stats().unknown_methods, 14u);
    EXPECT_EQ(f.enclave().stats().calls_served, 26u);
}

}  // namespace
