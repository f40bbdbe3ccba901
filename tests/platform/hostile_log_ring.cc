// SPDX-License-Identifier: Apache-2.0
// Description: a host that forges the indices of an enclave thread's log
// ring. A forged head (beyond the tail, a lap ahead, behind the head it
// stored before, misaligned) faults that log ring for good: the enclave
// never blocks, writes nothing outside the ring, drops and counts every
// later record of the thread, and its channel goes on; an honest head lets
// records through again. A forged tail or record header in front of the
// host's own drain faults that ring only, reported once as an error record
// of the host, while another thread's records still arrive (HOSTILE-INPUTS
// #1-#3, #5, #16, #27; docs/trust-model.md, "The enclave's log rings").
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "airlock/async/sync_wait.hh"
#include "airlock/base/sanitizers.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/platform/log.hh"
#include "airlock/ring/layout.hh"
#include "airlock/ring/shared_memory.hh"
#include "platform/process_support.hh"
#include "support/region_fixture.hh"

namespace {

using namespace airlock;
using platform::platform_kind;
using ring::shared;

// Logs `n` records "<what> <i>" at info level on the serving enclave thread;
// returns how many records that thread has dropped in all (log::dropped()).
constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t, std::string)> log_n{"log_n"};

void program(platform::enclave_thread& t) {
    t.host.serve(log_n, [](std::uint64_t n, std::string what) {
        for (std::uint64_t i = 0; i < n; ++i)
            log::info("%s %llu", what.c_str(), static_cast<unsigned long long>(i));
        return log::dropped();
    });
}

constexpr std::size_t threads = 2;
// A record of enclave thread 0 with this text holds the drain (the host's
// only reader of the log rings) inside the sink until the test opens the
// gate: while it is held, the host's head stays where it is and the test's
// forgeries are the only writes of the host to the ring.
constexpr const char* gate_text = "gate 0";
const std::string fault_prefix = "enclave thread 0's log ring faulted: ";

struct gated_sink {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<log::record> records;  // text views dangle: use texts
    std::vector<std::string> texts;
    bool holding = false;  // the drain waits in the gate
    bool open = false;

    static void sink(void* self, const log::record& r) noexcept {
        auto& s = *static_cast<gated_sink*>(self);
        std::unique_lock lock(s.mutex);
        s.records.push_back(r);
        s.texts.emplace_back(r.text);
        s.changed.notify_all();
        if (r.origin == 0 && r.text == gate_text) {
            s.holding = true;
            s.changed.notify_all();
            s.changed.wait(lock, [&] { return s.open; });
            s.holding = false;
        }
    }
    void open_gate() {
        std::lock_guard lock(mutex);
        open = true;
        changed.notify_all();
    }
    // Waits until `pred` holds, woken by each record (the bound only ends a
    // test whose records never come; the assertions are about what came).
    template <class P>
    bool wait_for(P pred) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, std::chrono::seconds(30), pred);
    }
    // Records from `origin`; the caller holds the mutex (as wait_for's
    // predicate does).
    std::uint64_t count_from(std::int64_t origin) const {
        return static_cast<std::uint64_t>(std::count_if(
            records.begin(), records.end(), [&](const auto& r) { return r.origin == origin; }));
    }
    std::uint64_t from(std::int64_t origin) {
        std::lock_guard lock(mutex);
        return count_from(origin);
    }
    std::uint64_t dropped_reported(std::int64_t origin) {
        std::lock_guard lock(mutex);
        std::uint64_t n = 0;
        for (const auto& r : records)
            if (r.origin == origin) n += r.dropped_before;
        return n;
    }
    // The host's records saying that enclave thread 0's log ring faulted.
    std::vector<std::string> faults() {
        std::lock_guard lock(mutex);
        std::vector<std::string> out;
        for (std::size_t i = 0; i < records.size(); ++i)
            if (records[i].origin == log::from_host && texts[i].starts_with(fault_prefix))
                out.push_back(texts[i]);
        return out;
    }
};

