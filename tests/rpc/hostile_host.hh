// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/rpc/hostile_host.hh: a real enclave endpoint facing a host that the
// test plays by hand (HOSTILE-INPUTS #9-15, #19, #25, #28).
//
// `raw_channel` is one channel: a region with a ring each way, an
// rpc::endpoint<side::enclave> on the given executor, and the host's ends
// as a raw ring_producer / ring_consumer pair. The test crafts any message
// (any tag, any bytes) into the enclave's incoming ring with `send_raw`,
// `send_call` and `send_reply`, and reads what the enclave sent with `take`,
// `take_call` and `take_reply`. `hostile_host` adds the executor (manual
// clock, async_support.hh), a watchdog that dumps the endpoint's counters if
// a test hangs, `settle` (run rounds until nothing is left to do) and
// `start` (spawn an enclave coroutine and keep its outcome); `one_slot_host`
// is one whose single call slot a call the host has not answered holds.
// Nothing sleeps: time passes only when a test moves the manual clock.
//
// `calls.hh`-style declarations shared by the tests are below: a few host
// methods the enclave calls and enclave methods it serves, with a gap in the
// enclave's id space.
//
// Thread contract: test code, one thread.

#include <gtest/gtest.h>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "airlock/async/event.hh"
#include "airlock/async/task.hh"
#include "airlock/rpc/codec.hh"
#include "airlock/rpc/endpoint.hh"
#include "async/async_support.hh"
#include "rpc/call_checks.hh"
#include "support/region_fixture.hh"

namespace airlock::test {

// The methods of the hostile tests, as both sides would declare them.
namespace hostile_calls {
// Served by the host (the enclave calls them).
inline constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> lookup{"lookup"};
inline constexpr rpc::host_method<2, std::string(std::uint64_t)> name_of{"name_of"};
inline constexpr rpc::host_method<3, std::vector<std::uint64_t>(std::uint64_t)> list{"list"};
inline constexpr rpc::host_method<4, void()> ping{"ping"};
inline constexpr rpc::host_method<5, bool(std::uint64_t)> exists{"exists"};
inline constexpr rpc::host_method<6, std::optional<std::string>(std::uint64_t)> find{"find"};
// Served by the enclave (the host calls them). Id 4 is a gap.
inline constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t, std::uint64_t)> add{"add"};
inline constexpr rpc::enclave_method<2, std::string(std::string)> echo{"echo"};
inline constexpr rpc::enclave_method<3, std::uint64_t(std::vector<std::uint64_t>)> sum{"sum"};
inline constexpr rpc::enclave_method<5, std::uint64_t(std::uint64_t)> hold{"hold"};
inline constexpr rpc::enclave_method<6, std::uint64_t(std::uint64_t)> relay{"relay"};
inline constexpr rpc::enclave_method<7, std::uint64_t(std::vector<std::string>)> count_chars{
    "count_chars"};
inline constexpr rpc::enclave_method<8, std::uint64_t(std::optional<std::vector<std::uint8_t>>)>
    opt_len{"opt_len"};
// One past the highest enclave method id.
inline constexpr std::uint64_t enclave_table_end = 9;

// Serves the synchronous enclave methods (add, echo, sum, count_chars,
// opt_len); hold (5) and relay (6) are left to the tests that need them.
inline void serve_plain(rpc::endpoint<rpc::side::enclave>& ep) {
    ep.serve(add, [](std::uint64_t a, std::uint64_t b) { return a + b; });
    ep.serve(echo, [](std::string s) { return s; });
    ep.serve(sum, [](std::vector<std::uint64_t> v) {
        std::uint64_t total = 0;
        for (auto x : v)
            total += x;
        return total;
    });
    ep.serve(count_chars, [](std::vector<std::string> v) {
        std::uint64_t total = 0;
        for (const auto& s : v)
            total += s.size();
        return total;
    });
    ep.serve(opt_len, [](std::optional<std::vector<std::uint8_t>> v) {
        return v ? static_cast<std::uint64_t>(v->size()) : std::uint64_t{0};
    });
}
}  // namespace hostile_calls

// True when `got == want`; else a failure that names both.
inline ::testing::AssertionResult same_errc(errc got, errc want) {
    if (got == want) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "expected " << to_string(want) << " (" << static_cast<int>(want) << "), got "
           << to_string(got) << " (" << static_cast<int>(got) << ")";
}

// The error an expected carries, or errc::ok for a value.
template <class T>
[[nodiscard]] errc code_of(const expected<T>& e) {
    return e.has_value() ? errc::ok : e.error();
}

