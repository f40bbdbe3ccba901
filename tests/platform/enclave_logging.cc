// SPDX-License-Identifier: Apache-2.0
// Description: enclave code logs through airlock::log on sim and on the
// sealed process platform (where printf would stop it): records reach the
// host's sink with their level, text and enclave thread, in one stream with
// the host's own; a burst larger than the ring never blocks the enclave,
// and every record is either delivered or counted as dropped.
#include <gtest/gtest.h>

#include <condition_variable>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/platform/log.hh"
#include "platform/process_support.hh"

namespace {

using namespace airlock;
using platform::platform_kind;

constexpr rpc::enclave_method<1, void(std::uint64_t)> log_hello{"log_hello"};
constexpr rpc::enclave_method<2, std::uint64_t(std::uint64_t)> log_burst{"log_burst"};

void program(platform::enclave_thread& t) {
    t.host.serve(log_hello, [](std::uint64_t n) {
        log::info("hello %llu from the enclave", static_cast<unsigned long long>(n));
        log::warning("a warning");
    });
    // Logs n records and answers how many this thread dropped in all.
    t.host.serve(log_burst, [](std::uint64_t n) {
        for (std::uint64_t i = 0; i < n; ++i)
            log::debug("burst record %llu with some text to fill the ring faster",
                       static_cast<unsigned long long>(i));
        return log::dropped();
    });
}

struct captured {
    std::mutex mutex;
    std::condition_variable arrived;
    std::vector<log::record> records;
    std::vector<std::string> texts;
    std::uint64_t dropped = 0;
    static void sink(void* self, const log::record& r) noexcept {
        auto& c = *static_cast<captured*>(self);
        std::lock_guard lock(c.mutex);
        c.records.push_back(r);
        c.texts.emplace_back(r.text);
        c.dropped += r.dropped_before;
        c.arrived.notify_all();
    }
    // Waits until `pred` holds over the texts, woken by each record (the
    // bound only ends a test whose records never come).
    template <class P>
    bool wait_for(P pred) {
        std::unique_lock lock(mutex);
        return arrived.wait_for(lock, std::chrono::seconds(20), pred);
    }
};

class enclave_logging : public ::testing::TestWithParam<platform_kind> {};

TEST_P(enclave_logging, records_reach_the_host_sink_with_level_text_and_thread) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    captured c;
    log::set_sink(&captured::sink, &c);
    {
        platform::enclave_config config = test::process_config(2);
        config.platform = GetParam();
        auto e = platform::enclave::create(config, &program);
        ASSERT_TRUE(e.has_value()) << to_string(e.error());
        {
            auto ch = (*e)->open_channel(1);
            log::info("host before");
            auto r = async::sync_wait(ch->executor(), ch->endpoint().call(log_hello, 7));
            ASSERT_TRUE(r.has_value()) << to_string(r.error()) << (*e)->diagnostic();
        }
        ASSERT_TRUE(c.wait_for([&] { return c.texts.size() >= 3; }));
        EXPECT_EQ((*e)->failure(), errc::ok) << (*e)->diagnostic();
    }
    log::set_sink(nullptr);
    ASSERT_EQ(c.records.size(), 3u);
    EXPECT_EQ(c.texts[0], "host before");
    EXPECT_EQ(c.records[0].origin, log::from_host);
    EXPECT_EQ(c.texts[1], "hello 7 from the enclave");
    EXPECT_EQ(c.records[1].origin, 1);
    EXPECT_EQ(c.records[1].level, log::level::info);
    EXPECT_EQ(c.texts[2], "a warning");
    EXPECT_EQ(c.records[2].level, log::level::warning);
}

TEST_P(enclave_logging, a_burst_never_blocks_and_every_record_is_delivered_or_counted) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    captured c;
    log::set_sink(&captured::sink, &c);
    constexpr std::uint64_t burst = 20'000;  // far more than a log ring holds
    std::uint64_t dropped = 0;
    {
        platform::enclave_config config = test::process_config(1);
        config.platform = GetParam();
        auto e = platform::enclave::create(config, &program);
        ASSERT_TRUE(e.has_value()) << to_string(e.error());
        auto ch = (*e)->open_channel(0);
        auto r = async::sync_wait(ch->executor(), ch->endpoint().call(log_burst, burst));
        ASSERT_TRUE(r.has_value()) << to_string(r.error()) << (*e)->diagnostic();
        dropped = *r;
        // Logs one more record until one gets through, carrying the count.
        std::uint64_t extra = 0;
        for (; extra < 10'000; ++extra) {
            auto more = async::sync_wait(ch->executor(), ch->endpoint().call(log_burst, 1));
            ASSERT_TRUE(more.has_value());
            dropped = *more;
            // A record that was dropped shows only in a later one's count:
            // poll, paced, rather than wait for a record that may not come.
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            std::lock_guard lock(c.mutex);
            if (c.texts.size() + c.dropped == burst + extra + 1) break;
        }
        EXPECT_EQ((*e)->failure(), errc::ok) << (*e)->diagnostic();
        std::lock_guard lock(c.mutex);
        EXPECT_GT(dropped, 0u) << "the burst fit the ring: make it larger";
        EXPECT_EQ(c.texts.size() + c.dropped, burst + extra + 1);
        EXPECT_EQ(c.dropped, dropped);
        ch.reset();
    }
    log::set_sink(nullptr);
}

INSTANTIATE_TEST_SUITE_P(platforms, enclave_logging,
                         ::testing::Values(platform_kind::sim, platform_kind::process),
                         [](const auto& p) { return test::platform_name(p.param); });

}  // namespace
