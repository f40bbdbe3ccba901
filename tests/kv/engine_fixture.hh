// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/kv/engine_fixture.hh: an engine with a clock the test sets, and a
// connection driven directly (no sockets).

#include <memory>
#include <string>

#include "engine.hh"

namespace kv_test {

struct engine_fixture {
    explicit engine_fixture(airlock::kv::engine_config cfg = {}) {
        airlock::kv::server_info info;
        info.started = now;
        info.clock = [this] { return now; };
        eng = std::make_unique<airlock::kv::engine>(cfg, std::move(info));
        ctr = &eng->register_thread();
        conn = std::make_unique<airlock::kv::connection>(*eng, *ctr);
    }
    // Feeds `in` and returns (and drains) everything the connection produced.
    std::string run(std::string_view in) {
        conn->receive(in);
        std::string out(conn->output());
        conn->consumed(out.size());
        return out;
    }
    std::int64_t now = 1'700'000'000;
    std::unique_ptr<airlock::kv::engine> eng;
    airlock::kv::counters* ctr = nullptr;
    std::unique_ptr<airlock::kv::connection> conn;
};

}  // namespace kv_test
