// SPDX-License-Identifier: Apache-2.0
// Description: a lying host (the test writes the completions) never crashes
// the enclave's sys client: more bytes than asked, a count that is not the
// bytes sent, a datagram whose lengths do not add up, an unknown request, a
// stale generation, a duplicate, an errno the call cannot produce each fault
// the link with a reason and fail the waiting call; a legitimate errno fails only its call; a host
// that never answers is bounded by the caller's cancellation, its late answer dropped; a readv or
// writev answered with more than the buffers' total faults, an honest readv answer is scattered.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "airlock/sys/client.hh"
#include "fake_host_link.hh"

namespace {

using namespace airlock;
using sys::wire::op;

constexpr std::size_t capacity = std::size_t{1} << 14;

struct link_fixture : test::fake_host_link {
    link_fixture() : fake_host_link(capacity) {}

    // Spawns a recv of `asked` bytes and returns its request id.
    std::uint64_t start_recv(std::size_t asked) {
        buffer.assign(asked, std::byte{0x5a});
        outcome.reset();
        ex.spawn([](link_fixture& f) -> async::task<void> {
            sys::request r{.op = op::recv, .target = 1ull << 32};
            r.args[0] = f.buffer.size();
            r.asked = f.buffer.size();
            r.into = f.buffer;
            f.outcome = co_await f.client.call(r);
        }(*this));
        ex.run_once();
        auto m = take_request();
        EXPECT_TRUE(m.has_value());
        if (!m) return 0;
        EXPECT_EQ(m->tag, static_cast<std::uint16_t>(op::recv));
        return m->id;
    }

