// SPDX-License-Identifier: Apache-2.0
// Description: three host threads and three enclave threads call each other
// at once from thousands of coroutines over 16 KiB rings; every call is
// served exactly once and answered with the result its own arguments
// determine, and at the end no call is outstanding and no coroutine frame
// is alive on either side.
//
// Each host thread opens one channel and runs 1024 coroutines that call the
// enclave: `scramble` is served by a synchronous handler, `scramble_via_host`
// by a coroutine handler that makes one or two nested ocalls before it
// replies. Meanwhile 512 coroutines on each enclave thread call the host,
// whose handlers are synchronous (`host_scramble`) or coroutines that yield
// before they reply (`host_scramble_later`), so replies come back out of
// order in both directions, and calls wait in line for call slots on both.
// Argument sizes come from a seeded PRNG (test::message_stream): mostly
// 0..96 bytes, about one in a hundred 1 KiB..64 KiB, which travel as
// fragments of a 16 KiB ring. Every server checks the bytes it received;
// every result is a digest of (handler, key, size, channel) plus the
// argument bytes put through a keyed transform, so a reply delivered to the
// wrong call, a call served on the wrong channel, or a corrupted payload
// fails a check. The test runs twice: with the default idle wait (spin,
// yield, park) and with executors that park at once, so that every idle
// moment goes through the doorbell handshake and a lost wake-up hangs (and
// the watchdog reports it). Calls per coroutine scale with
// AIRLOCK_STRESS_SCALE; the number of coroutines does not (the concurrency
// is the point).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "support/message_stream.hh"
#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using bytes = std::vector<std::byte>;
// A digest of what the server knew, and the transformed argument bytes.
using scrambled = std::pair<std::uint64_t, bytes>;

constexpr std::size_t channels = 3;
constexpr std::size_t ring_capacity = 16 * 1024;
constexpr std::uint64_t host_callers = 1024;    // coroutines per host thread
constexpr std::uint64_t enclave_callers = 512;  // coroutines per enclave thread

const test::message_stream sizes{.seed = 20260314,
                                 .small_max = 96,
                                 .large_min = 1024,
                                 .large_max = 4 * ring_capacity,
                                 .large_per_65536 = 640};

// What an enclave thread says about itself at the end. Only 8-byte counters,
// so every bit pattern is valid and it opts in to the codec's byte copy.
struct enclave_report {
    std::uint64_t scrambles_served = 0;  // by the synchronous handler
    std::uint64_t nested_served = 0;     // by the coroutine handler
    std::uint64_t nested_ocalls = 0;     // made by those
    std::uint64_t caller_calls_ok = 0;   // calls of the enclave's own coroutines, checked
    std::uint64_t empty_arguments = 0;   // ... of which had 0 bytes of argument
    std::uint64_t large_arguments = 0;   // ... of which had more than a ring
    std::uint64_t bad = 0;               // arguments or results that failed a check
    std::uint64_t first_bad_key = 0;
    // The endpoint's and the executor's counters when the report was made.
    std::uint64_t calls_served = 0;
    std::uint64_t calls_sent = 0;
    std::uint64_t replies_received = 0;
    std::uint64_t replies_dropped = 0;
    std::uint64_t unknown_methods = 0;
    std::uint64_t malformed = 0;
    std::uint64_t overloaded = 0;
    std::uint64_t outstanding_calls = 0;
    std::uint64_t serving = 0;
    std::uint64_t spawned = 0;
    std::uint64_t live_frames = 0;
    std::uint64_t task_failures = 0;
};

}  // namespace

template <>
inline constexpr bool airlock::rpc::copy_as_bytes<enclave_report> = true;

