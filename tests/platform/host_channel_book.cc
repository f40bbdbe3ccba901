// SPDX-License-Identifier: Apache-2.0
// Description: the enclave's book of host channels: a channel is taken from
// the moment its opening starts, so a second opening while the first is
// still being built aborts; an opening whose construction throws leaves the
// channel free and what the last host channel left whole, for the next.
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "../../src/platform/enclave_internal.hh"
#include "rpc/rpc_support.hh"

namespace {

using namespace airlock;

struct stub_channel {
    std::size_t i = 0;
    [[nodiscard]] std::size_t index() const noexcept { return i; }
};
using book = platform::detail::host_channel_book<stub_channel>;

auto nothing_more = [](stub_channel&) {};

TEST(host_channel_book, an_opening_in_progress_takes_the_channel) {
    EXPECT_DEATH(
        {
            book b(1);
            std::mutex m;
            auto ch = b.open(
                m, 0,
                [&](rpc::endpoint_handover*) {
                    (void)b.open(
                        m, 0,
                        [](rpc::endpoint_handover*) { return std::make_unique<stub_channel>(); },
                        nothing_more);
                    return std::make_unique<stub_channel>();
                },
                nothing_more);
        },
        "open once at a time");
}

TEST(host_channel_book, a_failed_opening_keeps_what_the_last_left) {
    test::loopback lo;  // an endpoint to hand over
    book b(2);
    std::mutex m;
    auto first = b.open(
        m, 1,
        [](rpc::endpoint_handover* resume) {
            EXPECT_EQ(resume, nullptr) << "the first opening starts afresh";
            return std::make_unique<stub_channel>(stub_channel{1});
        },
        nothing_more);
    b.closed(*first, lo.host.hand_over());
    first.reset();

    EXPECT_THROW((void)b.open(
                     m, 1,
                     [](rpc::endpoint_handover* resume) -> std::unique_ptr<stub_channel> {
                         EXPECT_NE(resume, nullptr);
                         throw std::bad_alloc();
                     },
                     nothing_more),
                 std::bad_alloc);
    bool resumed = false;
    auto again = b.open(
        m, 1,
        [&](rpc::endpoint_handover* resume) {
            resumed = resume != nullptr;
            return std::make_unique<stub_channel>(stub_channel{1});
        },
        nothing_more);
    EXPECT_TRUE(resumed) << "the handover survived the failed opening";
    EXPECT_EQ(b.open().size(), 1u);
}

}  // namespace
