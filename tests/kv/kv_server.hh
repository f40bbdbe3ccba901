// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/kv/kv_server.hh: airlock-kv in the test process on a loopback port,
// with memcached's default limits unless told otherwise: the native front,
// or the engine inside an enclave on `sim` or `process` (enclave_front).

#include <ctime>
#include <memory>
#include <string>

#include "enclave_front.hh"
#include "engine.hh"
#include "native_front.hh"

namespace kv_test {

class kv_server {
  public:
    // `where`: "native", "sim" or "process"; "sim_suvm" and "process_suvm"
    // keep item values in a suvm space (--items-in suvm); "sim_transition"
    // and "process_transition" make sys calls by the transition baseline
    // (--io transition).
    explicit kv_server(airlock::kv::engine_config cfg = {}, unsigned threads = 2,
                       const std::string& where = "native") {
        if (where != "native") {
            airlock::kv::enclave_options eo;
            eo.platform = where.starts_with("sim") ? airlock::platform::platform_kind::sim
                                                   : airlock::platform::platform_kind::process;
            eo.items_in_suvm = where.ends_with("_suvm");
            eo.io_transition = where.ends_with("_transition");
            eo.listen = "127.0.0.1";
            eo.port = 0;
            eo.threads = threads;
            eo.engine = cfg;
            auto f = airlock::kv::enclave_front::start(eo);
            if (f)
                enclave_ = std::move(*f);
            else
                error_ = f.error();
            return;
        }
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
    ~kv_server() {
        if (front_) front_->stop();
    }
    [[nodiscard]] std::uint16_t port() const {
        return enclave_ ? enclave_->port() : front_ ? front_->port() : 0;
    }
    [[nodiscard]] const std::string& error() const { return error_; }
    // The native front's engine (null inside an enclave, whose memory the host does not read).
    [[nodiscard]] airlock::kv::engine& engine() { return *eng_; }

  private:
    std::unique_ptr<airlock::kv::engine> eng_;
    std::unique_ptr<airlock::kv::native_front> front_;
    std::unique_ptr<airlock::kv::enclave_front> enclave_;
    std::string error_;
};

}  // namespace kv_test
