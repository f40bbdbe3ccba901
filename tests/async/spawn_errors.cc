// SPDX-License-Identifier: Apache-2.0
// Description: spawned tasks run detached; an exception or an error value
// they end with reaches the executor's error handler (default: printed and
// counted), never lost; successes are not reported.
#include <stdexcept>
#include <string>
#include <vector>

#include "airlock/async/executor.hh"
#include "airlock/async/sync_wait.hh"
#include "async/async_support.hh"

using namespace airlock;
using namespace airlock::async;

namespace {

struct recorded {
    std::vector<std::string> messages;
    std::vector<errc> codes;
};

void record(void* context, const task_failure& f) noexcept {
    auto& r = *static_cast<recorded*>(context);
    if (f.exception) {
        try {
            std::rethrow_exception(f.exception);
        } catch (const std::exception& e) {
            r.messages.emplace_back(e.what());
        }
    } else {
        r.codes.push_back(f.code);
    }
}

task<void> fails(executor& ex, std::string what) {
    co_await ex.schedule();  // fail after a suspension, not at the start
    throw std::runtime_error(what);
}

task<expected<int>> returns_error(errc code) {
    co_return unexpected(code);
}

task<expected<void>> returns_ok() {
    co_return expected<void>{};
}

task<void> succeeds(int& runs) {
    ++runs;
    co_return;
}

}  // namespace

TEST(spawn_errors, exceptions_and_error_values_reach_the_handler) {
    recorded r;
    test::harness h;
    h.ex.set_error_handler(&record, &r);
    int runs = 0;
    h.ex.spawn(fails(h.ex, "first"));
    h.ex.spawn(returns_error(errc::rpc_decode));
    h.ex.spawn(succeeds(runs));
    h.ex.spawn(returns_ok());
    h.ex.spawn(fails(h.ex, "second"));
    EXPECT_EQ(h.ex.spawned(), 5u);
    EXPECT_EQ(runs, 0) << "spawn starts the task in a later round";
    h.ex.run_until([&] { return h.ex.spawned() == 0; });

    EXPECT_EQ(runs, 1);
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[0], "first");
    EXPECT_EQ(r.messages[1], "second");
    ASSERT_EQ(r.codes.size(), 1u);
    EXPECT_EQ(r.codes[0], errc::rpc_decode);
    EXPECT_EQ(h.ex.stats().failures, 3u);
    EXPECT_EQ(h.ex.frame_stats().live_frames, 0u);
}

TEST(spawn_errors, the_default_handler_prints_and_counts) {
    test::harness h;
    h.ex.spawn(fails(h.ex, "printed to stderr"));
    h.ex.spawn(returns_error(errc::cancelled));
    testing::internal::CaptureStderr();
    h.ex.run_until([&] { return h.ex.spawned() == 0; });
    const std::string printed = testing::internal::GetCapturedStderr();
    EXPECT_NE(printed.find("printed to stderr"), std::string::npos) << printed;
    EXPECT_NE(printed.find("cancelled"), std::string::npos) << printed;
    EXPECT_EQ(h.ex.stats().failures, 2u);
}

TEST(spawn_errors, spawned_tasks_run_alongside_a_sync_wait) {
    test::harness h;
    int runs = 0;
    for (int i = 0; i < 10; ++i)
        h.ex.spawn(succeeds(runs));
    auto waiter = [](executor& ex) -> task<int> {
        (void)co_await ex.sleep_for(100);
        co_return 3;
    };
    EXPECT_EQ(sync_wait(h.ex, waiter(h.ex)), 3);
    EXPECT_EQ(runs, 10);
    EXPECT_EQ(h.ex.spawned(), 0u);
}
