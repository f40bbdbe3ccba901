// SPDX-License-Identifier: Apache-2.0
// Description: the snippets of docs/tutorial.md's further steps, in one
// program that runs each of them against a sim enclave and checks what it
// got. Built and run as the test examples.tutorial_examples. The text between
// each pair of `// --- tutorial: <name> begins/ends ---` markers appears
// verbatim in docs/tutorial.md; tools/check_tutorial.py checks it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <airlock/base/sanitizers.hh>  // AIRLOCK_TSAN, for main's choice of platforms

// --- tutorial: headers begins ---
#include <airlock/async/deadline.hh>
#include <airlock/async/scope.hh>
#include <airlock/async/sync_wait.hh>
#include <airlock/async/when_all.hh>
#include <airlock/platform/enclave.hh>
#include <airlock/platform/host_worker_pool.hh>
#include <airlock/platform/log.hh>
#include <airlock/rpc/codec.hh>
#include <airlock/sys/listener.hh>
#include <airlock/sys/service.hh>

#include "hello_enclave_calls.hh"  // hello::greeting, hello::greet_and_count

using namespace airlock;
using namespace airlock::async;
// --- tutorial: headers ends ---

// --- tutorial: user type begins ---
enum class unit : std::uint8_t { celsius, fahrenheit };

struct reading {
    std::string sensor;
    unit scale;
    double value;
};

// Decoding a `unit` rejects any byte but 0 and 1.
template <>
struct airlock::rpc::enum_traits<unit> {
    static constexpr bool bounded = true;
    static constexpr unit min = unit::celsius;
    static constexpr unit max = unit::fahrenheit;
};

// A reading holds a std::string, so it is not copied as bytes: it opts in.
template <>
struct airlock::rpc::codec<reading> {
    static void encode(writer& w, const reading& r) {
        rpc::encode(w, r.sensor);
        rpc::encode(w, r.scale);
        rpc::encode(w, r.value);
    }
    static bool decode(reader& r, reading& out) {
        return rpc::decode(r, out.sensor) && rpc::decode(r, out.scale) && rpc::decode(r, out.value);
    }
};
// --- tutorial: user type ends ---

namespace tutorial {

// --- tutorial: greet_all declaration begins ---
// The host calls the enclave with a list of names.
inline constexpr rpc::enclave_method<2, std::uint64_t(std::vector<std::string>)> greet_all{
    "greet_all"};
// --- tutorial: greet_all declaration ends ---

// --- tutorial: deadline declarations begin ---
// A host function that may take its time, and an ecall that will not wait for it.
inline constexpr rpc::host_method<2, std::string(std::string)> slow_greeting{"slow_greeting"};
inline constexpr rpc::enclave_method<3, std::string(std::string)> greet_within{"greet_within"};
// --- tutorial: deadline declarations end ---

// --- tutorial: user type declaration begins ---
inline constexpr rpc::enclave_method<4, double(reading)> to_celsius{"to_celsius"};
// --- tutorial: user type declaration ends ---

// --- tutorial: greet_each declaration begins ---
inline constexpr rpc::enclave_method<8, std::uint64_t(std::vector<std::string>)> greet_each{
    "greet_each"};
// --- tutorial: greet_each declaration ends ---

// --- tutorial: context declarations begin ---
// Numbers handed out by the enclave, from a counter every handler shares.
inline constexpr rpc::enclave_method<5, std::uint64_t()> take_number{"take_number"};
// A note the host keeps on disk; writing it may block.
inline constexpr rpc::host_method<3, void(std::string)> keep_note{"keep_note"};
inline constexpr rpc::enclave_method<6, std::uint64_t(std::string)> note{"note"};
// --- tutorial: context declarations end ---
// A handler that never returns (step 15).
inline constexpr rpc::enclave_method<7, void()> hang{"hang"};

// --- tutorial: server declarations begin ---
// Starts the enclave's greeting server and answers its port; stops it and
// answers how many requests it served.
inline constexpr rpc::enclave_method<9, std::uint64_t()> start_server{"start_server"};
inline constexpr rpc::enclave_method<10, std::uint64_t()> stop_server{"stop_server"};
// --- tutorial: server declarations end ---

}  // namespace tutorial

// ---- enclave side -----------------------------------------------------------

