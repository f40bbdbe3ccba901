// SPDX-License-Identifier: Apache-2.0
// Description: a call or a result larger than the trusted max_message is
// refused by its sender with rpc_message_too_large and never reaches the
// peer, whose channel would fault on it; the channel goes on (#19).
#include <cstdint>
#include <string>

#include "rpc/hostile_host.hh"
#include "rpc/rpc_support.hh"

namespace {

using namespace airlock;

constexpr rpc::host_method<1, std::uint64_t(std::string)> store{"store"};
constexpr rpc::host_method<2, std::string(std::uint64_t)> make{"make"};

rpc::endpoint_options small_messages() {
    rpc::endpoint_options options;
    options.max_message = 4096;
    return options;
}

TEST(message_limits, an_argument_above_max_message_is_refused_before_sending) {
    test::hostile_host f(small_messages());
    auto out = f.start(f.enclave().call(store, std::string(5000, 'x')));
    f.settle();
    ASSERT_TRUE(out->done());
    ASSERT_FALSE(out->value->has_value());
    EXPECT_TRUE(test::same_errc(out->value->error(), errc::rpc_message_too_large));
    EXPECT_FALSE(f.ch.take().has_value()) << "the oversized call reached the host";
    EXPECT_EQ(f.enclave().outstanding_calls(), 0u);
    // Just under the cap still goes.
    auto fits = f.start(f.enclave().call(store, std::string(4000, 'y')));
    f.settle();
    auto c = f.ch.take_call();
    ASSERT_TRUE(c.has_value());
    f.ch.send_reply(c->id, 0, test::encoded(std::uint64_t{1}));
    f.settle();
    ASSERT_TRUE(fits->done());
    EXPECT_TRUE(fits->value->has_value());
    EXPECT_TRUE(test::same_errc(f.enclave().fault(), errc::ok));
}

TEST(message_limits, a_result_above_max_message_is_answered_with_the_error) {
    test::loopback lb(1 << 14, small_messages());
    lb.host.serve(make, [](std::uint64_t n) { return std::string(n, 'r'); });
    auto too_big = lb.run(lb.enclave.call(make, 5000));
    ASSERT_FALSE(too_big.has_value());
    EXPECT_TRUE(test::same_errc(too_big.error(), errc::rpc_message_too_large));
    auto fine = lb.run(lb.enclave.call(make, 3000));
    ASSERT_TRUE(fine.has_value());
    EXPECT_EQ(fine->size(), 3000u);
    EXPECT_TRUE(test::same_errc(lb.enclave.fault(), errc::ok));
    EXPECT_TRUE(test::same_errc(lb.host.fault(), errc::ok));
}

}  // namespace