// A message the enclave sent, copied out of the ring.
struct wire_message {
    std::uint16_t tag = 0;
    std::vector<std::byte> bytes;
};
struct wire_call {
    std::uint64_t id = 0;
    std::uint64_t method = 0;
    std::vector<std::byte> args;
};
struct wire_reply {
    std::uint64_t id = 0;
    std::uint64_t code = 0;
    std::vector<std::byte> result;
};

// Encodes `values...` with the rpc codec.
template <class... Ts>
std::vector<std::byte> encoded(const Ts&... values) {
    std::vector<std::byte> out;
    rpc::writer w(out);
    rpc::encode_all(w, values...);
    return out;
}
// Appends a little-endian u64.
inline void put_u64(std::vector<std::byte>& out, std::uint64_t v) {
    rpc::writer w(out);
    w.put_u64(v);
}
inline std::uint64_t get_u64(std::span<const std::byte> bytes, std::size_t at) {
    std::uint64_t v = 0;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    return v;
}
// The bytes with the given values, as a test writes raw wire bytes by hand.
inline std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v)
        out.push_back(static_cast<std::byte>(b));
    return out;
}

// One channel: the enclave's endpoint and the host's raw ring ends.
class raw_channel {
  public:
    static constexpr std::size_t enclave_to_host = 0;
    static constexpr std::size_t host_to_enclave = 1;

    // `pool_bytes` non-zero: a buffer pool of that size each way (pool 0
    // the enclave sends through, pool 1 the host's).
    explicit raw_channel(harness& h, rpc::endpoint_options options = {},
                         std::size_t ring_capacity = std::size_t{1} << 12,
                         std::size_t pool_bytes = 0)
        : region_({ring_capacity, ring_capacity}, 0,
                  pool_bytes == 0 ? std::vector<std::size_t>{}
                                  : std::vector<std::size_t>{pool_bytes, pool_bytes}),
          enclave(h.ex, region_.ring(enclave_to_host), region_.ring(host_to_enclave),
                  {&h.hooks, &h.bell, region_.pool(enclave_to_host), region_.pool(host_to_enclave)},
                  options),
          to_enclave_(region_.ring(host_to_enclave), {.hooks = &h.hooks, .peer_bell = &h.bell}),
          from_enclave_(region_.ring(enclave_to_host),
                        {{.hooks = &h.hooks, .peer_bell = &h.bell}, std::size_t{1} << 22}) {}

    // --- the host writes ---------------------------------------------------

    // Puts one message with any tag into the enclave's incoming ring (as
    // fragments if it is larger than a record). Returns ring_full when the
    // enclave has not made room; ok when it is all in the ring.
    errc try_send_raw(std::uint16_t tag, std::span<const std::byte> bytes) {
        ring::outgoing_message m(tag, bytes);
        auto r = to_enclave_.try_send(m);
        if (r) return errc::ok;
        if (r.error() == errc::ring_full && m.done()) return errc::ok;
        if (r.error() == errc::ring_full) to_enclave_.abandon(m);
        return r.error();
    }
    void send_raw(std::uint16_t tag, std::span<const std::byte> bytes) {
        const errc e = try_send_raw(tag, bytes);
        ASSERT_TRUE(same_errc(e, errc::ok))
            << "the host could not send a message of " << bytes.size() << " bytes with tag " << tag;
    }
    // A call message: [call id][method id][args].
    void send_call(std::uint64_t id, std::uint64_t method, std::span<const std::byte> args = {}) {
        send_raw(rpc::call_tag, call_bytes(id, method, args));
    }
    template <class M, class... A>
    requires rpc::method_descriptor<M>
    void send_call(std::uint64_t id, const M& /*m*/, const A&... args) {
        send_call(id, M::id, encoded(typename M::parameters(args...)));
    }
    // Sends a message of any size, calling `make_room()` (which runs the
    // enclave) whenever the ring is full; false if it faulted or stalled.
    template <class MakeRoom>
    bool send_big(std::uint16_t tag, std::span<const std::byte> bytes, MakeRoom make_room) {
        ring::outgoing_message m(tag, bytes);
        for (int tries = 0; tries < 100'000; ++tries) {
            auto r = to_enclave_.try_send(m);
            if (r || m.done()) return true;
            if (r.error() != errc::ring_full) return false;
            make_room();
        }
        return false;
    }
    // Forges the head index of the enclave's outgoing ring (the host's own
    // index, which the enclave validates on every read).
    void forge_enclave_head(std::uint64_t value) {
        ring::shared::store_release(region_.ring(enclave_to_host).control->head, value);
    }
    // Forges the tail index of the enclave's incoming ring.
    void forge_enclave_tail(std::uint64_t value) {
        ring::shared::store_release(region_.ring(host_to_enclave).control->tail, value);
    }
    // A reply message: [call id][error code][result].
    void send_reply(std::uint64_t id, std::uint64_t code, std::span<const std::byte> result = {}) {
        send_raw(rpc::reply_tag, reply_bytes(id, code, result));
    }
    static std::vector<std::byte> call_bytes(std::uint64_t id, std::uint64_t method,
                                             std::span<const std::byte> args = {}) {
        // Sized once and filled in place (an insert after the header trips
        // a gcc -Warray-bounds false positive at -O3).
        std::vector<std::byte> out(rpc::message_header_bytes + args.size());
        std::memcpy(out.data(), &id, 8);
        std::memcpy(out.data() + 8, &method, 8);
        if (!args.empty()) std::memcpy(out.data() + 16, args.data(), args.size());
        return out;
    }
    static std::vector<std::byte> reply_bytes(std::uint64_t id, std::uint64_t code,
                                              std::span<const std::byte> result = {}) {
        // Sized once and filled in place (an insert after the header trips
        // a gcc -Warray-bounds false positive at -O3).
        std::vector<std::byte> out(rpc::message_header_bytes + result.size());
        std::memcpy(out.data(), &id, 8);
        std::memcpy(out.data() + 8, &code, 8);
        if (!result.empty()) std::memcpy(out.data() + 16, result.data(), result.size());
        return out;
    }