namespace {

// The calls, declared once for both sides.
constexpr rpc::enclave_method<1, scrambled(std::uint64_t, std::span<const std::byte>)> scramble{
    "scramble"};
constexpr rpc::enclave_method<2, scrambled(std::uint64_t, std::span<const std::byte>)>
    scramble_via_host{"scramble_via_host"};
// Starts `coroutines` enclave coroutines making `calls` ocalls each.
constexpr rpc::enclave_method<3, void(std::uint64_t, std::uint64_t)> start_callers{"start_callers"};
constexpr rpc::enclave_method<4, enclave_report()> report{"report"};
constexpr rpc::host_method<1, scrambled(std::uint64_t, std::span<const std::byte>)> host_scramble{
    "host_scramble"};
constexpr rpc::host_method<2, scrambled(std::uint64_t, std::span<const std::byte>)>
    host_scramble_later{"host_scramble_later"};
// The enclave's coroutines are all done; how many of their calls checked out.
constexpr rpc::host_method<3, void(std::uint64_t)> callers_finished{"callers_finished"};

// --- what every party computes the same way ----------------------------------

constexpr std::uint64_t from_host = 1;
constexpr std::uint64_t from_enclave = 2;

// Unique per call: who made it, on which channel, which coroutine, which call.
// Bits 56..59 stay free for the hop of a nested ocall.
constexpr std::uint64_t make_key(std::uint64_t origin, std::uint64_t channel,
                                 std::uint64_t coroutine, std::uint64_t call) {
    return (origin << 60) | (channel << 52) | (coroutine << 24) | call;
}
constexpr std::uint64_t hop_key(std::uint64_t key, std::uint64_t hop) {
    return key | ((hop + 1) << 56);
}
constexpr std::uint64_t outer_key(std::uint64_t key) {
    return key & ~(std::uint64_t{0xf} << 56);
}
constexpr std::uint64_t hop_of(std::uint64_t key) {
    return (key >> 56) & 0xf;  // 0: not a nested ocall
}

// Choices drawn from the key, so that caller and server agree.
std::uint64_t draw(std::uint64_t key) {
    return test::splitmix64(key ^ 0x5eed'ca11'0000'0000ull);
}
bool goes_nested(std::uint64_t key) {
    return (draw(key) & 1) != 0;
}
std::uint64_t hops_of(std::uint64_t key) {
    return 1 + ((draw(key) >> 1) & 1);
}
bool host_replies_later(std::uint64_t key) {
    return (draw(key) & 4) != 0;
}
std::uint64_t yields_of(std::uint64_t key) {
    return 1 + ((draw(key) >> 3) % 3);
}

enum class server : std::uint64_t { enclave_sync = 1, enclave_nested, host_sync, host_later };

std::uint64_t digest(server s, std::uint64_t key, std::size_t size, std::size_t channel) {
    const std::uint64_t what = (static_cast<std::uint64_t>(s) << 56) ^ (channel << 40) ^ size;
    return test::splitmix64(key ^ test::splitmix64(what));
}

// Keyed and position-dependent: the same bytes under another key differ.
void transform(std::uint64_t key, bytes& v) {
    const std::uint64_t k = test::splitmix64(key);
    for (std::size_t i = 0; i < v.size(); ++i)
        v[i] ^= static_cast<std::byte>((k >> (8 * (i & 7))) + (i >> 3));
}

// The bytes a server of the call with `key` must receive: the caller's
// pattern, put through the transforms of the hops before this one.
bytes expected_argument(std::uint64_t key, std::size_t size) {
    const std::uint64_t outer = outer_key(key);
    bytes v = test::pattern(size, outer);
    for (std::uint64_t hop = 0; hop + 1 < hop_of(key); ++hop)
        transform(hop_key(outer, hop), v);
    return v;
}

// --- the enclave --------------------------------------------------------------

// Progress counters for the watchdog's dump (the only state other threads read).
struct enclave_progress {
    std::atomic<std::uint64_t> ecalls{0};
    std::atomic<std::uint64_t> ocalls{0};
    std::atomic<std::uint64_t> callers_done{0};
};
std::array<enclave_progress, channels> enclave_progress_of;

// One enclave thread's state; its handlers and coroutines share it.
struct enclave_state {
    explicit enclave_state(platform::enclave_thread& t)
        : index(t.index), ex(t.executor), ep(t.host), progress(enclave_progress_of[t.index]) {}
    void bad(std::uint64_t key) {
        if (counts.bad++ == 0) counts.first_bad_key = key;
    }
    std::size_t index;
    async::executor& ex;
    rpc::endpoint<rpc::side::enclave>& ep;
    enclave_progress& progress;
    enclave_report counts{};
    std::uint64_t callers = 0;
    std::uint64_t callers_done = 0;
};

// A host call with `bytes` as its argument, to either host handler.
task<expected<scrambled>> call_host(rpc::endpoint<rpc::side::enclave>& ep, bool later,
                                    std::uint64_t key, const bytes& argument) {
    return later ? ep.call(host_scramble_later, key, argument)
                 : ep.call(host_scramble, key, argument);
}

bool host_result_ok(const expected<scrambled>& r, bool later, std::uint64_t key, std::size_t size,
                    std::size_t channel) {
    return r.has_value() &&
           r->first == digest(later ? server::host_later : server::host_sync, key, size, channel) &&
           r->second.size() == size;
}

task<void> enclave_caller(std::shared_ptr<enclave_state> s, std::uint64_t coroutine,
                          std::uint64_t calls) {
    for (std::uint64_t n = 0; n < calls; ++n) {
        const std::uint64_t key = make_key(from_enclave, s->index, coroutine, n);
        const std::size_t size = sizes.size_of(key);
        const bool later = host_replies_later(key);
        const expected<scrambled> r =
            co_await call_host(s->ep, later, key, test::pattern(size, key));
        s->progress.ocalls.fetch_add(1, std::memory_order_relaxed);
        bytes want = test::pattern(size, key);
        transform(key, want);
        if (host_result_ok(r, later, key, size, s->index) && r->second == want) {
            ++s->counts.caller_calls_ok;
            s->counts.empty_arguments += size == 0 ? 1 : 0;
            s->counts.large_arguments += size > ring_capacity ? 1 : 0;
        } else {
            s->bad(key);
        }
    }
    s->progress.callers_done.fetch_add(1, std::memory_order_relaxed);
    if (++s->callers_done == s->callers) {
        // The last one tells the host; its own reply is the enclave's last.
        if (!co_await s->ep.call(callers_finished, s->counts.caller_calls_ok)) s->bad(0);
    }
}

void enclave_program(platform::enclave_thread& t) {
    auto s = std::make_shared<enclave_state>(t);
    t.host.serve(scramble, [s](std::uint64_t key, bytes data) -> expected<scrambled> {
        ++s->counts.scrambles_served;
        s->progress.ecalls.fetch_add(1, std::memory_order_relaxed);
        if (data != expected_argument(key, data.size())) {
            s->bad(key);
            return unexpected(errc::rpc_decode);
        }
        const std::size_t size = data.size();
        transform(key, data);
        return scrambled{digest(server::enclave_sync, key, size, s->index), std::move(data)};
    });
    t.host.serve(scramble_via_host,
                 [s](std::uint64_t key, bytes data) -> task<expected<scrambled>> {
                     ++s->counts.nested_served;
                     if (data != expected_argument(key, data.size())) {
                         s->bad(key);
                         co_return unexpected(errc::rpc_decode);
                     }
                     const std::size_t size = data.size();
                     for (std::uint64_t hop = 0; hop < hops_of(key); ++hop) {
                         const std::uint64_t k = hop_key(key, hop);
                         const bool later = host_replies_later(k);
                         expected<scrambled> r = co_await call_host(s->ep, later, k, data);
                         ++s->counts.nested_ocalls;
                         if (!host_result_ok(r, later, k, size, s->index)) {
                             s->bad(k);
                             co_return unexpected(r ? errc::rpc_result_out_of_contract : r.error());
                         }
                         data = std::move(r->second);
                     }
                     transform(key, data);
                     s->progress.ecalls.fetch_add(1, std::memory_order_relaxed);
                     co_return scrambled{digest(server::enclave_nested, key, size, s->index),
                                         std::move(data)};
                 });
    t.host.serve(start_callers, [s](std::uint64_t coroutines, std::uint64_t calls) {
        s->callers = coroutines;
        for (std::uint64_t c = 0; c < coroutines; ++c)
            s->ex.spawn(enclave_caller(s, c, calls));
    });
    t.host.serve(report, [s] {
        enclave_report r = s->counts;
        const rpc::endpoint_stats& st = s->ep.stats();
        r.calls_served = st.calls_served;
        r.calls_sent = st.calls_sent;
        r.replies_received = st.replies_received;
        r.replies_dropped = st.replies_dropped;
        r.unknown_methods = st.unknown_methods;
        r.malformed = st.malformed;
        r.overloaded = st.overloaded;
        r.outstanding_calls = s->ep.outstanding_calls();
        r.serving = s->ep.serving();
        r.spawned = s->ex.spawned();
        r.live_frames = s->ex.frame_stats().live_frames;
        r.task_failures = s->ex.stats().failures;
        return r;
    });
}

// --- the host -----------------------------------------------------------------

struct host_progress {
    std::atomic<std::uint64_t> ecalls{0};
    std::atomic<std::uint64_t> ocalls_served{0};
    std::atomic<std::uint64_t> callers_done{0};
    std::atomic<bool> enclave_finished{false};
};
std::array<host_progress, channels> host_progress_of;

// What one host thread saw; the test body reads it after joining the thread.
struct host_outcome {
    std::uint64_t calls_ok = 0;
    std::uint64_t calls_bad = 0;
    std::string first_failure;
    std::uint64_t plain_calls = 0;
    std::uint64_t nested_calls = 0;
    std::uint64_t nested_hops = 0;  // the ocalls the nested calls make
    std::uint64_t empty_arguments = 0;
    std::uint64_t large_arguments = 0;
    std::uint64_t served_sync = 0;
    std::uint64_t served_later = 0;
    std::uint64_t bad_arguments = 0;
    std::uint64_t callers_done = 0;
    bool enclave_finished = false;
    std::uint64_t enclave_calls_ok = 0;  // as callers_finished reported it
    std::uint64_t report_calls = 0;
    expected<enclave_report> enclave = unexpected(errc::broken_promise);
    rpc::endpoint_stats stats{};
    std::uint64_t outstanding_calls = 0;
    std::uint64_t serving = 0;
    std::uint64_t spawned = 0;
    std::uint64_t live_frames = 0;
    std::uint64_t task_failures = 0;

    void fail(std::string what) {
        if (calls_bad++ == 0) first_failure = std::move(what);
    }
};

using host_endpoint = rpc::endpoint<rpc::side::host>;

task<void> host_caller(host_endpoint& ep, host_outcome& out, host_progress& progress,
                       std::size_t channel, std::uint64_t coroutine, std::uint64_t calls) {
    for (std::uint64_t n = 0; n < calls; ++n) {
        const std::uint64_t key = make_key(from_host, channel, coroutine, n);
        const std::size_t size = sizes.size_of(key);
        const bool nested = goes_nested(key);
        const bytes argument = test::pattern(size, key);
        bytes want = argument;
        if (nested) {
            for (std::uint64_t hop = 0; hop < hops_of(key); ++hop)
                transform(hop_key(key, hop), want);
            ++out.nested_calls;
            out.nested_hops += hops_of(key);
        } else {
            ++out.plain_calls;
        }
        transform(key, want);
        out.empty_arguments += size == 0 ? 1 : 0;
        out.large_arguments += size > ring_capacity ? 1 : 0;
        // Not `co_await (c ? a : b)`: gcc 12 destroys a temporary task in a
        // conditional operand of co_await twice.
        task<expected<scrambled>> pending =
            nested ? ep.call(scramble_via_host, key, argument) : ep.call(scramble, key, argument);
        const expected<scrambled> r = co_await std::move(pending);
        progress.ecalls.fetch_add(1, std::memory_order_relaxed);
        const auto call = [&] {
            return "channel " + std::to_string(channel) + ", call " + std::to_string(key) + " (" +
                   std::to_string(size) + " bytes, " + (nested ? "nested" : "plain") + "): ";
        };
        if (!r) {
            out.fail(call() + "expected a result, got " + std::string(to_string(r.error())));
            continue;
        }
        const std::uint64_t want_digest =
            digest(nested ? server::enclave_nested : server::enclave_sync, key, size, channel);
        if (r->first != want_digest) {
            out.fail(call() + "digest expected " + std::to_string(want_digest) + ", got " +
                     std::to_string(r->first));
        } else if (r->second.size() != size) {
            out.fail(call() + "result size expected " + std::to_string(size) + ", got " +
                     std::to_string(r->second.size()));
        } else if (r->second != want) {
            std::size_t at = 0;
            while (r->second[at] == want[at])
                ++at;
            out.fail(call() + "result byte " + std::to_string(at) + " expected " +
                     std::to_string(static_cast<int>(want[at])) + ", got " +
                     std::to_string(static_cast<int>(r->second[at])));
        } else {
            ++out.calls_ok;
        }
    }
    ++out.callers_done;
    progress.callers_done.fetch_add(1, std::memory_order_relaxed);
}

task<void> start_enclave_callers(host_endpoint& ep, host_outcome& out, std::uint64_t calls) {
    const expected<void> r = co_await ep.call(start_callers, enclave_callers, calls);
    if (!r) {
        out.fail("start_callers: expected ok, got " + std::string(to_string(r.error())));
        out.enclave_finished = true;  // nobody will say so: do not wait for it
    }
}

// The enclave thread's report once it has gone quiet. The last replies of
// both sides may still be on their way when the host's own calls are done,
// so it asks again (after a yield) until no task is left on the enclave.
task<expected<enclave_report>> settled_report(host_endpoint& ep, async::executor& ex,
                                              host_outcome& out) {
    for (;;) {
        expected<enclave_report> r = co_await ep.call(report);
        ++out.report_calls;
        if (!r || r->spawned == 0) co_return r;
        co_await ex.schedule();
    }
}

void run_host(platform::enclave& enclave, std::size_t channel,
              const async::executor_options& options, std::uint64_t calls_each,
              std::uint64_t enclave_calls_each, host_outcome& out) {
    host_progress& progress = host_progress_of[channel];
    const auto check_argument = [&out](std::uint64_t key, const bytes& data) {
        if (data == expected_argument(key, data.size())) return true;
        ++out.bad_arguments;
        return false;
    };
    auto ch = enclave.open_channel(channel, options);
    async::executor& ex = ch->executor();
    host_endpoint& ep = ch->endpoint();
    ep.serve(host_scramble, [&, channel](std::uint64_t key, bytes data) -> expected<scrambled> {
        ++out.served_sync;
        progress.ocalls_served.fetch_add(1, std::memory_order_relaxed);
        if (!check_argument(key, data)) return unexpected(errc::rpc_decode);
        const std::size_t size = data.size();
        transform(key, data);
        return scrambled{digest(server::host_sync, key, size, channel), std::move(data)};
    });
    ep.serve(
        host_scramble_later,
        [&, channel](std::uint64_t key, bytes data) -> task<expected<scrambled>> {
            ++out.served_later;
            if (!check_argument(key, data)) co_return unexpected(errc::rpc_decode);
            // Let later calls overtake this one: replies leave out of order.
            for (std::uint64_t i = 0; i < yields_of(key); ++i)
                co_await ex.schedule();
            const std::size_t size = data.size();
            transform(key, data);
            progress.ocalls_served.fetch_add(1, std::memory_order_relaxed);
            co_return scrambled{digest(server::host_later, key, size, channel), std::move(data)};
        });
    ep.serve(callers_finished, [&](std::uint64_t calls_ok) {
        out.enclave_calls_ok = calls_ok;
        out.enclave_finished = true;
        progress.enclave_finished.store(true, std::memory_order_relaxed);
    });

    // Both directions at once: the enclave's coroutines start with the host's.
    ex.spawn(start_enclave_callers(ep, out, enclave_calls_each));
    for (std::uint64_t c = 0; c < host_callers; ++c)
        ex.spawn(host_caller(ep, out, progress, channel, c, calls_each));
    ex.run_until([&] { return out.callers_done == host_callers && out.enclave_finished; });

    out.enclave = async::sync_wait(ex, settled_report(ep, ex, out));
    // Replies this side sent may still have coroutines to finish.
    ex.run_until([&] { return ex.spawned() == 0; });
    out.stats = ep.stats();
    out.outstanding_calls = ep.outstanding_calls();
    out.serving = ep.serving();
    out.spawned = ex.spawned();
    out.live_frames = ex.frame_stats().live_frames;
    out.task_failures = ex.stats().failures;
}

std::uint64_t scaled_calls(double at_full_scale) {
    // At least two calls per coroutine, so that each coroutine reuses a slot.
    return std::max<std::uint64_t>(
        2, static_cast<std::uint64_t>(std::llround(at_full_scale * test::stress_scale())));
}

void dump_progress() {
    for (std::size_t i = 0; i < channels; ++i) {
        const host_progress& h = host_progress_of[i];
        const enclave_progress& e = enclave_progress_of[i];
        std::fprintf(stderr,
                     "channel %zu: host: %llu ecalls answered, %llu/%llu callers done, %llu "
                     "ocalls served, enclave finished: %d; enclave: %llu ecalls served, %llu "
                     "ocalls answered, %llu/%llu callers done\n",
                     i, static_cast<unsigned long long>(h.ecalls.load()),
                     static_cast<unsigned long long>(h.callers_done.load()),
                     static_cast<unsigned long long>(host_callers),
                     static_cast<unsigned long long>(h.ocalls_served.load()),
                     h.enclave_finished.load() ? 1 : 0,
                     static_cast<unsigned long long>(e.ecalls.load()),
                     static_cast<unsigned long long>(e.ocalls.load()),
                     static_cast<unsigned long long>(e.callers_done.load()),
                     static_cast<unsigned long long>(enclave_callers));
    }
}

// How the executors of both sides idle.
// How the executors of both sides idle; and whether large arguments cross
// through buffer pools (bytes each way, 0: none), small enough that some
// find them full and stream instead.
struct wait_strategy {
    std::string name;
    std::uint32_t spin_iterations;
    std::uint32_t yield_iterations;
    std::size_t pool_bytes = 0;
};

std::string strategy_name(const testing::TestParamInfo<wait_strategy>& info) {
    return info.param.name;
}

class stress_calls : public testing::TestWithParam<wait_strategy> {};

TEST_P(stress_calls, thousands_of_coroutines_call_both_ways_on_every_channel) {
    const std::uint64_t calls_each = scaled_calls(48);
    const std::uint64_t enclave_calls_each = scaled_calls(32);
    async::executor_options executor;
    executor.spin_iterations = GetParam().spin_iterations;
    executor.yield_iterations = GetParam().yield_iterations;
    for (std::size_t i = 0; i < channels; ++i) {
        host_progress_of[i].ecalls = 0;
        host_progress_of[i].ocalls_served = 0;
        host_progress_of[i].callers_done = 0;
        host_progress_of[i].enclave_finished = false;
        enclave_progress_of[i].ecalls = 0;
        enclave_progress_of[i].ocalls = 0;
        enclave_progress_of[i].callers_done = 0;
    }
    const std::uint64_t orphaned_before = async::frame_pool::orphaned_pools();
    test::watchdog dog(std::chrono::seconds(120), "stress_calls." + GetParam().name, dump_progress);

    platform::enclave_config config;
    config.enclave_threads = channels;
    config.ring_capacity = ring_capacity;
    config.executor = executor;
    config.pool_bytes = GetParam().pool_bytes;
    config.rpc.pool_threshold = 2048;
    auto enclave = platform::enclave::create(config, enclave_program);
    ASSERT_TRUE(enclave.has_value()) << to_string(enclave.error());

    std::array<host_outcome, channels> outcomes;
    std::vector<std::thread> hosts;
    for (std::size_t i = 0; i < channels; ++i)
        hosts.emplace_back([&, i] {
            run_host(**enclave, i, executor, calls_each, enclave_calls_each, outcomes[i]);
        });
    for (std::thread& t : hosts)
        t.join();
    enclave->reset();  // stops and joins the enclave threads

    std::uint64_t empty = 0;
    std::uint64_t large = 0;
    for (std::size_t i = 0; i < channels; ++i) {
        SCOPED_TRACE("channel " + std::to_string(i));
        const host_outcome& h = outcomes[i];
        const std::uint64_t host_calls = host_callers * calls_each;
        const std::uint64_t enclave_calls = enclave_callers * enclave_calls_each;

        // Every host call came back with its own result.
        EXPECT_EQ(h.calls_bad, 0u) << "first failure: " << h.first_failure;
        EXPECT_EQ(h.calls_ok, host_calls);
        EXPECT_EQ(h.callers_done, host_callers);
        EXPECT_EQ(h.plain_calls + h.nested_calls, host_calls);
        EXPECT_EQ(h.bad_arguments, 0u) << "ocalls whose argument bytes arrived changed";
        ASSERT_TRUE(h.enclave_finished);
        EXPECT_EQ(h.enclave_calls_ok, enclave_calls) << "the enclave's calls that checked out";

        ASSERT_TRUE(h.enclave.has_value()) << to_string(h.enclave.error());
        const enclave_report& e = *h.enclave;
        EXPECT_EQ(e.bad, 0u) << "first bad key " << e.first_bad_key;
        EXPECT_EQ(e.caller_calls_ok, enclave_calls);
        // Served exactly once, each by the handler its method names.
        EXPECT_EQ(e.scrambles_served, h.plain_calls);
        EXPECT_EQ(e.nested_served, h.nested_calls);
        EXPECT_EQ(e.nested_ocalls, h.nested_hops);
        EXPECT_EQ(h.served_sync + h.served_later, h.nested_hops + enclave_calls);
        // The ecalls: the host's, start_callers, and the reports before this one.
        EXPECT_EQ(e.calls_served, host_calls + 1 + (h.report_calls - 1));
        // The ocalls: the nested hops, the enclave coroutines', callers_finished.
        EXPECT_EQ(e.calls_sent, h.nested_hops + enclave_calls + 1);
        EXPECT_EQ(e.replies_received, e.calls_sent);
        EXPECT_EQ(h.stats.calls_served, e.calls_sent);
        EXPECT_EQ(h.stats.calls_sent, host_calls + 1 + h.report_calls);
        EXPECT_EQ(h.stats.replies_received, h.stats.calls_sent);
        EXPECT_EQ(e.calls_served + 1, h.stats.calls_sent) << "all but the last report";
        // Nothing lost, refused or left over on either side.
        EXPECT_EQ(e.replies_dropped, 0u);
        EXPECT_EQ(e.unknown_methods, 0u);
        EXPECT_EQ(e.malformed, 0u);
        EXPECT_EQ(e.overloaded, 0u);
        EXPECT_EQ(e.outstanding_calls, 0u);
        EXPECT_EQ(e.serving, 1u) << "only the report itself";
        EXPECT_EQ(e.spawned, 0u);
        EXPECT_EQ(e.live_frames, 0u) << "enclave coroutine frames still alive";
        EXPECT_EQ(e.task_failures, 0u);
        EXPECT_EQ(h.stats.replies_dropped, 0u);
        EXPECT_EQ(h.stats.unknown_methods, 0u);
        EXPECT_EQ(h.stats.malformed, 0u);
        EXPECT_EQ(h.stats.overloaded, 0u);
        EXPECT_EQ(h.outstanding_calls, 0u);
        EXPECT_EQ(h.serving, 0u);
        EXPECT_EQ(h.spawned, 0u);
        EXPECT_EQ(h.live_frames, 0u) << "host coroutine frames still alive";
        EXPECT_EQ(h.task_failures, 0u);
        if (GetParam().pool_bytes != 0) {
            EXPECT_GT(h.stats.pooled_sent, 0u) << "no host call went through the pool";
            EXPECT_GT(h.stats.pooled_received, 0u) << "no enclave call came through the pool";
        }
        empty += h.empty_arguments + e.empty_arguments;
        large += h.large_arguments + e.large_arguments;
    }
    // The sizes did reach both edges.
    EXPECT_GT(empty, 0u) << "no call had a 0-byte argument";
    EXPECT_GT(large, 0u) << "no call had an argument larger than a ring";
    EXPECT_EQ(async::frame_pool::orphaned_pools(), orphaned_before)
        << "an executor died with frames of its pool alive";
}

INSTANTIATE_TEST_SUITE_P(wait, stress_calls,
                         testing::Values(wait_strategy{"spin_yield_park",
                                                       async::executor_options{}.spin_iterations,
                                                       async::executor_options{}.yield_iterations},
                                         wait_strategy{"park_at_once", 0, 0},
                                         wait_strategy{"pooled_park_at_once", 0, 0, 128 << 10}),
                         strategy_name);

}  // namespace