// --- tutorial: greet_everyone begins ---
// Greets every name at once: all the ocalls are in flight together.
task<expected<std::uint64_t>> greet_everyone(platform::enclave_thread& t,
                                             std::vector<std::string> names) {
    std::vector<task<expected<std::string>>> calls;
    for (const std::string& name : names)
        calls.push_back(t.host.call(hello::greeting, name));
    // Results come back in the order of `names`, whatever order the replies arrive in.
    std::vector<expected<std::string>> lines = co_await when_all(std::move(calls));
    std::uint64_t total = 0;
    for (const expected<std::string>& line : lines) {
        if (!line) co_return unexpected(line.error());
        total += line->size();
    }
    co_return total;
}
// --- tutorial: greet_everyone ends ---

// --- tutorial: a scope of tasks begins ---
// One name's greeting, with a deadline of its own: 50 ms.
task<void> greet_one(platform::enclave_thread& t, std::string name, std::uint64_t& answered) {
    expected<std::string> line =
        co_await t.host.call(hello::greeting, std::move(name)).with_timeout(50'000'000);
    if (line) ++answered;
}

// A task per name, all owned by one scope; the handler answers once every
// task of the scope has finished, however each ended.
task<std::uint64_t> greet_each(platform::enclave_thread& t, std::vector<std::string> names) {
    // The handler's own token, cancelled if the host gives up on the call, is
    // the scope's parent: the scope's tasks stop with the handler.
    const cancellation_token caller = co_await this_task::token();
    async_scope scope(t.executor, caller);
    std::uint64_t answered = 0;
    for (std::string& name : names)
        scope.spawn(greet_one(t, std::move(name), answered));
    co_await scope.join();
    co_return answered;
}
// --- tutorial: a scope of tasks ends ---

// The enclave program of the further steps: one handler per step.
void tutorial_enclave(platform::enclave_thread& t) {
    // --- tutorial: serving greet_all begins ---
    t.host.serve(tutorial::greet_all, [&t](std::vector<std::string> names) {
        return greet_everyone(t, std::move(names));
    });
    // --- tutorial: serving greet_all ends ---

    // --- tutorial: deadline handler begins ---
    t.host.serve(tutorial::greet_within, [&t](std::string name) -> task<expected<std::string>> {
        // 10 ms for the host to answer; then the call ends with
        // deadline_exceeded and the host is told to stop its handler.
        co_return co_await t.host.call(tutorial::slow_greeting, name).with_timeout(10'000'000);
    });
    // --- tutorial: deadline handler ends ---

    // --- tutorial: serving greet_each begins ---
    t.host.serve(tutorial::greet_each,
                 [&t](std::vector<std::string> names) { return greet_each(t, std::move(names)); });
    // --- tutorial: serving greet_each ends ---

    // --- tutorial: user type handler begins ---
    t.host.serve(tutorial::to_celsius, [](reading r) {
        return r.scale == unit::celsius ? r.value : (r.value - 32) * 5 / 9;
    });
    // --- tutorial: user type handler ends ---
}

// --- tutorial: context begins ---
// The settings cross to the enclave as bytes: trivially copyable, no pointers.
struct counter_settings {
    std::uint64_t first_number;
};

// Built once inside the enclave from the settings; every enclave thread's
// program gets the same one. Atomic, because enclave threads share it.
struct counter_state {
    explicit counter_state(const counter_settings& s) : next(s.first_number) {}
    std::atomic<std::uint64_t> next;
};
// --- tutorial: context ends ---

void counter_enclave(platform::enclave_thread& t, counter_state& state) {
    // --- tutorial: take_number handler begins ---
    t.host.serve(tutorial::take_number, [&state] { return state.next++; });
    // --- tutorial: take_number handler ends ---
    // --- tutorial: enclave log begins ---
    t.host.serve(tutorial::note, [&t, &state](std::string text) -> task<expected<std::uint64_t>> {
        const std::uint64_t n = state.next++;
        log::info("note %llu: %s", static_cast<unsigned long long>(n), text.c_str());
        expected<void> kept = co_await t.host.call(tutorial::keep_note, text);
        if (!kept) co_return unexpected(kept.error());
        co_return n;
    });
    // --- tutorial: enclave log ends ---
    t.host.serve(tutorial::hang, [] {
        volatile std::uint64_t spin = 0;
        for (;;)
            spin = spin + 1;  // never returns: its thread stops serving
    });
}

