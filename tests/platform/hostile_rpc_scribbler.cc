// SPDX-License-Identifier: Apache-2.0
// Description: while calls go both ways between host and enclave, a host
// thread rewrites words of the shared region (mostly the rings' payload,
// sometimes anything: indices, record headers, doorbells, the region
// header); on sim and on the sealed process platform the enclave never
// crashes or dies, and every call on either side ends, with its value or
// an error, never a hang. Every sixteenth echo is 10,000 bytes, so it and
// its result cross through the buffer pools, which the scribbler hits too
// (HOSTILE-INPUTS #1-#7, #10-#13, #17, #23; the rpc
// layer above the ring-level scribbler of tests/ring/hostile_scribbler.cc).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <thread>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/async/when_all.hh"
#include "airlock/base/sanitizers.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using airlock::async::task;
using platform::platform_kind;

constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t, std::uint64_t)> add{"add"};
constexpr rpc::enclave_method<2, std::string(std::string)> echo{"echo"};
constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> lookup{"lookup"};

constexpr std::size_t ring_capacity = std::size_t{1} << 14;
constexpr std::uint64_t calls_per_caller = 300;
constexpr std::uint64_t call_timeout_ns = 20'000'000;

constexpr std::uint64_t enclave_callers = 4;

// The enclave's callers count their outcomes in the untrusted memory beside
// the region (enclave_config::untrusted_memory, which the scribbler never
// writes), one word each: calls that ended with a value, with an error, and
// callers that finished all their calls. The host reads them at the end.
enum tally_word : std::size_t { values, errors, finished, tally_words };

void count(std::span<std::byte> tally, tally_word w) {
    std::atomic_ref<std::uint64_t>(reinterpret_cast<std::uint64_t*>(tally.data())[w])
        .fetch_add(1, std::memory_order_relaxed);
}
std::uint64_t read(std::span<std::byte> tally, tally_word w) {
    return std::atomic_ref<std::uint64_t>(reinterpret_cast<std::uint64_t*>(tally.data())[w])
        .load(std::memory_order_relaxed);
}

task<void> enclave_caller(rpc::endpoint<rpc::side::enclave>& host, std::span<std::byte> tally,
                          std::uint64_t from) {
    for (std::uint64_t i = 0; i < calls_per_caller; ++i) {
        auto r = co_await host.call(lookup, from + i).with_timeout(call_timeout_ns);
        count(tally, r ? values : errors);
    }
    count(tally, finished);
}

void program(platform::enclave_thread& t) {
    t.host.serve(add, [](std::uint64_t a, std::uint64_t b) { return a + b; });
    t.host.serve(echo, [](std::string s) { return s; });
    for (std::uint64_t c = 0; c < enclave_callers; ++c)
        t.executor.spawn(enclave_caller(t.host, t.untrusted_memory, c << 32));
}