// A two-thread enclave whose records go to a gated sink, with the host's own
// view of its region. Its destructor opens the gate before the enclave
// goes, so a failed assertion cannot leave the drain held.
class log_host {
  public:
    explicit log_host(platform_kind kind) {
        log::set_sink(&gated_sink::sink, &sink_);
        platform::enclave_config config = test::process_config(threads);
        config.platform = kind;
        auto e = platform::enclave::create(config, &program);
        if (!e) {
            error_ = e.error();
            return;
        }
        enclave_ = std::move(*e);
        auto region = test::host_view_of_region(*enclave_);
        if (!region) {
            error_ = region.error();
            return;
        }
        region_ = std::move(*region);
        for (std::size_t i = 0; i < threads; ++i)
            channels_.push_back(enclave_->open_channel(i));
    }
    ~log_host() {
        sink_.open_gate();
        while (!channels_.empty())  // each channel's executor nests in the one before
            channels_.pop_back();
        enclave_.reset();  // its drain delivers what is left in healthy rings
        log::set_sink(nullptr);
    }
    log_host(const log_host&) = delete;
    log_host& operator=(const log_host&) = delete;

    [[nodiscard]] errc error() const { return error_; }
    gated_sink& sink() { return sink_; }
    platform::enclave& enclave() { return *enclave_; }
    // Enclave thread i's log ring, as the host sees it.
    [[nodiscard]] ring::ring_view log_ring(std::size_t i) const {
        return region_.ring(platform::log_ring(threads, i));
    }
    // Enclave thread i logs n records; returns its dropped count, or the
    // call's error.
    expected<std::uint64_t> log(std::size_t i, std::uint64_t n, const std::string& what) {
        auto& ch = *channels_[i];
        return async::sync_wait(ch.executor(), ch.endpoint().call(log_n, n, what));
    }
    // Thread 0 logs the gate record; returns once the drain holds in it.
    bool hold_drain() {
        if (!log(0, 1, "gate")) return false;
        return sink_.wait_for([&] { return sink_.holding; });
    }

  private:
    gated_sink sink_;
    errc error_ = errc::ok;
    std::unique_ptr<platform::enclave> enclave_;
    ring::region region_;
    std::vector<std::unique_ptr<platform::host_channel>> channels_;
};

std::uint64_t head_of(const ring::ring_view& r) {
    return shared::load_acquire(r.control->head);
}
std::uint64_t tail_of(const ring::ring_view& r) {
    return shared::load_acquire(r.control->tail);
}

// Every byte of a ring: its control block and its data.
std::vector<std::uint64_t> words_of(const ring::ring_view& r) {
    std::vector<std::uint64_t> out;
    const auto* control = reinterpret_cast<const ring::shared_u64*>(r.control);
    for (std::size_t i = 0; i < sizeof(ring::wire::ring_control) / 8; ++i)
        out.push_back(shared::load_relaxed(control[i]));
    for (std::size_t i = 0; i < r.capacity / 8; ++i)
        out.push_back(shared::load_relaxed(r.data[i]));
    return out;
}

// A forgery of either kind below, on one platform.
template <class Forgery>
struct forgery_case {
    platform_kind platform;
    Forgery forgery;
};

template <class Forgery>
void PrintTo(const forgery_case<Forgery>& c, std::ostream* os) {
    *os << test::platform_name(c.platform) << ' ' << c.forgery.name;
}

// Every forgery on every platform.
template <class Forgery, std::size_t N>
std::vector<forgery_case<Forgery>> on_each_platform(const Forgery (&forgeries)[N]) {
    std::vector<forgery_case<Forgery>> out;
#if AIRLOCK_TSAN
    // ThreadSanitizer does not support the forked, sandboxed enclave
    // process: under it these run on sim only (a skip would fail the suite).
    const platform_kind kinds[] = {platform_kind::sim};
#else
    const platform_kind kinds[] = {platform_kind::sim, platform_kind::process};
#endif
    for (platform_kind k : kinds)
        for (const Forgery& f : forgeries)
            out.push_back({k, f});
    return out;
}