    // --- the host reads ------------------------------------------------------

    // The next message the enclave sent, if any.
    std::optional<wire_message> take() {
        auto m = from_enclave_.try_receive();
        if (!m) {
            EXPECT_TRUE(same_errc(m.error(), errc::ring_empty))
                << "the host's view of the enclave's ring faulted";
            from_enclave_.publish();
            return std::nullopt;
        }
        wire_message out{m->tag, {m->bytes.begin(), m->bytes.end()}};
        from_enclave_.publish();
        return out;
    }
    std::vector<wire_message> take_all() {
        std::vector<wire_message> out;
        while (auto m = take())
            out.push_back(std::move(*m));
        return out;
    }
    // The next message, which must be a call.
    std::optional<wire_call> take_call() {
        auto m = take();
        if (!m) {
            ADD_FAILURE() << "expected a call from the enclave, got nothing";
            return std::nullopt;
        }
        return as_call(*m);
    }
    // The next message, which must be a cancel: the id of the call the
    // enclave gave up on.
    std::optional<std::uint64_t> take_cancel() {
        auto m = take();
        if (!m || m->tag != rpc::cancel_tag || m->bytes.size() != rpc::cancel_message_bytes) {
            ADD_FAILURE() << "expected a cancel from the enclave";
            return std::nullopt;
        }
        return get_u64(m->bytes, 0);
    }
    // The next message, which must be a reply.
    std::optional<wire_reply> take_reply() {
        auto m = take();
        if (!m) {
            ADD_FAILURE() << "expected a reply from the enclave, got nothing";
            return std::nullopt;
        }
        return as_reply(*m);
    }
    static std::optional<wire_call> as_call(const wire_message& m) {
        if (m.tag != rpc::call_tag || m.bytes.size() < rpc::message_header_bytes) {
            ADD_FAILURE() << "expected a call, got tag " << m.tag << " with " << m.bytes.size()
                          << " bytes";
            return std::nullopt;
        }
        return wire_call{
            get_u64(m.bytes, 0), get_u64(m.bytes, 8), {m.bytes.begin() + 16, m.bytes.end()}};
    }
    static std::optional<wire_reply> as_reply(const wire_message& m) {
        if (m.tag != rpc::reply_tag || m.bytes.size() < rpc::message_header_bytes) {
            ADD_FAILURE() << "expected a reply, got tag " << m.tag << " with " << m.bytes.size()
                          << " bytes";
            return std::nullopt;
        }
        return wire_reply{
            get_u64(m.bytes, 0), get_u64(m.bytes, 8), {m.bytes.begin() + 16, m.bytes.end()}};
    }

    // --- the host misbehaves -------------------------------------------------

