// SPDX-License-Identifier: Apache-2.0
// Description: the transition transport by the host's thread (the sealed
// platform's form) checks each completion as the ring path does: the test
// plays the host on another thread. An honest answer reaches the caller and
// the request carried wire::transition_flag; more bytes than asked, or an
// answer to a request not in flight, fault the link and leave the caller's
// buffer untouched; a service that says it stopped, without answering, ends
// the blocked call with sys_service_stopped.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "airlock/sys/client.hh"
#include "fake_host_link.hh"

namespace {

using namespace airlock;
using sys::wire::op;

constexpr std::size_t capacity = std::size_t{1} << 14;

struct link_fixture : test::fake_host_link {
    link_fixture()
        : fake_host_link(capacity, {.transport = sys::transport::transition,
                                    .transition_cycles = 100,
                                    .transition_on_host = true}) {}

    // Runs a recv of 16 bytes on this thread (it blocks until answered)
    // while `host` plays the host on another thread with the request's tag
    // and id.
    template <class Host>
    void recv_with(Host host) {
        buffer.assign(16, std::byte{0x5a});
        std::thread host_thread([&] {
            for (;;) {
                if (auto r = take_request()) {
                    tag = r->tag;
                    host(r->id);
                    return;
                }
                std::this_thread::yield();
            }
        });
        ex.spawn([](link_fixture& f) -> async::task<void> {
            sys::request r{.op = op::recv, .target = 1ull << 32};
            r.args[0] = f.buffer.size();
            r.asked = f.buffer.size();
            r.into = f.buffer;
            f.outcome = co_await f.client.call(r);
        }(*this));
        ex.run_once();
        host_thread.join();
    }

    std::vector<std::byte> buffer;
    std::uint16_t tag = 0;
    std::optional<sys::result<sys::outcome>> outcome;
};

void expect_fault(link_fixture& f, errc code) {
    ASSERT_TRUE(f.outcome.has_value()) << "the blocked call ended";
    ASSERT_FALSE(f.outcome->has_value());
    EXPECT_EQ(f.outcome->error().code, errc::sys_faulted);
    EXPECT_EQ(f.client.fault(), code) << f.client.fault_reason();
    for (std::byte b : f.buffer)
        ASSERT_EQ(b, std::byte{0x5a}) << "nothing the host wrote reached the caller's buffer";
}

TEST(sys_transition_hostile, an_honest_answer_reaches_the_caller) {
    link_fixture f;
    test::watchdog dog(std::chrono::seconds(60), "sys_transition_hostile");
    f.recv_with([&](std::uint64_t id) { f.send_completion(id, 4, 4); });
    EXPECT_EQ(f.tag, static_cast<std::uint16_t>(op::recv) | sys::wire::transition_flag);
    ASSERT_TRUE(f.outcome.has_value() && f.outcome->has_value());
    EXPECT_EQ((*f.outcome)->bytes, 4u);
    EXPECT_EQ(f.buffer[0], std::byte{0x77});
    EXPECT_EQ(f.client.fault(), errc::ok);
}

TEST(sys_transition_hostile, more_bytes_than_asked_fault_the_link) {
    link_fixture f;
    test::watchdog dog(std::chrono::seconds(60), "sys_transition_hostile");
    f.recv_with([&](std::uint64_t id) { f.send_completion(id, 32, 32); });
    expect_fault(f, errc::sys_bad_result);
}

TEST(sys_transition_hostile, an_answer_to_another_request_faults_the_link) {
    link_fixture f;
    test::watchdog dog(std::chrono::seconds(60), "sys_transition_hostile");
    f.recv_with([&](std::uint64_t id) { f.send_completion(id + (std::uint64_t{1} << 32), 0, 0); });
    expect_fault(f, errc::sys_unknown_request);
}

TEST(sys_transition_hostile, a_stopped_service_ends_the_blocked_call) {
    link_fixture f;
    test::watchdog dog(std::chrono::seconds(60), "sys_transition_hostile");
    f.recv_with([&](std::uint64_t) {
        ring::shared::store_release(f.link.words[sys::wire::service_state].word,
                                    sys::wire::service_stopped);
        ring::ring_doorbell(*f.link.enclave_bell, &link_fixture::hooks());
    });
    ASSERT_TRUE(f.outcome.has_value());
    ASSERT_FALSE(f.outcome->has_value());
    EXPECT_EQ(f.outcome->error().code, errc::sys_service_stopped);
}

}  // namespace
