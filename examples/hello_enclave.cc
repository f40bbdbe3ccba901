// SPDX-License-Identifier: Apache-2.0
// hello_enclave: enclave code that co_awaits a host function, and a host
// that co_awaits an enclave function. docs/tutorial.md walks through it.
#include <cstdio>
#include <string>

#include <airlock/async/sync_wait.hh>
#include <airlock/platform/enclave.hh>

#include "hello_enclave_calls.hh"

using airlock::expected;
using airlock::async::task;

// ---- enclave side -----------------------------------------------------------
// Runs on each enclave thread. `t.host` is this thread's endpoint to the host.
void enclave_main(airlock::platform::enclave_thread& t) {
    t.host.serve(
        hello::greet_and_count,
        [&t, count = std::uint64_t{0}](std::string name) mutable -> task<expected<std::uint64_t>> {
            // Ask the host; this thread runs other coroutines meanwhile.
            expected<std::string> line = co_await t.host.call(hello::greeting, name);
            if (!line) co_return airlock::unexpected(line.error());
            count += line->size();
            co_return count;
        });
}

// ---- host side ----------------------------------------------------------------
int main() {
    // AIRLOCK_PLATFORM=process runs the enclave as a sealed process of its own.
    airlock::platform::enclave_config config;
    if (auto platform = airlock::platform::platform_from_environment()) {
        config.platform = *platform;
    } else {
        std::fprintf(stderr, "AIRLOCK_PLATFORM must be sim or process\n");
        return 1;
    }
    auto enclave = airlock::platform::enclave::create(config, enclave_main);
    if (!enclave) {
        std::fprintf(stderr, "cannot create the enclave: %s\n",
                     airlock::to_string(enclave.error()).data());
        return 1;
    }
    auto channel = (*enclave)->open_channel(0);
    channel->endpoint().serve(hello::greeting,
                              [](std::string name) { return "hello, " + name + "!"; });

    for (const char* name : {"enclave", "host"}) {
        expected<std::uint64_t> n = airlock::async::sync_wait(
            channel->executor(), channel->endpoint().call(hello::greet_and_count, name));
        if (!n) {
            std::fprintf(stderr, "call failed: %s\n", airlock::to_string(n.error()).data());
            return 1;
        }
        std::printf("the enclave has now greeted %llu characters\n",
                    static_cast<unsigned long long>(*n));
    }
    channel.reset();  // close the channel before the enclave goes
    return 0;
}