// A case's test name: its platform and its forgery.
constexpr auto case_name = [](const auto& p) {
    return test::platform_name(p.param.platform) + "_" + p.param.forgery.name;
};

// ---------------------------------------------------------------------------
// The enclave's producer against a forged head.

struct head_forgery {
    const char* name;
    // The forged head from the host's honest head and the enclave's tail,
    // or `keep` for the honest control case.
    std::uint64_t (*forge)(std::uint64_t head, std::uint64_t tail, std::uint64_t capacity);
    bool faults;
};

constexpr std::uint64_t keep = ~std::uint64_t{0};

const head_forgery head_forgeries[] = {
    {"honest", [](std::uint64_t, std::uint64_t, std::uint64_t) { return keep; }, false},
    {"beyond_the_tail", [](std::uint64_t, std::uint64_t tail, std::uint64_t) { return tail + 8; },
     true},
    {"a_lap_beyond_the_tail",
     [](std::uint64_t, std::uint64_t tail, std::uint64_t capacity) { return tail + capacity; },
     true},
    {"far_beyond_the_tail",
     [](std::uint64_t, std::uint64_t tail, std::uint64_t) {
         return tail + (std::uint64_t{1} << 62);
     },
     true},
    {"behind_the_previous_head",
     [](std::uint64_t head, std::uint64_t, std::uint64_t) { return head - 8; }, true},
    {"back_to_zero", [](std::uint64_t, std::uint64_t, std::uint64_t) { return std::uint64_t{0}; },
     true},
    {"misaligned_within_the_records",
     [](std::uint64_t head, std::uint64_t, std::uint64_t) { return head + 4; }, true},
    {"misaligned_at_the_tail",
     [](std::uint64_t, std::uint64_t tail, std::uint64_t) { return tail + 1; }, true},
};

using head_case = forgery_case<head_forgery>;

class hostile_log_head : public testing::TestWithParam<head_case> {};

