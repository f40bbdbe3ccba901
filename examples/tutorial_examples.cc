// SPDX-License-Identifier: Apache-2.0
// Description: the snippets of docs/tutorial.md's further steps, in one
// program that runs each of them against a sim enclave and checks what it
// got. Built and run as the test examples.tutorial_examples. The text between
// each pair of `// --- tutorial: <name> begins/ends ---` markers appears
// verbatim in docs/tutorial.md; tools/check_tutorial.py checks it.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

// --- tutorial: headers begins ---
#include <airlock/async/deadline.hh>
#include <airlock/async/scope.hh>
#include <airlock/async/sync_wait.hh>
#include <airlock/async/when_all.hh>
#include <airlock/platform/enclave.hh>
#include <airlock/platform/host_worker_pool.hh>
#include <airlock/platform/log.hh>
#include <airlock/rpc/codec.hh>

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
    async_scope scope(t.executor);
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
    const errc failure = (*enclave)->failure();
    check(failure == errc::ok, name, "an enclave still running", std::string(to_string(failure)));
    std::printf("%s: every step ran\n", name);
}

int main() {
    run_steps(platform::platform_kind::sim, "sim");
#if defined(__SANITIZE_THREAD__)
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
