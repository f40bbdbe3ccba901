// SPDX-License-Identifier: Apache-2.0
// airlock-ps-worker: load for airlock-ps (apps/ps/load.hh, docs/ps.md).
// Prints achieved rate, latency percentiles and the server's trusted time
// per request; --json prints one JSON line instead.
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "ps/load.hh"

int main(int argc, char** argv) {
    using namespace airlock::ps;
    load_options o;
    std::string arrivals = "poisson";
    std::string label = "unknown";
    bool json = false;
    CLI::App app{"airlock-ps-worker: open- or closed-loop load for airlock-ps"};
    app.add_option("--port", o.port, "server port on 127.0.0.1")->required();
    app.add_option("--connections", o.connections, "TCP connections")->capture_default_str();
    app.add_option("--rate", o.rate, "requests/s over all connections (0: closed loop)")
        ->capture_default_str();
    app.add_option("--arrivals", arrivals, "open loop: poisson | fixed")->capture_default_str();
    app.add_option("--depth", o.depth, "closed loop: requests in flight per connection")
        ->capture_default_str();
    app.add_option("--seconds", o.seconds, "sending time")->capture_default_str();
    app.add_option("--keys", o.keys, "ids 0..keys-1")->capture_default_str();
    app.add_option("--zipf", o.zipf, "Zipf exponent of the keys (0: uniform)")
        ->capture_default_str();
    app.add_option("--batch", o.batch, "ids per request")->capture_default_str();
    app.add_option("--push-fraction", o.push_fraction, "share of pushes")->capture_default_str();
    app.add_option("--dimension", o.dimension, "floats per feature (the server's)")
        ->capture_default_str();
    app.add_option("--seed", o.seed, "random seed")->capture_default_str();
    app.add_option("--label", label, "mode name written in the JSON line");
    app.add_flag("--json", json, "one JSON line");
    CLI11_PARSE(app, argc, argv);
    if (arrivals != "poisson" && arrivals != "fixed") {
        std::fprintf(stderr, "airlock-ps-worker: --arrivals poisson or fixed\n");
        return 2;
    }
    o.poisson = arrivals == "poisson";
    const auto r = run_load(o);
    if (!r) {
        std::fprintf(stderr, "airlock-ps-worker: %s\n",
                     std::string(airlock::to_string(r.error())).c_str());
        return 1;
    }
    if (json) {
        std::printf("%s\n", to_json(*r, label).c_str());
    } else {
        std::printf(
            "offered %.0f/s achieved %.0f/s  p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f "
            "us  trusted %.0f ns/request\nsent %llu completed %llu errors %llu unsent %llu lost "
            "%llu\n",
            r->offered_rate, r->achieved_rate, r->p50_ns / 1e3, r->p90_ns / 1e3, r->p99_ns / 1e3,
            r->p999_ns / 1e3, r->trusted_ns_per_request, static_cast<unsigned long long>(r->sent),
            static_cast<unsigned long long>(r->completed),
            static_cast<unsigned long long>(r->errors), static_cast<unsigned long long>(r->unsent),
            static_cast<unsigned long long>(r->lost));
    }
    return r->lost == 0 ? 0 : 3;
}