TEST_P(hostile_log_head, a_forged_head_drops_and_counts_and_never_blocks) {
    const head_forgery& forgery = GetParam().forgery;
    test::watchdog dog(std::chrono::seconds(120), std::string("log head forgery ") + forgery.name);
    log_host h(GetParam().platform);
    ASSERT_EQ(h.error(), errc::ok) << to_string(h.error());
    const ring::ring_view attacked = h.log_ring(0);
    // Thread 1 never logs: its ring lies beside thread 0's and must stay
    // as it is, whatever thread 0's producer is made to believe.
    const std::vector<std::uint64_t> neighbour = words_of(h.log_ring(1));

    // 1. Warm-up: more than a quarter of the ring, so the drain stores a
    //    head beyond 0, and less than the ring, so nothing is dropped.
    constexpr std::uint64_t warm_up = 200;
    auto r = h.log(0, warm_up, "warm-up");
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, 0u);
    ASSERT_TRUE(h.sink().wait_for([&] { return h.sink().texts.size() >= warm_up; }));

    // 2. Hold the drain, then log far more than the ring holds: the
    //    producer reads the host's head (it cannot move now), finds the ring
    //    full and drops the rest, counted.
    ASSERT_TRUE(h.hold_drain());
    const std::uint64_t honest_head = head_of(attacked);
    ASSERT_GT(honest_head, 0u) << "the warm-up must cross the drain's publish threshold";
    constexpr std::uint64_t fill = 1000;
    r = h.log(0, fill, "fill");
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    const std::uint64_t dropped_filling = *r;
    ASSERT_GT(dropped_filling, 0u) << "the fill must overflow the ring";
    ASSERT_LT(dropped_filling, fill);
    const std::uint64_t tail = tail_of(attacked);
    ASSERT_EQ(head_of(attacked), honest_head);
    ASSERT_LE(tail - honest_head, attacked.capacity);

    // 3. The forgery: the host stores its head, and thread 0 logs again.
    //    The ring is full by the honest head, so each record makes the
    //    producer read the head once more, and it meets the forged one.
    const std::uint64_t forged = forgery.forge(honest_head, tail, attacked.capacity);
    if (forged != keep) shared::store_release(attacked.control->head, forged);
    constexpr std::uint64_t more = 10;
    r = h.log(0, more, "after the forgery");
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, dropped_filling + more) << "every record dropped and counted, none waited for";
    EXPECT_EQ(tail_of(attacked), tail) << "nothing was written after the forged head";

    // 4. The drain goes on: it reads every record up to the tail and stores
    //    its own, honest head, leaving the ring empty.
    h.sink().open_gate();
    const std::uint64_t delivered = warm_up + 1 + (fill - dropped_filling);
    ASSERT_TRUE(h.sink().wait_for([&] { return h.sink().texts.size() >= delivered; }));
    for (int i = 0; i < 30'000 && head_of(attacked) != tail; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(head_of(attacked), tail) << "the drain did not store its head";

    // 5. The ring is empty. A forged head has faulted it for good: every
    //    record is dropped and counted; an honest one lets them through,
    //    the first carrying the count of those dropped before it.
    constexpr std::uint64_t last = 10;
    r = h.log(0, last, "after the drain");
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    const std::uint64_t dropped = *r;
    if (forgery.faults) {
        EXPECT_EQ(dropped, dropped_filling + more + last) << "the fault is sticky";
        EXPECT_EQ(tail_of(attacked), tail) << "a faulted log ring is never written again";
    } else {
        EXPECT_EQ(dropped, dropped_filling + more);
        EXPECT_NE(tail_of(attacked), tail);
    }

    // The thread and its channel go on, and the neighbour ring is untouched.
    auto other = h.log(1, 0, "none");
    ASSERT_TRUE(other.has_value()) << to_string(other.error());
    EXPECT_EQ(*other, 0u);
    r = h.log(0, 0, "none");
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, dropped);
    EXPECT_EQ(words_of(h.log_ring(1)), neighbour) << "thread 1's log ring changed";
    EXPECT_EQ(h.enclave().failure(), errc::ok) << h.enclave().diagnostic();

    // 6. Every record of thread 0 was delivered or counted by the enclave;
    //    the host saw the count only where a record carried it. The drain
    //    is never faulted by what the enclave wrote.
    const std::uint64_t logged = warm_up + 1 + fill + more + last;
    if (!forgery.faults) {
        ASSERT_TRUE(h.sink().wait_for([&] { return h.sink().texts.size() >= delivered + last; }));
    }
    const std::uint64_t got = h.sink().from(0);
    EXPECT_EQ(got + dropped, logged);
    EXPECT_EQ(h.sink().dropped_reported(0), forgery.faults ? 0 : dropped);
    EXPECT_TRUE(h.sink().faults().empty()) << h.sink().faults().front();
}

INSTANTIATE_TEST_SUITE_P(forgeries, hostile_log_head,
                         testing::ValuesIn(on_each_platform(head_forgeries)), case_name);

// ---------------------------------------------------------------------------
// The host's drain against a forged tail or record header. The drain is the
// host's own reader, so a forgery there is the host harming itself; what
// matters is that the drain stays bounded and the enclave never notices.

struct tail_forgery {
    const char* name;
    // Writes the forgery; `tail` is the enclave's tail, all of it read.
    void (*forge)(const ring::ring_view& r, std::uint64_t tail);
    errc reported;
};

void store_tail(const ring::ring_view& r, std::uint64_t tail) {
    shared::store_release(r.control->tail, tail);
}
// A record header at `tail`, published.
void store_record(const ring::ring_view& r, std::uint64_t tail, ring::wire::record_header h,
                  std::uint64_t record_bytes) {
    shared::store_relaxed(r.data[(tail & (r.capacity - 1)) / 8], ring::wire::encode(h));
    store_tail(r, tail + record_bytes);
}

