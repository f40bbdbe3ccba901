// SPDX-License-Identifier: Apache-2.0
// airlock-kv: a memcached-compatible key-value store. Options follow
// memcached's (-p -l -t -m -c -I -v); see docs/kv.md.

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

#include "enclave_front.hh"
#include "engine.hh"
#include "native_front.hh"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

[[noreturn]] void usage(int code) {
    std::fprintf(code == 0 ? stdout : stderr,
                 "usage: airlock-kv [options]\n"
                 "  -p, --port=N            TCP port (default 11211; 0 picks one)\n"
                 "  -l, --listen=ADDR       IPv4 address to listen on (default 0.0.0.0)\n"
                 "  -t, --threads=N         threads, enclave ones too (default 4)\n"
                 "  -m, --memory-limit=MB   item memory in megabytes (default 64)\n"
                 "  -c, --conn-limit=N      max simultaneous connections (default 1024)\n"
                 "  -I, --max-item-size=S   largest item, with k/m suffix (default 1m)\n"
                 "  -v, --verbose           more output (-vv: every connection)\n"
                 "      --platform=P        where the store runs: native (default), sim (an\n"
                 "                          enclave on host threads), process (a sealed enclave)\n"
                 "      --io=I              enclave I/O: airlock (sys over io_uring, default)\n"
                 "                          or transition (a modelled ocall and a blocking\n"
                 "                          system call per I/O, one poll loop a thread)\n"
                 "      --items-in=W        where values live: memory (default), suvm (sealed\n"
                 "                          pages in untrusted memory; --platform sim|process)\n"
                 "      --suvm-cache-mb=N   the suvm page cache in the enclave (default 4)\n"
                 "      --enclave-mb=N      the enclave's memory budget (default: from -m)\n"
                 "  -h, --help\n");
    std::exit(code);
}

