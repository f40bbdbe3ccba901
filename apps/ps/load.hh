// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/ps/load.hh: the parameter server's load generator.
//
// `run_load` drives a server at 127.0.0.1:port over `connections` TCP
// connections from the calling thread, for `seconds`:
//   open loop   (rate > 0) requests leave at a fixed rate, with fixed or
//               Poisson (exponential) gaps, spread round-robin over the
//               connections, whether or not earlier ones were answered;
//               latency counts from the moment a request was due, so a
//               server that falls behind shows it (no coordinated omission);
//   closed loop (rate == 0) each connection keeps `depth` requests in
//               flight and sends the next when one is answered.
// Each request is a push (with probability push_fraction) or a pull of
// `batch` ids drawn uniformly or from a Zipf distribution over 0..keys-1.
// Every reply is checked against its request. Before and after the run the
// server's stats reply gives its trusted time per request.
// It is a plain host program: no part of it runs in an enclave.
//
// Thread contract: run_load blocks the calling thread; no shared state.

#include <cstddef>
#include <cstdint>
#include <string>

#include "airlock/base/expected.hh"

namespace airlock::ps {

struct load_options {
    std::uint16_t port = 0;
    std::size_t connections = 4;
    double rate = 0;        // requests per second over all connections; 0: closed loop
    bool poisson = true;    // open loop: exponential gaps (else fixed)
    std::size_t depth = 1;  // closed loop: requests in flight per connection
    double seconds = 1.0;   // sending time; then at most drain_seconds for the replies
    double drain_seconds = 1.0;
    std::uint64_t keys = 65'536;
    double zipf = 0;  // Zipf exponent of the key distribution; 0: uniform
    std::uint32_t batch = 1;
    double push_fraction = 0.5;
    std::uint32_t dimension = 8;  // must be the server's
    std::uint64_t seed = 1;
};

struct load_result {
    double offered_rate = 0;   // requests per second asked for (closed loop: 0)
    double achieved_rate = 0;  // replies per second, from the first request to the last reply
                               // (at least `seconds`)
    std::uint64_t sent = 0;
    std::uint64_t completed = 0;  // replies received and checked
    std::uint64_t errors = 0;     // replies carrying an error status
    std::uint64_t unsent = 0;     // due requests not sent: the socket's backlog was full
    std::uint64_t lost = 0;       // requests never answered (drain ran out, connection lost)
    double p50_ns = 0, p90_ns = 0, p99_ns = 0, p999_ns = 0;
    double trusted_ns_per_request = 0;  // from the server's stats
};

// Errors: invalid_argument (bad options), platform_unavailable (cannot
// connect), ps_bad_response (a reply that does not answer its request).
[[nodiscard]] expected<load_result> run_load(const load_options& options);

// One JSON object, without a newline: {"bench":"ps","mode":...}.
[[nodiscard]] std::string to_json(const load_result& r, const std::string& mode);

}  // namespace airlock::ps
