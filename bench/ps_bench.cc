// SPDX-License-Identifier: Apache-2.0
// airlock-bench ps: the parameter server's rate sweep, SGXIO's Figure 1.
//
// Starts one airlock-ps server per mode, each in a process of its own
// (forked before any thread exists, and stopped with SIGSTOP except while it
// is measured), then for each offered rate, lowest first, drives every mode
// in turn with the open-loop load generator (apps/ps/load.hh) for --seconds: the modes are
// interleaved at each rate, so a disturbance of the shared machine falls on all of them. A mode
// whose achieved rate falls below half the offered one twice is not driven further. Each point
// reports the achieved rate, latency percentiles from the moment each request was due, and the
// server's trusted time per request (its thread's time from an epoll_wait's return to the next
// call, over the requests served: the seed's measure). --svg draws the seed's figure (trusted time
// per request against offered rate) beside achieved against offered rate. Roles of --cpus: server
// thread (the enclave thread in the airlock mode), switchless host worker, load generator; the
// airlock mode's io_uring service thread is not pinned. The mode airlock-suvm, not in the default
// list, is the airlock server with the model's vectors in a suvm space whose page cache holds
// --suvm-cache-mib of them (docs/ps.md); with airlock in the same run, a note gives the ratio of
// their trusted times per request at each rate.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "commands.hh"
#include "ps/load.hh"
#include "ps/server.hh"
#include "support.hh"

