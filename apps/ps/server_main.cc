// SPDX-License-Identifier: Apache-2.0
// airlock-ps: the parameter server (docs/ps.md). Listens on 127.0.0.1,
// prints "listening on 127.0.0.1:<port> mode <mode> model-in <storage>" once
// ready, serves until SIGINT or SIGTERM, then prints its counters (and, with
// --model-in suvm, its page cache's).
#include <csignal>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "ps/server.hh"

namespace {
airlock::ps::server* running = nullptr;
extern "C" void on_signal(int) {
    if (running != nullptr) running->stop();  // a relaxed atomic store: signal-safe
}
}  // namespace

int main(int argc, char** argv) {
    using namespace airlock::ps;
    server_options o;
    std::string mode = "native";
    CLI::App app{"airlock-ps: a parameter server whose model lives in the enclave"};
    std::string platform_name = "sim";
    app.add_option("--mode", mode, "native | transition | switchless | airlock")
        ->capture_default_str();
    app.add_option("--platform", platform_name, "airlock mode: sim | process")
        ->check(CLI::IsMember({"sim", "process"}))
        ->capture_default_str();
    app.add_option("--port", o.port, "TCP port on 127.0.0.1 (0: any free one)")
        ->capture_default_str();
    app.add_option("--dimension", o.dimension, "floats per feature")->capture_default_str();
    app.add_option("--keys", o.keys, "features 0..keys-1")->capture_default_str();
    app.add_option("--learning-rate", o.engine.learning_rate, "SGD step of a push")
        ->capture_default_str();
    app.add_option("--max-batch", o.engine.max_batch, "ids per request")->capture_default_str();
    app.add_option("--transition-cycles", o.transition_cycles,
                   "modelled cost of one transition (TSC cycles)")
        ->capture_default_str();
    app.add_option("--cpu", o.cpu, "CPU of the server thread (-1: any)")->capture_default_str();
    app.add_option("--io-worker-cpu", o.io_worker_cpu, "CPU of the switchless host worker")
        ->capture_default_str();
    std::string model_in = "memory";
    app.add_option("--model-in", model_in,
                   "airlock mode: where the model's vectors live: memory (enclave memory) | "
                   "suvm (a suvm space, paged through a cache)")
        ->check(CLI::IsMember({"memory", "suvm"}))
        ->capture_default_str();
    std::size_t cache_mib = o.suvm_cache_bytes >> 20;
    app.add_option("--suvm-cache-mib", cache_mib,
                   "--model-in suvm: the page cache in enclave memory (MiB); the backing store "
                   "in untrusted memory holds the whole model")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
        ->capture_default_str();
    app.add_option("--suvm-page-size", o.suvm_page_size,
                   "--model-in suvm: bytes of a page (a power of two, 1024 to 65536)")
        ->capture_default_str();
    std::size_t enclave_mib = 0;
    app.add_option("--enclave-memory-mib", enclave_mib,
                   "airlock mode: the enclave's memory budget, enforced on process (MiB; 0: "
                   "enough for the runtime, the connections and the model's enclave part)")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    o.model_in = *model_storage_from(model_in);
    o.suvm_cache_bytes = cache_mib << 20;
    o.enclave_memory = enclave_mib << 20;

    const auto m = io_mode_from(mode);
    if (!m) {
        std::fprintf(stderr, "airlock-ps: unknown mode %s\n", mode.c_str());
        return 2;
    }
    o.mode = *m;
    o.platform = platform_name == "process" ? airlock::platform::platform_kind::process
                                            : airlock::platform::platform_kind::sim;
    auto s = server::create(o);
    if (!s) {
        std::fprintf(stderr, "airlock-ps: %s\n",
                     std::string(airlock::to_string(s.error())).c_str());
        return 1;
    }
    running = s->get();
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::printf("listening on 127.0.0.1:%u mode %s model-in %s\n",
                static_cast<unsigned>((*s)->port()), mode.c_str(), model_in.c_str());
    std::fflush(stdout);
    const auto r = (*s)->run();
    const auto st = (*s)->stats();
    std::printf("requests %llu ids %llu errors %llu trusted_ns %llu\n",
                static_cast<unsigned long long>(st.requests),
                static_cast<unsigned long long>(st.ids), static_cast<unsigned long long>(st.errors),
                static_cast<unsigned long long>(st.trusted_ns));
    if (o.model_in == model_storage::suvm) {
        const auto pg = (*s)->paging();
        std::printf("suvm hits %llu faults %llu prefetches %llu evictions %llu write_backs %llu\n",
                    static_cast<unsigned long long>(pg.hits),
                    static_cast<unsigned long long>(pg.faults),
                    static_cast<unsigned long long>(pg.prefetches),
                    static_cast<unsigned long long>(pg.evictions),
                    static_cast<unsigned long long>(pg.write_backs));
    }
    if (!r) {
        std::fprintf(stderr, "airlock-ps: stopped: %s\n",
                     std::string(airlock::to_string(r.error())).c_str());
        return 1;
    }
    return 0;
}
