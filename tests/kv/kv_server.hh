// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/kv/kv_server.hh: airlock-kv in the test process, on a loopback port,
// with memcached's default limits unless told otherwise.

#include <ctime>
#include <memory>

#include "engine.hh"
#include "native_front.hh"

namespace kv_test {

class kv_server {
  public:
    explicit kv_server(airlock::kv::engine_config cfg = {}, unsigned threads = 2) {
        airlock::kv::server_info info;
        info.started = static_cast<std::int64_t>(std::time(nullptr));
        info.clock = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
        info.threads = threads;
        eng_ = std::make_unique<airlock::kv::engine>(cfg, std::move(info));
        airlock::kv::native_options opt;
        opt.listen = "127.0.0.1";
        opt.port = 0;
        opt.threads = threads;
        front_ = std::make_unique<airlock::kv::native_front>(*eng_, opt);
        error_ = front_->start();
    }
    ~kv_server() { front_->stop(); }
    [[nodiscard]] std::uint16_t port() const { return front_->port(); }
    [[nodiscard]] const std::string& error() const { return error_; }
    [[nodiscard]] airlock::kv::engine& engine() { return *eng_; }

  private:
    std::unique_ptr<airlock::kv::engine> eng_;
    std::unique_ptr<airlock::kv::native_front> front_;
    std::string error_;
};

}  // namespace kv_test