    // Stores `tail` as the producer index of the enclave's incoming ring.
    void forge_incoming_tail(std::uint64_t tail) {
        ring::shared::store_release(region_.ring(host_to_enclave).control->tail, tail);
    }
    // Stores `head` as the consumer index of the enclave's outgoing ring.
    void forge_outgoing_head(std::uint64_t head) {
        ring::shared::store_release(region_.ring(enclave_to_host).control->head, head);
    }
    [[nodiscard]] std::uint64_t incoming_tail() const {
        return ring::shared::load_acquire(region_.ring(host_to_enclave).control->tail);
    }
    [[nodiscard]] std::uint64_t outgoing_tail() const {
        return ring::shared::load_acquire(region_.ring(enclave_to_host).control->tail);
    }
    [[nodiscard]] ring::ring_view ring(std::size_t i) const { return region_.ring(i); }
    // Pool 0 (the enclave's) or 1 (the host's).
    [[nodiscard]] ring::pool_view pool(std::size_t i) const { return region_.pool(i); }

    void dump() const {
        const auto& s = enclave.stats();
        std::fprintf(stderr,
                     "enclave endpoint: fault %s (ring %s), outstanding %zu, serving %zu, "
                     "calls_sent %llu, replies_received %llu, calls_served %llu, "
                     "replies_dropped %llu, unknown_methods %llu, malformed %llu, "
                     "overloaded %llu\n",
                     std::string(to_string(enclave.fault())).c_str(),
                     std::string(to_string(enclave.ring_fault())).c_str(),
                     enclave.outstanding_calls(), enclave.serving(),
                     static_cast<unsigned long long>(s.calls_sent),
                     static_cast<unsigned long long>(s.replies_received),
                     static_cast<unsigned long long>(s.calls_served),
                     static_cast<unsigned long long>(s.replies_dropped),
                     static_cast<unsigned long long>(s.unknown_methods),
                     static_cast<unsigned long long>(s.malformed),
                     static_cast<unsigned long long>(s.overloaded));
    }

  private:
    test_region region_;

  public:
    rpc::endpoint<rpc::side::enclave> enclave;

  private:
    ring::ring_producer to_enclave_;
    ring::ring_consumer from_enclave_;
};

// What a started enclave coroutine produced, once it finished.
template <class T>
struct outcome {
    std::optional<T> value;
    [[nodiscard]] bool done() const { return value.has_value(); }
};

// The executor with its manual clock, a watchdog, and one channel.
class hostile_host {
  public:
    explicit hostile_host(rpc::endpoint_options options = {},
                          std::size_t ring_capacity = std::size_t{1} << 12,
                          std::size_t pool_bytes = 0)
        : ch(h, options, ring_capacity, pool_bytes) {}

    // Runs rounds until one does nothing; fails the test if that takes more
    // than `max_rounds` (something keeps the executor busy forever).
    std::size_t settle(std::size_t max_rounds = 100000) {
        for (std::size_t i = 0; i < max_rounds; ++i)
            if (h.ex.run_once() == 0) return i;
        ADD_FAILURE() << "the executor did not settle in " << max_rounds << " rounds";
        return max_rounds;
    }
    // Moves the manual clock forward; timers fire in the next round.
    void advance(std::uint64_t ns) { h.hooks.now += ns; }
    [[nodiscard]] std::uint64_t now() const { return h.hooks.now; }

    // Spawns `t` on the executor; the outcome fills in when it finishes.
    template <class T>
    std::shared_ptr<outcome<T>> start(async::task<T> t) {
        auto out = std::make_shared<outcome<T>>();
        h.ex.spawn([](async::task<T> inner, std::shared_ptr<outcome<T>> o) -> async::task<void> {
            o->value.emplace(co_await std::move(inner));
        }(std::move(t), out));
        return out;
    }
    // The same for an rpc call.
    template <async::awaitable A>
    requires(!async::detail::is_task_v<std::remove_cvref_t<A>>) auto start(A&& operation) {
        return start(async::as_task(std::forward<A>(operation)));
    }

    rpc::endpoint<rpc::side::enclave>& enclave() { return ch.enclave; }

    harness h;
    raw_channel ch;

  private:
    // Last: it stops before the channel it reports on is destroyed.
    watchdog dog_{std::chrono::seconds(60), "rpc hostile host test", [this] { ch.dump(); }};
};

// A host whose enclave has room for one call in flight, taken by `first`
// (lookup(1)): the host has read it (`held`) and not answered it, so the
// next call waits for the slot until the host replies to `held->id`.
class one_slot_host : public hostile_host {
  public:
    one_slot_host() : hostile_host(one_slot()) {
        first = start(enclave().call(hostile_calls::lookup, 1));
        settle();
        held = ch.take_call();
    }

    std::shared_ptr<outcome<expected<std::uint64_t>>> first;
    std::optional<wire_call> held;  // check has_value() before use

  private:
    static rpc::endpoint_options one_slot() {
        rpc::endpoint_options options;
        options.max_in_flight = 1;
        return options;
    }
};

}  // namespace airlock::test
