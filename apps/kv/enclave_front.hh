// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/kv/enclave_front.hh: airlock-kv inside an Airlock enclave.
//
// `enclave_front::start` creates an enclave (`sim` or the sealed `process`
// platform), starts the host's sys service for it, and asks the enclave to
// listen: the engine and its store are made inside the enclave, shared by
// `threads` enclave threads. Each thread has its own sys link and its own
// listener on the address (SO_REUSEPORT when there are several: the kernel
// spreads the connections); every connection is a coroutine on the
// executor of the thread that accepted it, and all I/O is sys calls
// (accept, recv, send) that one host io_uring service thread runs for every
// link, with no enclave transition. With `io_transition` each thread
// instead runs one loop of blocking calls, each a modelled transition: a
// poll, then a receive and a send per ready connection (the baseline).
//
// Thread contract: host side; start, port and the destructor on the thread
// that created it, which must outlive the enclave (platform/enclave.hh).

#include <cstdint>
#include <memory>
#include <string>

#include "airlock/base/expected.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/suvm/space.hh"
#include "engine.hh"

namespace airlock::kv {

struct enclave_options {
    platform::platform_kind platform = platform::platform_kind::sim;
    std::string listen = "0.0.0.0";
    std::uint16_t port = 11211;
    unsigned max_connections = 1024;
    unsigned threads = 1;  // enclave threads, each with its own listener
    engine_config engine;  // engine.store.values is ignored: see items_in_suvm
    // Keep item values in a suvm space in untrusted memory (--items-in
    // suvm), sealed page by page, with a page cache of suvm_cache_bytes in
    // the enclave; -m then bounds the value bytes in the space.
    bool items_in_suvm = false;
    std::size_t suvm_cache_bytes = std::size_t{4} << 20;
    // The enclave's memory budget; 0: computed from the limits above.
    std::size_t enclave_memory = 0;
    // Make every sys call by the transition baseline (--io transition): a
    // modelled transition and a blocking system call each, one poll loop
    // per thread (sys/transition.hh, sys/poll.hh).
    bool io_transition = false;
};

// The value space's options under `opt` (items_in_suvm).
[[nodiscard]] suvm::space_options value_space_options(const enclave_options& opt);

class enclave_front {
  public:
    // Starts the enclave and its listener; an error text on failure.
    [[nodiscard]] static expected<std::unique_ptr<enclave_front>, std::string> start(
        const enclave_options& opt);
    ~enclave_front();
    enclave_front(const enclave_front&) = delete;
    enclave_front& operator=(const enclave_front&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    // ok while the enclave runs; the platform's diagnostic once it stopped.
    [[nodiscard]] std::string failure() const;

  private:
    enclave_front() = default;
    struct state;
    std::unique_ptr<state> s_;
    std::uint16_t port_ = 0;
};

}  // namespace airlock::kv