bool parse_size(std::string_view s, std::size_t& out) {
    if (s.empty()) return false;
    std::size_t mult = 1;
    const char last = s.back();
    if (last == 'k' || last == 'K') mult = 1024;
    if (last == 'm' || last == 'M') mult = 1024 * 1024;
    if (mult != 1) s.remove_suffix(1);
    std::size_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::size_t>(c - '0');
        if (v > (std::size_t{1} << 40)) return false;
    }
    out = v * mult;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace airlock::kv;
    native_options opt;
    engine_config cfg;
    std::string platform = "native", io = "native", items_in = "memory";
    std::size_t suvm_cache_mb = 4, enclave_mb = 0;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        std::string_view val;
        auto take = [&](std::string_view shortf, std::string_view longf) {
            if (a == shortf || a == longf) {
                if (i + 1 >= argc) usage(2);
                val = argv[++i];
                return true;
            }
            if (a.starts_with(longf) && a.size() > longf.size() && a[longf.size()] == '=') {
                val = a.substr(longf.size() + 1);
                return true;
            }
            if (!shortf.empty() && a.starts_with(shortf) && a.size() > 2 && a[1] != '-') {
                val = a.substr(2);
                return true;
            }
            return false;
        };
        std::size_t n = 0;
        if (a == "-h" || a == "--help") usage(0);
        if (a.starts_with("-v") && a.find_first_not_of('v', 1) == std::string_view::npos) {
            opt.verbose += static_cast<unsigned>(a.size() - 1);
        } else if (a == "--verbose") {
            opt.verbose++;
        } else if (take("-p", "--port")) {
            if (!parse_size(val, n) || n > 65535) usage(2);
            opt.port = static_cast<std::uint16_t>(n);
        } else if (take("-l", "--listen")) {
            opt.listen = std::string(val);
        } else if (take("-t", "--threads")) {
            if (!parse_size(val, n) || n == 0 || n > 256) usage(2);
            opt.threads = static_cast<unsigned>(n);
        } else if (take("-m", "--memory-limit")) {
            if (!parse_size(val, n) || n == 0) usage(2);
            cfg.store.memory_limit = n << 20;
        } else if (take("-c", "--conn-limit")) {
            if (!parse_size(val, n) || n == 0) usage(2);
            opt.max_connections = static_cast<unsigned>(n);
        } else if (take("-I", "--max-item-size")) {
            if (!parse_size(val, n) || n < 1024 || n > (1u << 30)) {
                std::fprintf(stderr, "airlock-kv: -I must be between 1k and 1g\n");
                return 2;
            }
            cfg.store.item_size_max = n;
        } else if (take("", "--platform")) {
            platform = std::string(val);
        } else if (take("", "--io")) {
            io = std::string(val);
        } else if (take("", "--items-in")) {
            items_in = std::string(val);
            if (items_in != "memory" && items_in != "suvm") usage(2);
        } else if (take("", "--suvm-cache-mb")) {
            if (!parse_size(val, suvm_cache_mb) || suvm_cache_mb == 0 || suvm_cache_mb > (1u << 20))
                usage(2);
        } else if (take("", "--enclave-mb")) {
            if (!parse_size(val, enclave_mb) || enclave_mb == 0 || enclave_mb > (1u << 20))
                usage(2);
        } else {
            std::fprintf(stderr, "airlock-kv: unknown option %s\n", argv[i]);
            usage(2);
        }
    }
    if (cfg.store.item_size_max > cfg.store.memory_limit) {
        std::fprintf(stderr, "airlock-kv: -I is larger than -m\n");
        return 2;
    }
    if (items_in == "suvm" && platform == "native") {
        std::fprintf(stderr, "airlock-kv: --items-in suvm needs --platform sim|process\n");
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    if (platform != "native") {
        if (platform != "sim" && platform != "process") usage(2);
        if (io != "native" && io != "airlock" && io != "transition") usage(2);
        enclave_options eo;
        eo.platform = platform == "sim" ? airlock::platform::platform_kind::sim
                                        : airlock::platform::platform_kind::process;
        eo.listen = opt.listen;
        eo.port = opt.port;
        eo.max_connections = opt.max_connections;
        eo.threads = opt.threads;
        eo.engine = cfg;
        eo.items_in_suvm = items_in == "suvm";
        eo.suvm_cache_bytes = suvm_cache_mb << 20;
        eo.enclave_memory = enclave_mb << 20;
        eo.io_transition = io == "transition";
        auto front = enclave_front::start(eo);
        if (!front) {
            std::fprintf(stderr, "airlock-kv: %s\n", front.error().c_str());
            return 1;
        }
        if (opt.verbose > 0)
            std::fprintf(stderr, "airlock-kv: listening on %s:%u in a %s enclave, %u threads\n",
                         opt.listen.c_str(), (*front)->port(), platform.c_str(), opt.threads);
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        ::sigaction(SIGINT, &sa, nullptr);
        ::sigaction(SIGTERM, &sa, nullptr);
        while (g_stop == 0 && (*front)->failure().empty())
            ::usleep(100000);
        const std::string why = (*front)->failure();
        if (!why.empty())
            std::fprintf(stderr, "airlock-kv: the enclave stopped: %s\n", why.c_str());
        return why.empty() ? 0 : 1;
    }
    if (io != "native") {
        std::fprintf(stderr, "airlock-kv: --io applies to --platform sim|process\n");
        return 2;
    }
    server_info info;
    info.pid = static_cast<std::uint64_t>(::getpid());
    info.started = static_cast<std::int64_t>(std::time(nullptr));
    info.threads = opt.threads;
    info.max_connections = opt.max_connections;
    info.clock = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
    info.cpu_time = [](std::uint64_t& user, std::uint64_t& sys) {
        rusage ru{};
        ::getrusage(RUSAGE_SELF, &ru);
        user = static_cast<std::uint64_t>(ru.ru_utime.tv_sec) * 1000000u +
               static_cast<std::uint64_t>(ru.ru_utime.tv_usec);
        sys = static_cast<std::uint64_t>(ru.ru_stime.tv_sec) * 1000000u +
              static_cast<std::uint64_t>(ru.ru_stime.tv_usec);
    };
    engine eng(cfg, std::move(info));
    native_front front(eng, opt);
    if (const std::string err = front.start(); !err.empty()) {
        std::fprintf(stderr, "airlock-kv: %s\n", err.c_str());
        return 1;
    }
    if (opt.verbose > 0)
        std::fprintf(stderr, "airlock-kv: listening on %s:%u, %u threads, %zu shards\n",
                     opt.listen.c_str(), front.port(), opt.threads, eng.store().shard_count());
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    while (g_stop == 0)
        ::pause();
    front.stop();
    return 0;
}
