// SPDX-License-Identifier: Apache-2.0
// Description: a scribbler thread rewrites the shared region (indices,
// record headers, payload, doorbells, the region header) with atomic 8-byte
// stores at full speed while the enclave-side consumer, and separately the
// enclave-side producer, keeps working: nothing crashes or leaves the region
// (a heap block of exactly its size, under ASan), every failure is
// ring_empty/ring_full/timed_out or a fault code, a fault is sticky, and
// scribbles the enclave must ignore (header, doorbells, its own index,
// unused words) never fault it or change a message (HOSTILE-INPUTS #3, #6,
// #7, #17, #23, #24, #27; run under TSan too).
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "hostile_support.hh"

using namespace airlock;
using namespace airlock::ring;
using airlock::test::code_of;

namespace {

constexpr std::uint64_t capacity = 1024;
// The streaming tests use larger rings so the two threads hand over many
// messages per switch, however loaded the machine is.
constexpr std::uint64_t stream_capacity = 64 * 1024;
constexpr std::uint64_t race_capacity = 16 * 1024;
constexpr std::size_t max_message = 16 * 1024;

std::uint64_t splitmix(std::uint64_t& s) {
    std::uint64_t z = (s += 0x9E37'79B9'7F4A'7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBull;
    return z ^ (z >> 31);
}

// A value a hostile host might write: small, near an index, huge, a
// plausible record header, or random bits.
std::uint64_t hostile_value(std::uint64_t& s, std::uint64_t near) {
    const std::uint64_t r = splitmix(s);
    switch (r % 8) {
        case 0:
            return 0;
        case 1:
            return near + ((r >> 8) % (4 * capacity)) - 2 * capacity;
        case 2:
            return near + 8 * ((r >> 8) % (capacity / 8 + 2));
        case 3:
            return (r >> 8) | 1;  // misaligned
        case 4:                   // a record header with a plausible kind and length
            return ((r >> 8) % (capacity + 16)) | (((r >> 20) % 7) << 48) |
                   (((r >> 32) & 0xffff) << 32);
        case 5:
            return ~std::uint64_t{0};
        default:
            return splitmix(s);
    }
}

// A thread that runs `body(seed)` in a loop until stopped, counting turns.
class scribbler {
  public:
    template <class Body>
    explicit scribbler(Body body, std::uint64_t seed)
        : thread_([this, body, seed]() mutable {
              std::uint64_t s = seed;
              while (!stop_.load(std::memory_order_relaxed)) {
                  body(s);
                  turns_.fetch_add(1, std::memory_order_relaxed);
              }
          }) {}
    ~scribbler() { stop(); }
    void stop() {
        stop_.store(true, std::memory_order_relaxed);
        if (thread_.joinable()) thread_.join();
    }
    [[nodiscard]] std::uint64_t turns() const { return turns_.load(std::memory_order_relaxed); }

  private:
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> turns_{0};
    std::thread thread_;
};

// Each round runs until the scribbler has had this many turns (or the ring
// faults), however the two threads happen to be scheduled.
constexpr std::uint64_t turns_per_round = 3000;

// Words of the region the enclave must never read after attach, or that
// hold only hints: the region header and ring table, every doorbell, and
// the unused words of each control block.
std::vector<std::size_t> ignorable_words(const test::exact_region& r) {
    std::vector<std::size_t> words;
    const std::size_t first_ring = r.offset_of(r.ring(0).control) / 8;
    for (std::size_t w = 0; w < first_ring; ++w)
        words.push_back(w);  // header, table, bells
    for (std::size_t i = 0; i < r.region().ring_count(); ++i) {
        const std::size_t c = r.offset_of(r.ring(i).control) / 8;
        for (std::size_t w = 0; w < sizeof(wire::ring_control) / 8; ++w) {
            const std::size_t off = w * 8;
            const bool tail = off == offsetof(wire::ring_control, tail);
            const bool head = off == offsetof(wire::ring_control, head);
            if (!tail && !head) words.push_back(c + w);  // bells and unused words
        }
    }
    return words;
}

int rounds(int n) {
    return static_cast<int>(n * test::stress_scale()) + 1;
}

// Whether to run another round of a test that must see the scribbler provoke
// at least one fault: the scaled number of rounds, then more (up to a cap)
// while none has. Whether a scribble lands while the enclave side reads it
// depends on how the two threads are scheduled, which a loaded machine or a
// sanitizer can starve for a few rounds; the cap keeps a scribbler that
// truly never reaches the ring a failure, not a hang.
bool another_round(int round, int scaled_rounds, std::uint64_t faults) {
    constexpr int cap = 2000;
    return round < scaled_rounds || (faults == 0 && round < cap);
}

// Outcome counters, printed at the end of each test.
struct tally {
    std::uint64_t messages = 0;
    std::uint64_t faults = 0;
    std::uint64_t calls = 0;
    void print(const char* what) const {
        std::printf("%s: %llu calls, %llu messages, %llu rounds ended in a fault\n", what,
                    static_cast<unsigned long long>(calls),
                    static_cast<unsigned long long>(messages),
                    static_cast<unsigned long long>(faults));
    }
};

// Checks one consumer outcome; returns true when the ring has faulted.
bool consumer_outcome(ring_consumer& c, errc e, tally& t) {
    ++t.calls;
    if (e == errc::ok || e == errc::ring_empty || e == errc::timed_out) {
        EXPECT_FALSE(c.faulted()) << "a faulted ring reported " << to_string(e);
        return false;
    }
    EXPECT_TRUE(is_fault(e)) << "unexpected outcome " << to_string(e);
    AIRLOCK_EXPECT_ERRC(c.fault(), e);
    test::expect_consumer_stuck(c, e);
    ++t.faults;
    return true;
}

// Drives every consumer entry point once, in turn.
bool consumer_step(ring_consumer& c, int call, tally& t) {
    switch (call % 5) {
        case 0: {
            auto m = c.try_receive();
            if (m) {
                ++t.messages;
                EXPECT_LE(m->bytes.size(), max_message);
            }
            return consumer_outcome(c, code_of(m), t);
        }
        case 1: {
            auto rec = c.try_peek();
            if (rec) {
                EXPECT_LE(rec->size(), c.max_record_payload());
                std::vector<std::byte> copy(rec->size());
                rec->copy_to(copy);
                // Release only whole messages: fragments belong to try_receive.
                if (rec->kind() == wire::record_kind::message) c.release(*rec);
            }
            return consumer_outcome(c, code_of(rec), t);
        }
        case 2: {
            auto n = c.poll(4, [&](const message& m) {
                ++t.messages;
                EXPECT_LE(m.bytes.size(), max_message);
            });
            if (n) {
                EXPECT_LE(*n, 4u);
            }
            return consumer_outcome(c, code_of(n), t);
        }
        case 3:
            (void)c.has_data();
            return consumer_outcome(c, c.fault(), t);
        default:
            return consumer_outcome(c, code_of(c.wait_for_data(test::short_wait())), t);
    }
}

consumer_options capped() {
    consumer_options o;
    o.max_message = max_message;
    return o;
}

}  // namespace

TEST(hostile_scribbler, consumer_under_random_scribbles) {
    test::watchdog dog(std::chrono::seconds(240), "consumer under a scribbler");
    tally t;
    for (int round = 0; another_round(round, rounds(40), t.faults); ++round) {
        SCOPED_TRACE(round);
        test::exact_region r({{capacity, capacity}, 1});
        ring_consumer c(r.ring(0), capped());
        const std::size_t words = r.words();
        const std::size_t control = r.offset_of(r.ring(0).control) / 8;
        const std::size_t ring_words = (sizeof(wire::ring_control) + capacity) / 8;
        const std::size_t data = r.offset_of(r.ring(0).data) / 8;
        const std::size_t tail_word = r.offset_of(&r.ring(0).control->tail) / 8;
        const std::size_t head_word = r.offset_of(&r.ring(0).control->head) / 8;
        // Mode 0: scribbles anywhere in the region, nothing honest. Modes
        // 1-3: an honest producer (messages of up to 3000 bytes, so also
        // fragments) on ring 0, plus scribbles now and then: anywhere in
        // ring 0 (1), on its tail (2), on the header the consumer reads
        // next (3).
        const int mode = round % 4;
        scribbler host(
            [&, mode, hp = std::make_shared<ring_producer>(r.ring(0)),
             seq = std::uint64_t{0}](std::uint64_t& s) mutable {
                const std::uint64_t pick = splitmix(s);
                if (mode != 0) {
                    const std::size_t n = static_cast<std::size_t>(pick >> 8) % 3000;
                    const std::vector<std::byte> bytes = test::pattern(n, seq);
                    outgoing_message m(static_cast<std::uint16_t>(seq), bytes);
                    for (int i = 0; i < 8 && !m.done(); ++i)
                        if (!hp->try_send(m) && hp->faulted()) break;
                    if (!m.done()) hp->abandon(m);
                    ++seq;
                    if (pick % (mode == 1 ? 256 : 16) != 0) return;
                }
                const std::uint64_t head = r.host_load(head_word);
                switch (mode) {
                    case 0:
                        r.host_store(static_cast<std::size_t>(splitmix(s) % words),
                                     hostile_value(s, head));
                        break;
                    case 1:
                        r.host_store(control + static_cast<std::size_t>(splitmix(s) % ring_words),
                                     hostile_value(s, head));
                        break;
                    case 2:
                        r.host_store(tail_word, hostile_value(s, head));
                        break;
                    default:
                        r.host_store(data + (head % capacity) / 8, hostile_value(s, head));
                        break;
                }
            },
            0x5EED'0000 + static_cast<std::uint64_t>(round));
        for (int call = 0; host.turns() < turns_per_round; ++call) {
            if (consumer_step(c, call, t)) break;
            if (call % 8 == 7) std::this_thread::yield();  // share the CPU with the host
        }
        host.stop();
        if (::testing::Test::HasFatalFailure()) return;
    }
    t.print("consumer under random scribbles");
    EXPECT_GT(t.faults, 0u) << "the scribbler never provoked a fault: it is not reaching the ring";
}

TEST(hostile_scribbler, consumer_ignores_what_it_must_ignore) {
    // The host produces honestly while scribbling only the words the
    // consumer must never rely on: the region header and ring table, every
    // doorbell and the unused control-block words. Every message arrives
    // intact, in order, and the consumer never faults.
    test::watchdog dog(std::chrono::seconds(240), "consumer with benign scribbles");
    test::exact_region r({{stream_capacity, capacity}, 2});
    const std::vector<std::size_t> targets = ignorable_words(r);
    const std::uint64_t total = static_cast<std::uint64_t>(rounds(5000));
    ring_consumer c(r.ring(0), capped());
    scribbler host(
        [&, hp = std::make_shared<ring_producer>(r.ring(0)),
         om = std::shared_ptr<outgoing_message>(), bytes = std::vector<std::byte>(),
         seq = std::uint64_t{0}](std::uint64_t& s) mutable {
            for (int i = 0; i < 4; ++i)
                r.host_store(targets[splitmix(s) % targets.size()], hostile_value(s, 0));
            if (seq >= total) return;
            if (!om) {
                bytes = test::pattern(static_cast<std::size_t>(seq * 7) % 1500, seq);
                om = std::make_shared<outgoing_message>(static_cast<std::uint16_t>(seq), bytes);
            }
            auto sent = hp->try_send(*om);
            AIRLOCK_CHECK(sent || sent.error() == errc::ring_full, "honest host producer faulted");
            if (om->done()) {
                om.reset();
                ++seq;
            }
        },
        0xB0B);
    std::uint64_t received = 0;
    while (received < total) {
        auto m = c.try_receive();
        if (!m) {
            ASSERT_EQ(m.error(), errc::ring_empty)
                << "message " << received << ": " << to_string(m.error());
            std::this_thread::yield();  // let the host produce
            continue;
        }
        ASSERT_EQ(m->tag, static_cast<std::uint16_t>(received));
        ASSERT_EQ(m->bytes.size(), (received * 7) % 1500) << "message " << received;
        ASSERT_EQ(test::first_mismatch(m->bytes, received), -1) << "message " << received;
        ++received;
    }
    host.stop();
    EXPECT_FALSE(c.faulted()) << to_string(c.fault());
}

TEST(hostile_scribbler, producer_under_random_scribbles) {
    test::watchdog dog(std::chrono::seconds(240), "producer under a scribbler");
    tally t;
    for (int round = 0; another_round(round, rounds(40), t.faults); ++round) {
        SCOPED_TRACE(round);
        test::exact_region r({{capacity}, 1});
        ring_producer p(r.ring(0));
        const std::size_t words = r.words();
        const std::size_t head_word = r.offset_of(&r.ring(0).control->head) / 8;
        const std::size_t tail_word = r.offset_of(&r.ring(0).control->tail) / 8;
        const bool aim_at_head = round % 2 == 1;
        // The host thread: an honest consumer plus scribbles anywhere (or,
        // every other round, on the head the producer reads).
        scribbler host(
            [&, hc = std::make_shared<ring_consumer>(r.ring(0))](std::uint64_t& s) mutable {
                (void)hc->try_receive();
                if (splitmix(s) % 16 != 0) return;
                const std::uint64_t tail = r.host_load(tail_word);
                if (aim_at_head)
                    r.host_store(head_word, hostile_value(s, tail));
                else
                    r.host_store(static_cast<std::size_t>(splitmix(s) % words),
                                 hostile_value(s, tail));
            },
            0xFACE + static_cast<std::uint64_t>(round));
        const std::vector<std::byte> big = test::pattern(3000, 1);
        auto pending = std::make_unique<outgoing_message>(1, big);
        bool faulted = false;
        for (int call = 0; host.turns() < turns_per_round && !faulted; ++call) {
            if (call % 8 == 7) std::this_thread::yield();  // share the CPU with the host
            errc e = errc::ok;
            switch (call % 4) {
                case 0:
                    e = code_of(p.try_send(2, test::pattern(static_cast<std::size_t>(call) % 400,
                                                            static_cast<std::uint64_t>(call))));
                    break;
                case 1: {
                    auto res = p.try_reserve(static_cast<std::size_t>(call) % 300, 3);
                    if (res) {
                        res->write(test::pattern(res->size(), 3));
                        p.commit(*res);
                        p.publish();
                    }
                    e = code_of(res);
                    break;
                }
                case 2:
                    e = code_of(p.try_send(*pending));
                    if (pending->done()) pending = std::make_unique<outgoing_message>(1, big);
                    if (call % 40 == 2 && !pending->done()) {
                        // abandon() returns nothing: it reports a fault it
                        // meets (reading the head for room for its abort
                        // record) through fault().
                        p.abandon(*pending);
                        if (p.faulted()) e = p.fault();
                    }
                    if (pending->done()) pending = std::make_unique<outgoing_message>(1, big);
                    break;
                default:
                    e = code_of(p.wait_for_space(200, test::short_wait()));
                    break;
            }
            ++t.calls;
            if (e == errc::ok || e == errc::ring_full || e == errc::timed_out) {
                t.messages += e == errc::ok ? 1 : 0;
                EXPECT_FALSE(p.faulted()) << "a faulted ring reported " << to_string(e);
                continue;
            }
            EXPECT_TRUE(is_fault(e)) << "unexpected outcome " << to_string(e);
            AIRLOCK_EXPECT_ERRC(p.fault(), e);
            test::expect_producer_stuck(p, e);
            ++t.faults;
            faulted = true;
        }
        host.stop();
        if (::testing::Test::HasFatalFailure()) return;
    }
    t.print("producer under random scribbles");
    EXPECT_GT(t.faults, 0u) << "the scribbler never provoked a fault";
}

TEST(hostile_scribbler, producer_races_on_its_own_slots) {
    // The host writes over the data area (including the slots the producer
    // is filling), the producer's tail and the doorbells, while honestly
    // releasing everything the producer published. The producer reads only
    // the head, so it never faults and every send eventually succeeds.
    test::watchdog dog(std::chrono::seconds(240), "producer racing a slot scribbler");
    test::exact_region r({{race_capacity}, 1});
    ring_producer p(r.ring(0));
    const std::size_t data = r.offset_of(r.ring(0).data) / 8;
    const std::size_t tail_word = r.offset_of(&r.ring(0).control->tail) / 8;
    const std::size_t head_word = r.offset_of(&r.ring(0).control->head) / 8;
    std::vector<std::size_t> targets = ignorable_words(r);
    for (std::size_t w = 0; w < race_capacity / 8; ++w)
        targets.push_back(data + w);
    targets.push_back(tail_word);
    // The true published tail, told to the host by the test (a real host
    // would read it; this one scribbles over it).
    std::atomic<std::uint64_t> published{0};
    scribbler host(
        [&](std::uint64_t& s) {
            for (int i = 0; i < 8; ++i)
                r.host_store(targets[splitmix(s) % targets.size()], hostile_value(s, 0));
            r.host_store(head_word, published.load(std::memory_order_acquire));
        },
        0xD00D);
    std::uint64_t tail = 0;
    std::uint64_t sent = 0;
    std::uint64_t full = 0;
    const std::uint64_t total = static_cast<std::uint64_t>(rounds(10000));
    while (sent < total) {
        const std::size_t n = static_cast<std::size_t>(sent * 13) % 300;
        auto s = p.try_send(1, test::pattern(n, sent));
        if (!s) {
            ASSERT_EQ(s.error(), errc::ring_full) << to_string(s.error());
            ++full;
            std::this_thread::yield();  // let the host release
            continue;
        }
        const std::uint64_t bytes = wire::record_bytes(n);
        const std::uint64_t to_end = race_capacity - tail % race_capacity;
        tail += (to_end < bytes ? to_end : 0) + bytes;
        published.store(tail, std::memory_order_release);
        ++sent;
    }
    host.stop();
    EXPECT_FALSE(p.faulted()) << to_string(p.fault());
    std::printf("producer racing its slots: %llu sends, %llu ring_full\n",
                static_cast<unsigned long long>(sent), static_cast<unsigned long long>(full));
}