std::uint64_t splitmix(std::uint64_t& s) {
    std::uint64_t z = (s += 0x9E37'79B9'7F4A'7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBull;
    return z ^ (z >> 31);
}

// Rewrites one 8-byte word every few microseconds: three times in four a
// word of a ring's data area (so messages arrive corrupted but framed),
// else any word of the region before its buffer pools (header, ring
// table, doorbells, control blocks, data); and besides, one time in eight,
// a word of a pool the enclave reads (large calls and results cross there).
class region_scribbler {
  public:
    region_scribbler(const ring::region& region, std::uint64_t seed)
        : thread_([this, &region, seed] {
              std::uint64_t s = seed;
              // The pools are far larger than the rest: aimed at "any word"
              // they would take nearly every such write from the rings.
              const std::size_t words =
                  (region.pool_count() != 0
                       ? static_cast<std::size_t>(
                             reinterpret_cast<std::byte*>(region.pool(0).data) - region.base())
                       : region.size()) /
                  8;
              auto* all = reinterpret_cast<std::uint64_t*>(region.base());
              while (!stop_.load(std::memory_order_relaxed)) {
                  const std::uint64_t r = splitmix(s);
                  std::uint64_t* word = nullptr;
                  if (region.pool_count() > 1 && (r >> 60) % 8 == 0) {
                      // Only the pools the enclave reads (host to enclave): the
                      // host reads the others in place, so writing them would
                      // be the host corrupting its own input (and a race in it).
                      const ring::pool_view pool = region.pool(
                          platform::host_to_enclave_ring((r >> 8) % (region.pool_count() / 2)));
                      word =
                          reinterpret_cast<std::uint64_t*>(pool.data) + (r >> 16) % (pool.size / 8);
                  } else if (r % 4 != 0) {
                      const ring::ring_view ring = region.ring((r >> 8) % region.ring_count());
                      word = reinterpret_cast<std::uint64_t*>(ring.data) +
                             (r >> 16) % (ring.capacity / 8);
                  } else {
                      word = all + (r >> 8) % words;
                  }
                  const std::uint64_t value = (r >> 40) % 3 == 0 ? splitmix(s) : (r >> 24) % 4096;
                  std::atomic_ref<std::uint64_t>(*word).store(value, std::memory_order_relaxed);
                  writes_.fetch_add(1, std::memory_order_relaxed);
                  for (int i = 0; i < 2000; ++i)
                      __builtin_ia32_pause();
              }
          }) {}
    ~region_scribbler() { stop(); }
    void stop() {
        stop_.store(true, std::memory_order_relaxed);
        if (thread_.joinable()) thread_.join();
    }
    [[nodiscard]] std::uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
    // Returns once the first word is scribbled, so that the calls run
    // against a region under attack however the threads are scheduled.
    void wait_until_writing() const {
        while (writes() == 0)
            std::this_thread::yield();
    }

  private:
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> writes_{0};
    std::thread thread_;
};

class hostile_rpc_scribbler : public testing::TestWithParam<platform_kind> {};

TEST_P(hostile_rpc_scribbler, calls_both_ways_end_and_the_enclave_lives) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    platform::enclave_config config =
        GetParam() == platform_kind::process ? test::process_config() : platform::enclave_config{};
    config.ring_capacity = ring_capacity;
    config.untrusted_memory = tally_words * 8;
    auto created = platform::enclave::create(config, program);
    ASSERT_TRUE(created.has_value()) << to_string(created.error());
    platform::enclave& e = **created;
    test::watchdog dog(std::chrono::seconds(120), "rpc scribbler");

    auto region = test::host_view_of_region(e);
    ASSERT_TRUE(region.has_value()) << to_string(region.error());

    auto ch = e.open_channel(0);
    ch->endpoint().serve(lookup, [](std::uint64_t x) { return x + 1; });
    std::map<errc, std::uint64_t> outcomes;
    auto caller = [&](std::uint64_t from) -> task<void> {
        for (std::uint64_t i = 0; i < calls_per_caller; ++i) {
            auto r = co_await ch->endpoint().call(add, from, i).with_timeout(call_timeout_ns);
            ++outcomes[r ? errc::ok : r.error()];
            auto s = co_await ch->endpoint()
                         .call(echo, std::string(i % 16 == 15 ? 10'000 : i % 64, 'x'))
                         .with_timeout(call_timeout_ns);
            ++outcomes[s ? errc::ok : s.error()];
        }
    };
    std::uint64_t writes = 0;
    {
        region_scribbler scribbler(*region, 20261205 + static_cast<std::uint64_t>(GetParam()));
        scribbler.wait_until_writing();
        // The host's calls, then its executor serves the enclave's lookups
        // until every enclave caller has finished (the watchdog ends a hang).
        const std::span<std::byte> tally = e.untrusted_memory();
        auto enclave_done = [&]() -> task<void> {
            while (read(tally, finished) < enclave_callers)
                (void)co_await ch->executor().sleep_for(1'000'000);
        };
        async::sync_wait(ch->executor(),
                         async::when_all(caller(0), caller(1), caller(2), enclave_done()));
        scribbler.stop();
        writes = scribbler.writes();
    }
    std::uint64_t ended = 0;
    for (const auto& [code, n] : outcomes) {
        ended += n;
        std::printf("  %s: %llu\n", std::string(to_string(code)).c_str(),
                    static_cast<unsigned long long>(n));
    }
    std::printf("  %llu words scribbled; host endpoint fault: %s\n",
                static_cast<unsigned long long>(writes),
                std::string(to_string(ch->endpoint().fault())).c_str());
    EXPECT_EQ(ended, 3 * 2 * calls_per_caller) << "every call ended";
    const std::span<std::byte> tally = e.untrusted_memory();
    std::printf("  enclave callers: %llu values, %llu errors\n",
                static_cast<unsigned long long>(read(tally, values)),
                static_cast<unsigned long long>(read(tally, errors)));
    EXPECT_EQ(read(tally, finished), enclave_callers) << "an enclave caller did not finish";
    EXPECT_EQ(read(tally, values) + read(tally, errors), enclave_callers * calls_per_caller)
        << "every enclave call ended, with a value or an error, once";
    EXPECT_GT(writes, 0u);
    EXPECT_EQ(e.failure(), errc::ok) << e.diagnostic();
}

// ThreadSanitizer does not support the forked, sandboxed enclave process:
// under it the scribbler runs on sim only (a skip would fail the suite).
#if AIRLOCK_TSAN
const auto scribbled_platforms = testing::Values(platform_kind::sim);
#else
const auto scribbled_platforms = testing::Values(platform_kind::sim, platform_kind::process);
#endif
INSTANTIATE_TEST_SUITE_P(platforms, hostile_rpc_scribbler, scribbled_platforms,
                         [](const auto& p) { return test::platform_name(p.param); });

}  // namespace