    std::vector<std::byte> buffer;
    std::optional<sys::result<sys::outcome>> outcome;
};

void expect_fault(link_fixture& f, errc code) {
    ASSERT_TRUE(f.outcome.has_value()) << "the waiting call was resumed";
    ASSERT_FALSE(f.outcome->has_value());
    EXPECT_EQ(f.outcome->error().code, errc::sys_faulted);
    EXPECT_EQ(f.client.fault(), code) << f.client.fault_reason();
    EXPECT_FALSE(f.client.fault_reason().empty());
    for (std::byte b : f.buffer)
        ASSERT_EQ(b, std::byte{0x5a}) << "nothing the host wrote reached the caller's buffer";
}

TEST(sys_hostile, a_read_that_returns_more_than_asked_faults) {
    link_fixture f;
    const auto id = f.start_recv(16);
    f.complete(id, 32, 32);
    expect_fault(f, errc::sys_bad_result);
}

TEST(sys_hostile, a_count_that_is_not_the_bytes_sent_faults) {
    link_fixture f;
    const auto id = f.start_recv(16);
    f.complete(id, 8, 4);
    expect_fault(f, errc::sys_bad_result);
}

TEST(sys_hostile, an_unknown_request_faults) {
    link_fixture f;
    (void)f.start_recv(16);
    f.complete((std::uint64_t{1} << 32) | 999'999, 0, 0);
    expect_fault(f, errc::sys_unknown_request);
}

TEST(sys_hostile, a_stale_generation_faults) {
    link_fixture f;
    const auto id = f.start_recv(16);
    f.complete(id + (std::uint64_t{1} << 32), 0, 0);
    expect_fault(f, errc::sys_unknown_request);
}

TEST(sys_hostile, a_duplicate_completion_faults_and_later_calls_fail) {
    link_fixture f;
    const auto id = f.start_recv(16);
    f.complete(id, 4, 4);
    ASSERT_TRUE(f.outcome.has_value() && f.outcome->has_value());
    EXPECT_EQ((*f.outcome)->bytes, 4u);
    f.complete(id, 4, 4);
    EXPECT_EQ(f.client.fault(), errc::sys_unknown_request);
    f.buffer.assign(16, std::byte{0x5a});
    f.outcome.reset();
    f.ex.spawn([](link_fixture& g) -> async::task<void> {
        g.outcome = co_await g.client.call({.op = op::close, .target = 1ull << 32});
    }(f));
    f.ex.run_once();
    ASSERT_TRUE(f.outcome.has_value());
    EXPECT_EQ(f.outcome->error().code, errc::sys_faulted);
}

TEST(sys_hostile, a_forged_errno_faults) {
    link_fixture f;
    const auto id = f.start_recv(16);
    f.complete(id, -9999, 0);
    expect_fault(f, errc::sys_bad_errno);
}

TEST(sys_hostile, a_stalled_host_is_bounded_by_cancellation_and_its_late_reply_dropped) {
    link_fixture f;
    f.buffer.assign(16, std::byte{0x5a});
    async::cancellation_source deadline;
    f.ex.spawn_now(
        [](link_fixture& g) -> async::task<void> {
            sys::request r{.op = op::recv, .target = 1ull << 32};
            r.args[0] = g.buffer.size();
            r.asked = g.buffer.size();
            r.into = g.buffer;
            g.outcome = co_await g.client.call(r);
        }(f),
        deadline.token());
    f.ex.run_once();
    auto m = f.requests.try_receive();
    ASSERT_TRUE(m.has_value());
    std::uint64_t id;
    std::memcpy(&id, m->bytes.data(), 8);
    EXPECT_EQ(f.client.in_flight(), 1u);
    deadline.request_cancellation();  // the host never answered: the caller gives up
    f.ex.run_once();
    ASSERT_TRUE(f.outcome.has_value());
    ASSERT_FALSE(f.outcome->has_value());
    EXPECT_EQ(f.outcome->error().code, errc::cancelled);
    EXPECT_EQ(f.client.in_flight(), 1u) << "the slot waits for the host's answer";
    f.complete(id, 16, 16);  // the late answer
    EXPECT_EQ(f.client.fault(), errc::ok) << f.client.fault_reason();
    EXPECT_EQ(f.client.in_flight(), 0u);
    for (std::byte b : f.buffer)
        ASSERT_EQ(b, std::byte{0x5a}) << "the late data was dropped";
}

TEST(sys_hostile, a_datagram_whose_lengths_do_not_add_up_faults) {
    link_fixture f;
    f.buffer.assign(64, std::byte{0x5a});
    f.ex.spawn([](link_fixture& g) -> async::task<void> {
        sys::request r{.op = op::receive_from, .target = 1ull << 32};
        r.args[0] = 16;
        r.asked = 16;
        r.into = g.buffer;
        g.outcome = co_await g.client.call(r);
    }(f));
    f.ex.run_once();
    auto m = f.requests.try_receive();
    ASSERT_TRUE(m.has_value());
    std::uint64_t id;
    std::memcpy(&id, m->bytes.data(), 8);
    // result 8, aux (address length) 200: beyond any sockaddr.
    std::vector<std::byte> c(24 + 208, std::byte{0});
    const std::int64_t result = 8;
    const std::uint64_t aux = 200;
    std::memcpy(c.data(), &id, 8);
    std::memcpy(c.data() + 8, &result, 8);
    std::memcpy(c.data() + 16, &aux, 8);
    ASSERT_TRUE(f.completions.try_send(sys::wire::completion_tag, c).has_value());
    for (int i = 0; i < 4; ++i)
        f.ex.run_once();
    expect_fault(f, errc::sys_bad_result);
}

TEST(sys_hostile, a_legitimate_errno_fails_only_its_call) {
    link_fixture f;
    const auto id = f.start_recv(16);
    f.complete(id, -ECONNRESET, 0);
    ASSERT_TRUE(f.outcome.has_value());
    ASSERT_FALSE(f.outcome->has_value());
    EXPECT_TRUE(f.outcome->error().is_errno(ECONNRESET));
    EXPECT_EQ(sys::to_string(f.outcome->error()),
              "sys_errno ECONNRESET (Connection reset by peer)");
    EXPECT_EQ(f.client.fault(), errc::ok);
    const auto id2 = f.start_recv(16);
    f.complete(id2, 3, 3);
    ASSERT_TRUE(f.outcome->has_value());
    EXPECT_EQ((*f.outcome)->bytes, 3u);
}

// A readv (a recv scattered over buffers of 3, 0 and 5 bytes): its request
// id; its outcome in f.outcome, its bytes in f.buffer (8 bytes).
std::uint64_t start_readv(link_fixture& f) {
    f.buffer.assign(8, std::byte{0x5a});
    f.outcome.reset();
    f.ex.spawn([](link_fixture& g) -> async::task<void> {
        const std::span<std::byte> parts[] = {
            std::span(g.buffer).first(3), {}, std::span(g.buffer).subspan(3)};
        sys::request r{.op = op::recv, .target = 1ull << 32};
        r.args[0] = 8;
        r.asked = 8;
        r.scatter = parts;
        g.outcome = co_await g.client.call(r);
    }(f));
    f.ex.run_once();
    auto m = f.requests.try_receive();
    EXPECT_TRUE(m.has_value());
    std::uint64_t id;
    std::memcpy(&id, m->bytes.data(), 8);
    return id;
}

TEST(sys_hostile, a_readv_answered_with_more_than_its_buffers_hold_faults) {
    link_fixture f;
    const auto id = start_readv(f);
    f.complete(id, 9, 9);
    expect_fault(f, errc::sys_bad_result);
}

TEST(sys_hostile, an_honest_readv_answer_fills_the_buffers_in_order) {
    link_fixture f;
    const auto id = start_readv(f);
    std::vector<std::byte> m(24 + 6);
    const std::int64_t result = 6;
    std::memcpy(m.data(), &id, 8);
    std::memcpy(m.data() + 8, &result, 8);
    std::memset(m.data() + 16, 0, 8);
    std::memcpy(m.data() + 24, "abcdef", 6);
    ASSERT_TRUE(f.completions.try_send(sys::wire::completion_tag, m).has_value());
    for (int i = 0; i < 4; ++i)
        f.ex.run_once();
    ASSERT_TRUE(f.outcome.has_value() && f.outcome->has_value());
    EXPECT_EQ((*f.outcome)->bytes, 6u);
    EXPECT_EQ(std::memcmp(f.buffer.data(), "abcdef", 6), 0);
    EXPECT_EQ(f.buffer[6], std::byte{0x5a}) << "nothing beyond the count";
}

TEST(sys_hostile, a_writev_said_to_move_more_than_its_buffers_faults) {
    link_fixture f;
    f.buffer.assign(8, std::byte{0x5a});
    f.ex.spawn([](link_fixture& g) -> async::task<void> {
        static const char a[] = "abc", b[] = "de";
        const std::span<const std::byte> parts[] = {std::as_bytes(std::span(a, 3)),
                                                    std::as_bytes(std::span(b, 2))};
        sys::request r{.op = op::send, .target = 1ull << 32};
        r.gather = parts;
        r.asked = 5;
        g.outcome = co_await g.client.call(r);
    }(f));
    f.ex.run_once();
    auto m = f.requests.try_receive();
    ASSERT_TRUE(m.has_value());
    ASSERT_EQ(m->bytes.size(), sys::wire::request_header_bytes + 5);
    EXPECT_EQ(std::memcmp(m->bytes.data() + sys::wire::request_header_bytes, "abcde", 5), 0)
        << "the buffers are sent in order";
    std::uint64_t id;
    std::memcpy(&id, m->bytes.data(), 8);
    f.complete(id, 6, 0);
    expect_fault(f, errc::sys_bad_result);
}

}  // namespace