// --- tutorial: server requests begin ---
// Answers one request, a line holding a name, with "hello, <name>!\n"; false
// once the client has closed its end. `buffered` keeps what came after the line.
task<sys::result<bool>> answer_one(sys::socket& s, std::string& buffered) {
    std::size_t end = 0;
    while ((end = buffered.find('\n')) == std::string::npos) {
        if (buffered.size() > 1024) co_return false;  // no name is that long
        std::array<std::byte, 256> chunk{};
        sys::result<std::size_t> n = co_await s.recv(chunk);
        if (!n) co_return unexpected(n.error());
        if (*n == 0) co_return false;
        buffered.append(reinterpret_cast<const char*>(chunk.data()), *n);
    }
    const std::string reply = "hello, " + buffered.substr(0, end) + "!\n";
    buffered.erase(0, end + 1);
    sys::result<void> sent = co_await s.send_all(std::as_bytes(std::span(reply)));
    if (!sent) co_return unexpected(sent.error());
    co_return true;
}

// One connection: a request at a time, each with 5 s to arrive and be answered.
task<void> serve_connection(executor& ex, sys::socket s, std::uint64_t& served) {
    std::string buffered;
    for (;;) {
        sys::result<bool> more = co_await with_timeout(ex, 5'000'000'000, answer_one(s, buffered));
        if (!more || !*more) co_return;  // closed, too slow, stopped, or failed
        ++served;
    }
}
// --- tutorial: server requests end ---

// --- tutorial: server loop begins ---
// Accepts until its token is cancelled, with a task per connection owned by
// a scope that follows that token; then stops the connections and waits
// until every one has ended.
task<void> serve_greetings(executor& ex, sys::listener l, std::uint64_t& served) {
    const cancellation_token stop = co_await this_task::token();
    async_scope connections(ex, stop);
    for (;;) {
        sys::result<sys::socket> s = co_await l.accept();
        if (!s) break;  // stopped (errc::cancelled), or the listener failed
        connections.spawn(serve_connection(ex, std::move(*s), served));
    }
    connections.request_stop();   // every connection ends at its next wait
    co_await connections.join();  // and here all of them have ended
}
// --- tutorial: server loop ends ---

// --- tutorial: server program begins ---
// What the handlers that start and stop the server share.
struct greeting_server {
    explicit greeting_server(executor& ex) : loop(ex) {}
    std::uint64_t served = 0;
    async_scope loop;  // holds the accept loop, which holds the connections
};

void server_enclave(platform::enclave_thread& t) {
    sys::client& c = sys::client::attach(t);  // this thread's sys link
    auto server = std::make_shared<greeting_server>(t.executor);
    t.host.serve(tutorial::start_server, [&t, &c, server]() -> task<expected<std::uint64_t>> {
        sys::result<sys::listener> l =
            co_await sys::listener::listen(c, sys::address::ipv4_loopback(0));
        if (!l) co_return unexpected(l.error().code);
        sys::result<sys::address> at = co_await l->local_address();
        if (!at) co_return unexpected(at.error().code);
        server->loop.spawn(serve_greetings(t.executor, std::move(*l), server->served));
        co_return at->port();
    });
    t.host.serve(tutorial::stop_server, [server]() -> task<std::uint64_t> {
        server->loop.request_stop();   // the accept ends, and with it every connection
        co_await server->loop.join();  // the loop and all its connections are gone
        co_return server->served;
    });
}
// --- tutorial: server program ends ---

// ---- host side ----------------------------------------------------------------

namespace {

int failures = 0;

// Records a mismatch, printing what was expected and what came.
void check(bool ok, const char* step, const std::string& want, const std::string& got) {
    if (ok) return;
    ++failures;
    std::fprintf(stderr, "%s: expected %s, got %s\n", step, want.c_str(), got.c_str());
}

template <class T>
std::string describe(const expected<T>& r) {
    if (!r) return std::string("error ") + std::string(to_string(r.error()));
    if constexpr (std::is_same_v<T, std::string>)
        return "\"" + *r + "\"";
    else
        return std::to_string(*r);
}

void step_when_all(std::unique_ptr<platform::host_channel>& channel) {
    // --- tutorial: when_all on the host begins ---
    auto [two, one] = sync_wait(
        channel->executor(),
        when_all(channel->endpoint().call(tutorial::greet_all, std::vector<std::string>{"a", "bb"}),
                 channel->endpoint().call(tutorial::greet_all, std::vector<std::string>{"ccc"})));
    // two: "hello, a!" and "hello, bb!" are 19 characters; one: "hello, ccc!" is 11
    // --- tutorial: when_all on the host ends ---
    check(two.has_value() && *two == 19, "when_all, first call", "19", describe(two));
    check(one.has_value() && *one == 11, "when_all, second call", "11", describe(one));
}

void step_deadline(std::unique_ptr<platform::host_channel>& channel) {
    // --- tutorial: a host that stalls begins ---
    channel->endpoint().serve(tutorial::slow_greeting,
                              [&ex = channel->executor()](std::string name) -> task<std::string> {
                                  (void)co_await ex.sleep_for(3'600'000'000'000);  // an hour
                                  co_return "hello, " + name + "!";
                              });
    // --- tutorial: a host that stalls ends ---
    // --- tutorial: deadline call begins ---
    expected<std::string> r = sync_wait(
        channel->executor(), channel->endpoint().call(tutorial::greet_within, "patient reader"));
    if (!r && r.error() == errc::deadline_exceeded)
        std::printf("the enclave gave up on the host after 10 ms\n");
    // --- tutorial: deadline call ends ---
    check(!r && r.error() == errc::deadline_exceeded, "deadline", "error deadline_exceeded",
          describe(r));
}

void step_scope(std::unique_ptr<platform::host_channel>& channel) {
    // --- tutorial: greet_each call begins ---
    expected<std::uint64_t> n =
        sync_wait(channel->executor(),
                  channel->endpoint().call(tutorial::greet_each,
                                           std::vector<std::string>{"ada", "grace", "barbara"}));
    // *n == 3: three tasks, three answers within their deadlines
    // --- tutorial: greet_each call ends ---
    check(n.has_value() && *n == 3, "scope", "3", describe(n));
}

void step_user_type(std::unique_ptr<platform::host_channel>& channel) {
    // --- tutorial: user type call begins ---
    expected<double> c = sync_wait(
        channel->executor(),
        channel->endpoint().call(tutorial::to_celsius, reading{"boiler", unit::fahrenheit, 212}));
    // *c == 100.0: 212 °F is 100 °C
    // --- tutorial: user type call ends ---
    check(c.has_value() && *c == 100.0, "user type", "100", describe(c));

    // What the codec does with a reading whose unit byte is neither 0 nor 1.
    std::vector<std::byte> bytes;
    rpc::writer w(bytes);
    rpc::encode(w, reading{"boiler", unit::celsius, 20});
    bytes[8 + 6] = std::byte{7};  // after the sensor's length and its 6 bytes
    std::tuple<reading> decoded;
    check(!rpc::decode_exactly(bytes, decoded), "user type, unit 7", "rejected", "accepted");
}

// The log records this program received, by origin.
struct log_counts {
    std::mutex mutex;
    int from_enclave = 0;
    int from_host = 0;
};

void step_context_pool_log(platform::platform_kind kind) {
    platform::enclave_config config;
    config.platform = kind;
    // --- tutorial: log sink begins ---
    static log_counts counts;
    log::set_sink(
        [](void* context, const log::record& r) noexcept {
            auto& c = *static_cast<log_counts*>(context);
            std::lock_guard lock(c.mutex);
            ++(r.origin == log::from_host ? c.from_host : c.from_enclave);
            log::stderr_sink(nullptr, r);  // and print it as the default sink does
        },
        &counts);
    // --- tutorial: log sink ends ---
    // --- tutorial: create with a context begins ---
    auto enclave =
        platform::enclave::create<counter_state>(config, counter_settings{100}, &counter_enclave);
    // --- tutorial: create with a context ends ---
    if (!enclave) {
        check(false, "context", "an enclave", std::string(to_string(enclave.error())));
        return;
    }
    std::vector<std::string> kept;
    {
        auto channel = (*enclave)->open_channel(0);
        auto first =
            sync_wait(channel->executor(), channel->endpoint().call(tutorial::take_number));
        auto second =
            sync_wait(channel->executor(), channel->endpoint().call(tutorial::take_number));
        check(first && *first == 100 && second && *second == 101, "context", "100 then 101",
              describe(first) + " then " + describe(second));
        // --- tutorial: worker pool begins ---
        platform::host_worker_pool pool(2);  // outlives the channel that uses it
        channel->endpoint().serve(tutorial::keep_note,
                                  [&pool, &kept](std::string text) -> task<expected<void>> {
                                      // Runs on a worker thread: blocking here stalls no call.
                                      auto write = [&kept, t = std::move(text)] {
                                          kept.push_back(t);  // a file write, in a real program
                                      };
                                      co_return co_await pool.run(std::move(write));
                                  });
        // --- tutorial: worker pool ends ---
        log::info("the host asks for a note");
        auto n = sync_wait(channel->executor(), channel->endpoint().call(tutorial::note, "hi"));
        check(n && *n == 102, "note", "102", describe(n));
    }
    check(kept.size() == 1 && kept[0] == "hi", "worker pool", "one note kept",
          std::to_string(kept.size()) + " notes");
    enclave->reset();  // the enclave's last log records reach the sink before it goes
    log::set_sink(nullptr);
    std::lock_guard lock(counts.mutex);
    check(counts.from_enclave >= 1 && counts.from_host >= 1, "log", "records from both sides",
          std::to_string(counts.from_enclave) + " from the enclave, " +
              std::to_string(counts.from_host) + " from the host");
}

// A client of the greeting server, with plain sockets: -1 if it cannot connect.
int connect_to(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends `text` and reads `expect_bytes` back (fewer if the stream ends).
std::string exchange(int fd, const std::string& text, std::size_t expect_bytes) {
    if (::send(fd, text.data(), text.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(text.size()))
        return "(send failed)";
    std::string got(expect_bytes, '\0');
    std::size_t at = 0;
    while (at < expect_bytes) {
        const ssize_t r = ::recv(fd, got.data() + at, expect_bytes - at, 0);
        if (r <= 0) break;
        at += static_cast<std::size_t>(r);
    }
    got.resize(at);
    return got;
}

void step_server(platform::platform_kind kind) {
    // --- tutorial: server host begins ---
    platform::enclave_config config;
    config.platform = kind;
    config.service_links = 1;  // a sys link for each enclave thread
    auto enclave = platform::enclave::create(config, server_enclave);
    // --- tutorial: server host ends ---
    if (!enclave) {
        check(false, "server", "an enclave", std::string(to_string(enclave.error())));
        return;
    }
    // --- tutorial: server service begins ---
    // The host's io_uring service for the link; destroyed before the enclave.
    auto service = sys::service::start_for(**enclave);
    // --- tutorial: server service ends ---
    if (!service && service.error() == errc::platform_unavailable) {
        std::printf("server: io_uring is not available here, skipped\n");
        return;
    }
    if (!service) {
        check(false, "server", "a sys service", std::string(to_string(service.error())));
        return;
    }
    auto channel = (*enclave)->open_channel(0);
    // --- tutorial: server start begins ---
    expected<std::uint64_t> port =
        sync_wait(channel->executor(), channel->endpoint().call(tutorial::start_server));
    // clients connect to 127.0.0.1:*port; "ada\n" is answered "hello, ada!\n"
    // --- tutorial: server start ends ---
    if (!port) {
        check(false, "server", "a port", describe(port));
        return;
    }
    const auto at = static_cast<std::uint16_t>(*port);
    const int ada = connect_to(at);
    const int two = connect_to(at);
    const int quiet = connect_to(at);
    check(ada >= 0 && two >= 0 && quiet >= 0, "server", "three connections", "a refusal");
    const std::string one_answer = exchange(ada, "ada\n", 12);
    check(one_answer == "hello, ada!\n", "server, one request", "hello, ada!", one_answer);
    const std::string two_answers = exchange(two, "grace\nbarbara\n", 30);
    check(two_answers == "hello, grace!\nhello, barbara!\n", "server, two requests",
          "hello, grace! hello, barbara!", two_answers);
    // Half a request: its connection waits in recv when the server stops.
    (void)::send(quiet, "ed", 2, MSG_NOSIGNAL);
    // --- tutorial: server stop begins ---
    expected<std::uint64_t> served =
        sync_wait(channel->executor(), channel->endpoint().call(tutorial::stop_server));
    // *served == 3; every connection is closed, the one halfway through a request too
    // --- tutorial: server stop ends ---
    check(served && *served == 3, "server, stop", "3", describe(served));
    char byte = 0;
    for (const int fd : {ada, two, quiet}) {
        check(fd >= 0 && ::recv(fd, &byte, 1, 0) <= 0, "server, stop", "closed connections",
              "a connection still open");
        if (fd >= 0) ::close(fd);
    }
    channel.reset();
    service->reset();  // before the enclave
}

[[maybe_unused]] void step_liveness() {  // unused under ThreadSanitizer (main)
    // --- tutorial: liveness begins ---
    platform::enclave_config config;
    config.platform = platform::platform_kind::process;
    config.stall_timeout_ns = 200'000'000;  // 0.2 s without progress is a stall (default 5 s)
    config.stop_grace_ns = 100'000'000;     // then teardown kills it soon
    auto enclave =
        platform::enclave::create<counter_state>(config, counter_settings{0}, &counter_enclave);
    // --- tutorial: liveness ends ---
    if (!enclave && enclave.error() == errc::platform_unavailable) return;
    if (!enclave) {
        check(false, "liveness", "an enclave", std::string(to_string(enclave.error())));
        return;
    }
    auto channel = (*enclave)->open_channel(0);
    // --- tutorial: a stalled call begins ---
    expected<void> r = sync_wait(channel->executor(), channel->endpoint().call(tutorial::hang));
    // r.error() == errc::rpc_channel_faulted, and the reason says why:
    // channel->endpoint().ring_fault() == errc::peer_stalled
    // (*enclave)->failure() == errc::peer_stalled
    // --- tutorial: a stalled call ends ---
    check(!r && channel->endpoint().ring_fault() == errc::peer_stalled &&
              (*enclave)->failure() == errc::peer_stalled,
          "liveness", "peer_stalled", std::string(to_string(channel->endpoint().ring_fault())));
    channel.reset();
}

}  // namespace

// --- tutorial: choosing the platform begins ---
expected<std::unique_ptr<platform::enclave>> make_enclave(platform::platform_kind kind) {
    platform::enclave_config config;
    config.platform = kind;                         // sim or process
    config.enclave_threads = 1;                     // one channel to the host per thread
    config.enclave_memory = std::size_t{32} << 20;  // process: the enclave's whole heap
    return platform::enclave::create(config, tutorial_enclave);
}
// --- tutorial: choosing the platform ends ---

// Runs every step on an enclave of `kind`.
void run_steps(platform::platform_kind kind, const char* name) {
    auto enclave = make_enclave(kind);
    if (!enclave && enclave.error() == errc::platform_unavailable) {
        std::printf("%s: this build or machine cannot run it, skipped\n", name);
        return;
    }
    if (!enclave) {
        check(false, name, "an enclave", std::string(to_string(enclave.error())));
        return;
    }
    auto channel = (*enclave)->open_channel(0);
    // As in hello_enclave.cc, the host serves the greeting.
    channel->endpoint().serve(hello::greeting,
                              [](std::string who) { return "hello, " + who + "!"; });
    step_when_all(channel);
    step_deadline(channel);
    step_scope(channel);
    step_user_type(channel);
    channel.reset();  // close the channel before the enclave goes
    step_context_pool_log(kind);
    step_server(kind);
    const errc failure = (*enclave)->failure();
    check(failure == errc::ok, name, "an enclave still running", std::string(to_string(failure)));
    std::printf("%s: every step ran\n", name);
}

int main() {
    run_steps(platform::platform_kind::sim, "sim");
#if AIRLOCK_TSAN
    // ThreadSanitizer does not support the forked, sandboxed enclave process
    // (docs/platform.md): the process steps run in the other builds.
    std::printf("process: skipped under ThreadSanitizer\n");
#else
    run_steps(platform::platform_kind::process, "process");
    step_liveness();
#endif
    if (failures != 0) {
        std::fprintf(stderr, "tutorial_examples: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("tutorial_examples: every step did what docs/tutorial.md says\n");
    return 0;
}