namespace airlock::bench {
namespace {

struct ps_options : common_options {
    std::vector<double> rates{1'000,  2'000,   5'000,   10'000, 20'000,
                              50'000, 100'000, 200'000, 400'000};
    std::vector<std::string> modes{"native", "transition", "switchless", "airlock"};
    std::size_t connections = 4;
    std::uint32_t batch = 1;
    double push_fraction = 1.0;  // the seed's requests update features
    double zipf = 0;
    std::uint32_t dimension = 8;
    std::size_t keys =
        65'536;  // 65,536 x 8 floats: 2 MiB of rows and a 1.5 MiB index, the seed's LLC-sized model
    std::uint64_t transition_cycles = 8'200;
    // The airlock-suvm mode: the airlock server with the model's vectors in
    // a suvm space whose page cache holds this many MiB of them.
    std::size_t suvm_cache_mib = 4;
    std::size_t suvm_page_size = 4096;
    std::string svg;
};

// A mode the sweep drives: a server mode and where its model lives.
struct mode_spec {
    std::string name;
    ps::io_mode mode = ps::io_mode::native;
    ps::model_storage model_in = ps::model_storage::memory;
};

// The four server modes, and airlock-suvm.
mode_spec mode_of(const std::string& name) {
    if (name == "airlock-suvm") return {name, ps::io_mode::airlock, ps::model_storage::suvm};
    const auto m = ps::io_mode_from(name);
    if (!m)
        fail("unknown mode " + name + " (native, transition, switchless, airlock, airlock-suvm)");
    return {name, *m, ps::model_storage::memory};
}

ps::server* child_server = nullptr;
extern "C" void stop_child_server(int) {
    if (child_server != nullptr) child_server->stop();
}

struct server_process {
    pid_t pid = -1;
    std::uint16_t port = 0;
};

// Forks a process serving `mode`; returns once it listens.
server_process start_server(const ps_options& o, const mode_spec& mode) {
    int p[2];
    if (::pipe(p) != 0) fail("pipe");
    const pid_t pid = ::fork();
    if (pid < 0) fail("fork");
    if (pid == 0) {
        ::close(p[0]);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
        ps::server_options so;
        so.mode = mode.mode;
        so.model_in = mode.model_in;
        so.suvm_cache_bytes = o.suvm_cache_mib << 20;
        so.suvm_page_size = o.suvm_page_size;
        so.dimension = o.dimension;
        so.keys = o.keys;
        so.transition_cycles = o.transition_cycles;
        so.cpu = cpu_for(o.cpus, 0);
        so.io_worker_cpu = cpu_for(o.cpus, 1);
        auto s = ps::server::create(so);
        const std::uint16_t port = s ? (*s)->port() : 0;
        (void)!::write(p[1], &port, sizeof port);
        if (!s) ::_exit(1);
        child_server = s->get();
        ::signal(SIGTERM, stop_child_server);
        const auto r = (*s)->run();
        ::_exit(r ? 0 : 1);
    }
    ::close(p[1]);
    server_process sp{pid, 0};
    if (::read(p[0], &sp.port, sizeof sp.port) != sizeof sp.port || sp.port == 0)
        fail("the " + mode.name + " server did not start");
    ::close(p[0]);
    return sp;
}

void stop_server(const server_process& sp) {
    ::kill(sp.pid, SIGTERM);
    ::kill(sp.pid, SIGCONT);
    int status = 0;
    ::waitpid(sp.pid, &status, 0);
}

struct point {
    std::string mode;
    double offered = 0;
    ps::load_result r;
};

// Every request answered, at the rate they were sent (Poisson arrivals make
// the rate sent differ from the one offered by a few percent).
bool sustained(const ps::load_result& r, double seconds) {
    const double sent_rate = static_cast<double>(r.sent) / seconds;
    return r.lost == 0 && r.unsent == 0 && r.achieved_rate >= 0.95 * sent_rate;
}

// --- the figure ---------------------------------------------------------------

const char* colour_of(const std::string& mode) {
    if (mode == "native") return "#4c72b0";
    if (mode == "transition") return "#c44e52";
    if (mode == "switchless") return "#dd8452";
    if (mode == "airlock-suvm") return "#8172b3";
    return "#55a868";
}

// One panel: y(point) against offered rate, log-log, one line per mode.
void panel(std::string& svg, double x0, const std::string& title, const std::string& ylabel,
           const std::vector<point>& points, const std::vector<std::string>& modes,
           double (*y)(const point&)) {
    const double w = 420, h = 300, left = 70, top = 40, pw = w - left - 20, ph = h - top - 50;
    double xmin = 1e30, xmax = 0, ymin = 1e30, ymax = 0;
    for (const auto& p : points) {
        if (y(p) <= 0) continue;
        xmin = std::min(xmin, p.offered);
        xmax = std::max(xmax, p.offered);
        ymin = std::min(ymin, y(p));
        ymax = std::max(ymax, y(p));
    }
    if (xmax <= 0) return;
    const double lx0 = std::floor(std::log10(xmin)), lx1 = std::ceil(std::log10(xmax));
    const double ly0 = std::floor(std::log10(ymin)),
                 ly1 = std::max(ly0 + 1, std::ceil(std::log10(ymax)));
    auto px = [&](double v) { return x0 + left + (std::log10(v) - lx0) / (lx1 - lx0) * pw; };
    auto py = [&](double v) { return top + ph - (std::log10(v) - ly0) / (ly1 - ly0) * ph; };
    char buf[512];
    std::snprintf(
        buf, sizeof buf,
        "<text x='%.0f' y='20' font-size='14' text-anchor='middle'>%s</text>\n"
        "<rect x='%.0f' y='%.0f' width='%.0f' height='%.0f' fill='none' stroke='#333'/>\n",
        x0 + left + pw / 2, title.c_str(), x0 + left, top, pw, ph);
    svg += buf;
    for (double e = lx0; e <= lx1; ++e) {
        std::snprintf(buf, sizeof buf,
                      "<line x1='%.1f' y1='%.0f' x2='%.1f' y2='%.0f' stroke='#ddd'/>"
                      "<text x='%.1f' y='%.0f' font-size='11' text-anchor='middle'>%s</text>\n",
                      px(std::pow(10, e)), top, px(std::pow(10, e)), top + ph, px(std::pow(10, e)),
                      top + ph + 15, grouped(std::pow(10, e)).c_str());
        svg += buf;
    }
    for (double e = ly0; e <= ly1; ++e) {
        std::snprintf(buf, sizeof buf,
                      "<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' stroke='#ddd'/>"
                      "<text x='%.0f' y='%.1f' font-size='11' text-anchor='end'>%s</text>\n",
                      x0 + left, py(std::pow(10, e)), x0 + left + pw, py(std::pow(10, e)),
                      x0 + left - 4, py(std::pow(10, e)) + 4, grouped(std::pow(10, e)).c_str());
        svg += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "<text x='%.0f' y='%.0f' font-size='12' text-anchor='middle'>offered rate "
                  "(requests/s)</text>\n<text x='%.0f' y='%.0f' font-size='12' "
                  "text-anchor='middle' transform='rotate(-90 %.0f %.0f)'>%s</text>\n",
                  x0 + left + pw / 2, top + ph + 35, x0 + 15, top + ph / 2, x0 + 15, top + ph / 2,
                  ylabel.c_str());
    svg += buf;
    double legend_y = top + 15;
    for (const auto& m : modes) {
        std::string line;
        for (const auto& p : points)
            if (p.mode == m && y(p) > 0) {
                std::snprintf(buf, sizeof buf, "%.1f,%.1f ", px(p.offered), py(y(p)));
                line += buf;
                std::snprintf(buf, sizeof buf, "<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s'/>\n",
                              px(p.offered), py(y(p)), colour_of(m));
                svg += buf;
            }
        std::snprintf(buf, sizeof buf,
                      "<polyline points='%s' fill='none' stroke='%s' stroke-width='2'/>\n"
                      "<text x='%.0f' y='%.0f' font-size='11' fill='%s'>%s</text>\n",
                      line.c_str(), colour_of(m), x0 + left + 8, legend_y, colour_of(m), m.c_str());
        svg += buf;
        legend_y += 14;
    }
}

void write_svg(const std::string& path, const std::vector<point>& points,
               const std::vector<std::string>& modes) {
    std::string svg =
        "<svg xmlns='http://www.w3.org/2000/svg' width='860' height='300' "
        "font-family='sans-serif'>\n<rect width='860' height='300' fill='white'/>\n";
    panel(svg, 0, "trusted time per request", "ns per request", points, modes,
          [](const point& p) { return p.r.trusted_ns_per_request; });
    panel(svg, 430, "achieved rate", "requests/s", points, modes,
          [](const point& p) { return p.r.achieved_rate; });
    svg += "</svg>\n";
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) fail("cannot write " + path);
    std::fputs(svg.c_str(), f);
    std::fclose(f);
}

// --- the sweep ----------------------------------------------------------------

void run_ps(const ps_options& o) {
    std::vector<mode_spec> modes;
    for (const auto& name : o.modes)
        modes.push_back(mode_of(name));
    std::vector<server_process> servers;  // forked before this process starts a thread
    for (const auto& m : modes) {
        servers.push_back(start_server(o, m));
        ::kill(servers.back().pid, SIGSTOP);
    }
    pin_to_cpu(cpu_for(o.cpus, 2));
    print_environment("ps", o);

    std::vector<point> points;
    std::map<std::string, int> failures;  // points below half the offered rate
    for (const double rate : o.rates) {
        for (std::size_t i = 0; i < modes.size(); ++i) {
            const std::string& name = modes[i].name;
            if (failures[name] >= 2) continue;
            ps::load_options l;
            l.port = servers[i].port;
            l.connections = o.connections;
            l.rate = rate;
            l.seconds = o.seconds;
            l.drain_seconds = 0.5;
            l.keys = o.keys;
            l.zipf = o.zipf;
            l.batch = o.batch;
            l.push_fraction = o.push_fraction;
            l.dimension = o.dimension;
            l.seed = static_cast<std::uint64_t>(rate) * 16 + i;
            // Only the server being measured runs: the others are stopped, so
            // an idle one that spins (switchless) takes nothing from it.
            ::kill(servers[i].pid, SIGCONT);
            const auto r = ps::run_load(l);
            ::kill(servers[i].pid, SIGSTOP);
            if (!r) fail(name + ": " + std::string(to_string(r.error())));
            if (r->errors != 0) fail(name + ": the server answered requests with errors");
            if (r->achieved_rate < 0.5 * rate) ++failures[name];
            points.push_back({name, rate, *r});
            if (o.json) std::printf("%s\n", ps::to_json(*r, name).c_str());
            std::fflush(stdout);
        }
    }
    for (const auto& s : servers)
        stop_server(s);

    if (!o.json) {
        table t({"offered/s", "mode", "achieved/s", "p50 us", "p99 us", "trusted ns/req", "lost"});
        for (const auto& p : points)
            t.add_row({grouped(p.offered), p.mode, grouped(p.r.achieved_rate),
                       fixed(p.r.p50_ns / 1e3, 1), fixed(p.r.p99_ns / 1e3, 1),
                       grouped(p.r.trusted_ns_per_request),
                       grouped(double(p.r.lost + p.r.unsent))});
        t.print();
    }
    // The highest rate each mode sustained, and the ratios at transition's.
    std::map<std::string, double> best;
    for (const auto& p : points)
        if (sustained(p.r, o.seconds)) best[p.mode] = std::max(best[p.mode], p.offered);
    std::string summary = "highest sustained rate:";
    for (const auto& m : o.modes)
        summary += " " + m + " " + grouped(best[m]) + "/s";
    print_note("ps", o, summary);
    if (best.count("transition")) {
        const double at = best["transition"];
        std::map<std::string, double> trusted;
        for (const auto& p : points)
            if (p.offered == at) trusted[p.mode] = p.r.trusted_ns_per_request;
        std::string ratios = "at " + grouped(at) + "/s, transition's trusted time per request over";
        for (const auto& [m, ns] : trusted)
            if (m != "transition" && ns > 0)
                ratios += " " + m + "'s: " + fixed(trusted["transition"] / ns, 2) + "x";
        print_note("ps", o, ratios);
    }
    // The cost of paging the model: airlock-suvm against airlock, rate by rate.
    std::map<double, double> in_memory;
    for (const auto& p : points)
        if (p.mode == "airlock") in_memory[p.offered] = p.r.trusted_ns_per_request;
    std::string paging = "airlock-suvm's trusted time per request over airlock's:";
    bool any = false;
    for (const auto& p : points)
        if (p.mode == "airlock-suvm" && in_memory[p.offered] > 0) {
            paging += " " + fixed(p.r.trusted_ns_per_request / in_memory[p.offered], 2) + "x at " +
                      grouped(p.offered) + "/s";
            any = true;
        }
    if (any) print_note("ps", o, paging);
    if (!o.svg.empty()) write_svg(o.svg, points, o.modes);
}

}  // namespace

