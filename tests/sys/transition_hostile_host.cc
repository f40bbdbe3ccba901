// SPDX-License-Identifier: Apache-2.0
// Description: the transition transport by the host's thread (the sealed
// platform's form) checks each completion as the ring path does: the test
// plays the host on another thread. An honest answer reaches the caller and
// the request carried wire::transition_flag; more bytes than asked, or an
// answer to a request not in flight, fault the link and leave the caller's
// buffer untouched; a service that says it stopped, without answering, ends
// the blocked call with sys_service_stopped. A poll reply is checked too:
// an honest one reaches the caller; a count that is not the entries ready,
// an event that does not exist or a reply of another size fault the link;
// events the entry did not ask for are dropped.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "airlock/sys/client.hh"
#include "airlock/sys/poll.hh"
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

    // Runs `body`'s coroutine on this thread (its call blocks until
    // answered) while `host` plays the host on another thread with the
    // request's tag and id.
    template <class Host, class Body>
    void blocked_call(Host host, Body body) {
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
        ex.spawn(body(*this));
        ex.run_once();
        host_thread.join();
    }

    // A recv of 16 bytes.
    template <class Host>
    void recv_with(Host host) {
        buffer.assign(16, std::byte{0x5a});
        blocked_call(host, [](link_fixture& f) -> async::task<void> {
            sys::request r{.op = op::recv, .target = 1ull << 32};
            r.args[0] = f.buffer.size();
            r.asked = f.buffer.size();
            r.into = f.buffer;
            f.outcome = co_await f.client.call(r);
        });
    }

    // A poll of two sockets, for reading, that the host answers with
    // `words` (a word per entry, or another count) and `ready`.
    void poll_with(std::vector<std::uint64_t> words, std::int64_t ready) {
        for (auto& e : entries)
            e = {.target = *client.make_handle(sys::handle_kind::socket),
                 .events = sys::wire::poll_in};
        blocked_call(
            [&](std::uint64_t id) { send_completion(id, ready, std::as_bytes(std::span(words))); },
            [](link_fixture& f) -> async::task<void> {
                f.polled = co_await sys::poll(f.client, f.entries, std::chrono::milliseconds(-1));
            });
    }

    std::vector<std::byte> buffer;
    std::uint16_t tag = 0;
    std::optional<sys::result<sys::outcome>> outcome;
    std::array<sys::poll_entry, 2> entries{};
    std::optional<sys::result<std::size_t>> polled;
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

TEST(sys_transition_hostile, an_honest_poll_reply_reaches_the_caller) {
    link_fixture f;
    test::watchdog dog(std::chrono::seconds(60), "sys_transition_hostile");
    // The second entry asked to read: the host's claim that it may write is dropped.
    f.poll_with({sys::wire::poll_in, sys::wire::poll_out}, 2);
    EXPECT_EQ(f.tag, static_cast<std::uint16_t>(op::poll) | sys::wire::transition_flag);
    ASSERT_TRUE(f.polled.has_value() && f.polled->has_value());
    EXPECT_EQ(**f.polled, 1u);
    EXPECT_EQ(f.entries[0].revents, sys::wire::poll_in);
    EXPECT_EQ(f.entries[1].revents, 0u);
    EXPECT_EQ(f.client.fault(), errc::ok);
}

TEST(sys_transition_hostile, a_poll_count_that_is_not_the_entries_ready_faults_the_link) {
    link_fixture f;
    test::watchdog dog(std::chrono::seconds(60), "sys_transition_hostile");
    f.poll_with({sys::wire::poll_in, 0}, 2);
    ASSERT_TRUE(f.polled.has_value() && !f.polled->has_value());
    EXPECT_EQ(f.polled->error().code, errc::sys_faulted);
    EXPECT_EQ(f.client.fault(), errc::sys_bad_result) << f.client.fault_reason();
}

TEST(sys_transition_hostile, a_poll_event_that_does_not_exist_faults_the_link) {
    link_fixture f;
    test::watchdog dog(std::chrono::seconds(60), "sys_transition_hostile");
    f.poll_with({0x100, 0}, 1);
    ASSERT_TRUE(f.polled.has_value() && !f.polled->has_value());
    EXPECT_EQ(f.client.fault(), errc::sys_bad_result) << f.client.fault_reason();
}

TEST(sys_transition_hostile, a_poll_reply_of_another_size_faults_the_link) {
    for (std::vector<std::uint64_t> words :
         {std::vector<std::uint64_t>{sys::wire::poll_in},
          std::vector<std::uint64_t>{sys::wire::poll_in, 0, sys::wire::poll_in}}) {
        link_fixture f;
        test::watchdog dog(std::chrono::seconds(60), "sys_transition_hostile");
        f.poll_with(words, 1);
        ASSERT_TRUE(f.polled.has_value() && !f.polled->has_value()) << words.size();
        EXPECT_EQ(f.client.fault(), errc::sys_bad_result) << f.client.fault_reason();
    }
}

}  // namespace