const tail_forgery tail_forgeries[] = {
    {"tail_beyond_capacity",
     [](const ring::ring_view& r, std::uint64_t tail) { store_tail(r, tail + r.capacity + 8); },
     errc::fault_tail_beyond_capacity},
    {"tail_rewound", [](const ring::ring_view& r, std::uint64_t tail) { store_tail(r, tail - 8); },
     errc::fault_tail_rewound},
    {"tail_misaligned",
     [](const ring::ring_view& r, std::uint64_t tail) { store_tail(r, tail + 4); },
     errc::fault_index_misaligned},
    {"record_longer_than_the_tail",
     [](const ring::ring_view& r, std::uint64_t tail) {
         store_record(r, tail, {.length = 0xffff'fff0u, .tag = 1}, 8);
     },
     errc::fault_record_length},
    {"record_longer_than_a_log_record",
     [](const ring::ring_view& r, std::uint64_t tail) {
         store_record(r, tail, {.length = 4096, .tag = 1}, ring::wire::record_bytes(4096));
     },
     errc::fault_fragment_total},
    {"record_of_no_kind",
     [](const ring::ring_view& r, std::uint64_t tail) {
         store_record(r, tail, {.length = 8, .tag = 1, .kind = ring::wire::record_kind{0x7f}}, 16);
     },
     errc::fault_record_header},
};

using tail_case = forgery_case<tail_forgery>;

class hostile_log_drain : public testing::TestWithParam<tail_case> {};

TEST_P(hostile_log_drain, a_forged_tail_faults_that_ring_only_and_says_so_once) {
    const tail_forgery& forgery = GetParam().forgery;
    test::watchdog dog(std::chrono::seconds(120), std::string("log tail forgery ") + forgery.name);
    log_host h(GetParam().platform);
    ASSERT_EQ(h.error(), errc::ok) << to_string(h.error());
    const ring::ring_view attacked = h.log_ring(0);

    // Hold the drain on thread 0's gate record, all of it read; the
    // enclave is idle, so the test is the only writer of the ring.
    ASSERT_TRUE(h.hold_drain());
    const std::uint64_t tail = tail_of(attacked);
    ASSERT_GT(tail, 0u);
    forgery.forge(attacked, tail);
    h.sink().open_gate();

    // The drain reports the fault once, at error level, as the host.
    const std::string expected = fault_prefix + std::string(to_string(forgery.reported));
    ASSERT_TRUE(h.sink().wait_for([&] {
        return std::any_of(h.sink().texts.begin(), h.sink().texts.end(),
                           [&](const std::string& t) { return t.starts_with(fault_prefix); });
    }));
    std::vector<std::string> faults = h.sink().faults();
    ASSERT_EQ(faults.size(), 1u);
    EXPECT_EQ(faults[0], expected);

    // Thread 1's records still arrive; thread 0 logs on into a ring nobody
    // drains: never blocked, the overflow dropped and counted.
    auto r = h.log(1, 3, "other thread");
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_EQ(*r, 0u);
    ASSERT_TRUE(h.sink().wait_for([&] { return h.sink().count_from(1) >= 3; }));
    constexpr std::uint64_t burst = 1000;
    r = h.log(0, burst, "unread");
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_GT(*r, 0u) << "an undrained ring must fill";
    EXPECT_LT(*r, burst);
    EXPECT_EQ(h.enclave().failure(), errc::ok) << h.enclave().diagnostic();

    // Once more from thread 1, then nothing more of thread 0 ever reaches
    // the sink, and the fault is not reported again.
    r = h.log(1, 1, "other thread again");
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    ASSERT_TRUE(h.sink().wait_for([&] { return h.sink().count_from(1) >= 4; }));
    EXPECT_EQ(h.sink().from(0), 1u) << "only the gate record of thread 0";
    EXPECT_EQ(h.sink().faults().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(forgeries, hostile_log_drain,
                         testing::ValuesIn(on_each_platform(tail_forgeries)), case_name);

}  // namespace