void add_ps_command(CLI::App& app) {
    auto options = std::make_shared<ps_options>();
    options->cpus = {0, 1, 1};
    options->reps = 1;
    options->seconds = 0.3;
    CLI::App* sub = app.add_subcommand(
        "ps",
        "The parameter server's rate sweep (SGXIO's figure): native, transition, switchless, "
        "airlock");
    sub->add_option("--cpus", options->cpus,
                    "CPUs of the server thread, the switchless host worker and the load "
                    "generator, comma-separated (empty: no pinning)")
        ->delimiter(',')
        ->expected(0, 64)
        ->capture_default_str();
    sub->add_option("--seconds", options->seconds, "Seconds of load per point")
        ->check(CLI::Range(0.01, 10.0))
        ->capture_default_str();
    sub->add_option("--rates", options->rates, "Offered rates (requests/s), comma-separated")
        ->delimiter(',')
        ->check(CLI::Range(1.0, 1e7))
        ->capture_default_str();
    sub->add_option("--modes", options->modes,
                    "Modes, comma-separated: native, transition, switchless, airlock, and "
                    "airlock-suvm (airlock with the model in a suvm space)")
        ->delimiter(',')
        ->capture_default_str();
    sub->add_option("--connections", options->connections, "Worker connections")
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}))
        ->capture_default_str();
    sub->add_option("--batch", options->batch, "Ids per request")
        ->check(CLI::Range(1u, 1024u))
        ->capture_default_str();
    sub->add_option("--push-fraction", options->push_fraction, "Share of pushes (the rest pull)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    sub->add_option("--zipf", options->zipf, "Zipf exponent of the keys (0: uniform)")
        ->capture_default_str();
    sub->add_option("--dimension", options->dimension, "Floats per feature")
        ->check(CLI::Range(1u, 4096u))
        ->capture_default_str();
    sub->add_option("--keys", options->keys, "Features in the model")->capture_default_str();
    sub->add_option("--transition-cycles", options->transition_cycles,
                    "Modelled cost of one transition (TSC cycles)")
        ->capture_default_str();
    sub->add_option("--suvm-cache-mib", options->suvm_cache_mib,
                    "airlock-suvm: the page cache in enclave memory (MiB)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{4096}))
        ->capture_default_str();
    sub->add_option("--suvm-page-size", options->suvm_page_size,
                    "airlock-suvm: bytes of a page (a power of two, 1024 to 65536)")
        ->capture_default_str();
    sub->add_option("--svg", options->svg, "Also draw the figure into this SVG file");
    sub->add_flag("--json", options->json, "Print one JSON object per line");
    sub->callback([options] { run_ps(*options); });
}

}  // namespace airlock::bench
