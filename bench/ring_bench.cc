// SPDX-License-Identifier: Apache-2.0
// airlock-bench ring: one-way throughput of one SPSC ring, producer and
// consumer on different CPUs (--cpus: producer first, then consumer).
//
// Implementations, each carrying N-byte messages: a sequence number in the
// first 8 bytes, then a fixed pattern. The consumer reads every byte of every
// message it takes (word_sum, the same in every implementation) and the run
// checks the total against what was sent, so a lost, repeated or torn
// message fails the run instead of producing a figure:
//   airlock     ring_producer try_reserve / write / commit, publishing by
//               itself (auto_publish) every --batch payloads' worth of ring
//               bytes in whole lines (for 8-byte messages the 256 bytes
//               ideal publishes: 31 messages and their run header);
//               ring_consumer try_peek / copy_to / release.
//               The real API: record headers, index and header validation,
//               8-byte shared-memory accessor.
//   airlock_bulk  the same ring through its bulk verbs, as the bulk peers
//               below: the producer writes messages into a private batch of
//               --batch and hands it over with try_send_run (one run header,
//               one copy, one publish); the consumer takes up to a batch with
//               try_peek_run, copies it into a private array with one
//               copy_to, releases it, and reads each message from there.
//   boost_spsc  boost::lockfree::spsc_queue<std::array<std::byte, N>> push/pop.
//   moodycamel  moodycamel::ReaderWriterQueue<std::array<std::byte, N>>
//               try_enqueue / try_dequeue.
//   boost_spsc_bulk     the same boost queue through its bulk API: the
//               producer writes messages into a private batch of --batch
//               (at most a quarter of the queue's slots) and hands it over
//               with push(const T*, n); the consumer takes up to a batch
//               with pop(T*, n) and reads each message from there.
//   moodycamel_cq_bulk  moodycamel::ConcurrentQueue (one explicit producer
//               token, one consumer token) the same way, with
//               try_enqueue_bulk (all of a batch or none; never allocates)
//               and try_dequeue_bulk. Its storage rounds up to whole blocks
//               of 32 elements and, by its own sizing rule, up to twice the
//               slots asked for.
//   ideal       a bare power-of-two array of 8-byte values with cached
//               indices and the same batched index publish as airlock, and
//               nothing else: what this machine can do (8 bytes only).
// Every queue gets the same storage (--ring-bytes, or 8 payloads' worth if
// that is more; airlock's record headers come out of it). Figures are medians
// of interleaved repetitions; ratios are medians of the ratios within each
// round.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <CLI/CLI.hpp>

#include "airlock/ring/spsc_ring.hh"
#include "commands.hh"
#include "peers.hh"
#include "support.hh"

namespace airlock::bench {
namespace {

struct ring_options : common_options {
    std::vector<std::size_t> sizes{8, 64, 1024, 65536};
    std::size_t ring_bytes = 65536;
    std::size_t batch = 32;
};

// Bytes of storage every queue gets for messages of `bytes` bytes (a power
// of two for the sizes the peers run at).
std::size_t storage_bytes(const ring_options& o, std::size_t bytes) {
    return std::max(o.ring_bytes, 8 * bytes);
}

// A message's bytes after its sequence number: a fixed pattern, never zero.
void fill_pattern(std::span<std::byte> m) {
    for (std::size_t i = 8; i < m.size(); ++i)
        m[i] = static_cast<std::byte>(((i * 131 + (i >> 8)) & 0xff) | 1);
}

// word_sum of a `bytes`-byte message with sequence number 0.
std::uint64_t pattern_sum(std::size_t bytes) {
    std::vector<std::byte> m(bytes);
    fill_pattern(m);
    return word_sum(m);
}

// The one-way harness. `push(seq)` tries to enqueue message `seq` (false:
// full), `flush()` publishes whatever a batching producer holds back,
// `pop(sum)` tries to dequeue a message and returns the word_sum of all its
// bytes (false: empty). The producer runs for `seconds`; the clock stops when the
// consumer has received the last message. Returns {msgs/s, ns/msg}.
template <class Push, class Flush, class Pop>
std::vector<double> one_way(const ring_options& o, double seconds, std::size_t bytes, Push&& push,
                            Flush&& flush, Pop&& pop) {
    start_gate gate(2);
    alignas(128) std::atomic<std::uint64_t> sent{std::numeric_limits<std::uint64_t>::max()};
    alignas(128) std::uint64_t received = 0;
    std::uint64_t sum = 0;
    clock::time_point t0, t1;
    // Look at the clock about every 16 KiB (at most every 1024 messages).
    const std::uint64_t check_every = std::clamp<std::size_t>(16384 / bytes, 1, 1024);
    run_threads(2, {cpu_for(o.cpus, 0), cpu_for(o.cpus, 1)}, [&](std::size_t role) {
        if (role == 0) {
            auto try_push = push;  // a copy on this thread's stack
            auto publish = flush;
            const auto deadline = gate.arrive_and_wait() + std::chrono::duration<double>(seconds);
            std::uint64_t seq = 0;
            backoff wait;
            for (;;) {
                for (std::uint64_t i = 0; i < check_every; ++i, ++seq) {
                    while (!try_push(seq))
                        wait.pause();
                    wait.reset();
                }
                if (clock::now() >= deadline) break;
            }
            publish();
            sent.store(seq, std::memory_order_release);
        } else {
            auto try_pop = pop;  // a copy on this thread's stack
            t0 = gate.arrive_and_wait();
            std::uint64_t n = 0;
            std::uint64_t s = 0;
            backoff wait;
            for (;;) {
                std::uint64_t message_sum;
                if (try_pop(message_sum)) {
                    s += message_sum;
                    ++n;
                    wait.reset();
                    continue;
                }
                if (n == sent.load(std::memory_order_acquire)) break;
                wait.pause();
            }
            t1 = clock::now();
            received = n;
            sum = s;
        }
    });
    const std::uint64_t total = sent.load();
    const std::uint64_t sequence_sum =
        total % 2 == 0 ? total / 2 * (total - 1) : (total - 1) / 2 * total;
    if (received != total || sum != sequence_sum + total * pattern_sum(bytes))
        fail("ring: messages lost, repeated or corrupted");
    const double secs = seconds_between(t0, t1);
    return {static_cast<double>(total) / secs, secs * 1e9 / static_cast<double>(total)};
}

[[noreturn]] void fail_errc(const char* what, errc e) {
    fail(std::string(what) + ": " + std::string(to_string(e)));
}

// `Bytes` is the message size: an std::integral_constant at the sizes the
// peers run at (they get theirs at compile time too, as payload<N>), else a
// plain std::size_t.
template <class Bytes>
std::vector<double> run_airlock(const ring_options& o, Bytes message_bytes, double seconds) {
    const std::size_t bytes = message_bytes;
    bench_region region({ring_capacity_at_least(storage_bytes(o, bytes))});
    ring::consumer_options copts;
    copts.max_message = std::max<std::size_t>(bytes, copts.max_message);
    // Each side's state on lines of its own, as if in another address space.
    struct producer_side {
        ring::ring_producer ring;
        private_bytes src;
    };
    struct consumer_side {
        ring::ring_consumer ring;
        private_bytes dst;
    };
    auto p = std::make_unique<isolated<producer_side>>(
        producer_side{ring::ring_producer(region.region().ring(0)), private_bytes(bytes)});
    auto c = std::make_unique<isolated<consumer_side>>(
        consumer_side{ring::ring_consumer(region.region().ring(0), copts), private_bytes(bytes)});
    if (bytes > p->value.ring.max_record_payload()) fail("ring: message larger than a record");
    fill_pattern(p->value.src.span());
    // Publish --batch payloads' worth of ring bytes (at 8 bytes the 256 bytes
    // ideal publishes), rounded up to whole lines and a power of two, and at
    // most a quarter ring.
    const std::size_t capacity = region.region().ring(0).capacity;
    p->value.ring.auto_publish(std::clamp<std::size_t>(
        std::bit_ceil(o.batch * ((bytes + 7) & ~std::size_t{7})), 64, capacity / 4));
    auto push = [&s = p->value, message_bytes](std::uint64_t seq) {
        const std::size_t n = message_bytes;  // a constant where it can be
        auto r = s.ring.try_reserve(n, 1);
        if (!r) [[unlikely]] {
            if (r.error() == errc::ring_full) return false;
            fail_errc("airlock producer", r.error());
        }
        std::memcpy(s.src.data(), &seq, 8);
        r->write({s.src.data(), n});
        s.ring.commit(*r);  // publishes by itself (auto_publish)
        return true;
    };
    auto flush = [&s = p->value] { s.ring.publish(); };
    auto pop = [&s = c->value, message_bytes](std::uint64_t& sum) {
        const std::size_t n = message_bytes;  // a constant where it can be
        auto r = s.ring.try_peek();
        if (!r) [[unlikely]] {
            if (r.error() == errc::ring_empty) return false;
            fail_errc("airlock consumer", r.error());
        }
        if (r->size() != n) [[unlikely]]
            fail("airlock consumer: wrong record size");
        r->copy_to({s.dst.data(), n});
        s.ring.release(*r);
        sum = word_sum({s.dst.data(), n});
        return true;
    };
    return one_way(o, seconds, bytes, push, flush, pop);
}

// `ideal_ring`: the least an SPSC ring of 8-byte values can do. Indices are
// private, each side caches the other's, the producer publishes every
// `batch` values and the consumer every quarter ring or when it runs dry,
// like airlock. No headers, no validation, no accessor.
class ideal_ring {
  public:
    ideal_ring(std::size_t slots, std::size_t batch)
        : data_(std::make_unique<std::uint64_t[]>(slots)),
          slots_(slots),
          mask_(slots - 1),
          batch_(batch) {}

    bool try_push(std::uint64_t v) noexcept {
        if (tail_ - head_cache_ == slots_) [[unlikely]] {
            head_cache_ = head_shared_.load(std::memory_order_acquire);
            if (tail_ - head_cache_ == slots_) {
                publish_tail();
                return false;
            }
        }
        data_[tail_ & mask_] = v;
        ++tail_;
        if (++pending_ == batch_) publish_tail();
        return true;
    }
    void publish_tail() noexcept {
        tail_shared_.store(tail_, std::memory_order_release);  // values before index
        pending_ = 0;
    }
    bool try_pop(std::uint64_t& v) noexcept {
        if (head_ == tail_cache_) [[unlikely]] {
            tail_cache_ = tail_shared_.load(std::memory_order_acquire);
            if (head_ == tail_cache_) {
                publish_head();
                return false;
            }
        }
        v = data_[head_ & mask_];
        ++head_;
        if (head_ - head_published_ >= slots_ / 4) [[unlikely]]
            publish_head();
        return true;
    }

  private:
    void publish_head() noexcept {
        if (head_ == head_published_) return;
        head_shared_.store(head_, std::memory_order_release);  // reads before space returns
        head_published_ = head_;
    }

    std::unique_ptr<std::uint64_t[]> data_;
    std::size_t slots_;
    std::size_t mask_;
    std::size_t batch_;
    alignas(128) std::atomic<std::uint64_t> tail_shared_{0};
    alignas(128) std::atomic<std::uint64_t> head_shared_{0};
    // Producer-private.
    alignas(128) std::uint64_t tail_ = 0;
    std::uint64_t head_cache_ = 0;
    std::size_t pending_ = 0;
    // Consumer-private.
    alignas(128) std::uint64_t head_ = 0;
    std::uint64_t tail_cache_ = 0;
    std::uint64_t head_published_ = 0;
};

std::vector<double> run_ideal(const ring_options& o, double seconds) {
    auto q = std::make_unique<ideal_ring>(ring_capacity_at_least(storage_bytes(o, 8)) / 8, o.batch);
    ideal_ring* r = q.get();
    return one_way(
        o, seconds, 8, [r](std::uint64_t seq) { return r->try_push(seq); },
        [r] { r->publish_tail(); }, [r](std::uint64_t& seq) { return r->try_pop(seq); });
}

#if AIRLOCK_BENCH_HAVE_BOOST_SPSC
template <std::size_t N>
std::vector<double> run_boost(const ring_options& o, double seconds) {
    using queue = boost::lockfree::spsc_queue<payload<N>>;
    auto q = std::make_unique<queue>(storage_bytes(o, N) / N);
    auto src_line = std::make_unique<isolated<payload<N>>>();  // producer-private
    auto dst_line = std::make_unique<isolated<payload<N>>>();  // consumer-private
    payload<N>* src = &src_line->value;
    payload<N>* dst = &dst_line->value;
    fill_pattern(*src);
    return one_way(
        o, seconds, N,
        [q = q.get(), src](std::uint64_t seq) {
            std::memcpy(src->data(), &seq, 8);
            return q->push(*src);
        },
        [] {},
        [q = q.get(), dst](std::uint64_t& sum) {
            if (!q->pop(*dst)) return false;
            sum = word_sum(*dst);
            return true;
        });
}
#endif

#if AIRLOCK_BENCH_HAVE_READERWRITERQUEUE
template <std::size_t N>
std::vector<double> run_moodycamel(const ring_options& o, double seconds) {
    using queue = moodycamel::ReaderWriterQueue<payload<N>>;
    auto q = std::make_unique<queue>(storage_bytes(o, N) / N);
    auto src_line = std::make_unique<isolated<payload<N>>>();  // producer-private
    auto dst_line = std::make_unique<isolated<payload<N>>>();  // consumer-private
    payload<N>* src = &src_line->value;
    payload<N>* dst = &dst_line->value;
    fill_pattern(*src);
    return one_way(
        o, seconds, N,
        [q = q.get(), src](std::uint64_t seq) {
            std::memcpy(src->data(), &seq, 8);
            return q->try_enqueue(*src);  // never allocates: bounded like the others
        },
        [] {},
        [q = q.get(), dst](std::uint64_t& sum) {
            if (!q->try_dequeue(*dst)) return false;
            sum = word_sum(*dst);
            return true;
        });
}
#endif

// How many messages a bulk peer moves per call: --batch, and at most a
// quarter of its slots (airlock publishes at most a quarter ring at once).
std::size_t bulk_batch(const ring_options& o, std::size_t slots) {
    return std::clamp<std::size_t>(o.batch, 1, std::max<std::size_t>(1, slots / 4));
}

// A bulk producer: writes each message into a private batch and, when the
// batch is full, hands it to `push_some(first, count)`, which returns how many
// messages the queue took. `try_push` fails (the harness backs off) while a
// full batch does not fit; `flush` hands over the rest at the end.
template <std::size_t N, class PushSome>
struct bulk_sender {
    bulk_sender(std::size_t batch_size, PushSome push) : batch(batch_size), push_some(push) {
        for (payload<N>& m : batch)
            fill_pattern(m);
    }
    bool try_push(std::uint64_t seq) {
        if (filled == batch.size() && !hand_over()) return false;
        std::memcpy(batch[filled].data(), &seq, 8);
        ++filled;
        return true;
    }
    bool hand_over() {
        handed += push_some(batch.data() + handed, filled - handed);
        if (handed < filled) return false;
        filled = handed = 0;
        return true;
    }
    void flush() {
        backoff wait;
        while (!hand_over())
            wait.pause();
    }
    std::vector<payload<N>> batch;
    std::size_t filled = 0;  // messages written into the batch
    std::size_t handed = 0;  // of them, taken by the queue
    PushSome push_some;
};

// A bulk consumer: takes up to a batch with `pop_some(first, max)` (returns
// how many) and reads each message from its private batch.
template <std::size_t N, class PopSome>
struct bulk_receiver {
    bulk_receiver(std::size_t batch_size, PopSome pop) : batch(batch_size), pop_some(pop) {}
    bool try_pop(std::uint64_t& sum) {
        if (next == taken) {
            taken = pop_some(batch.data(), batch.size());
            next = 0;
            if (taken == 0) return false;
        }
        sum = word_sum(batch[next++]);
        return true;
    }
    std::vector<payload<N>> batch;
    std::size_t taken = 0;
    std::size_t next = 0;
    PopSome pop_some;
};

// The one-way run of a bulk peer: each side's state on lines of its own.
template <std::size_t N, class PushSome, class PopSome>
std::vector<double> run_bulk(const ring_options& o, double seconds, std::size_t batch,
                             PushSome push_some, PopSome pop_some) {
    auto tx = std::make_unique<isolated<bulk_sender<N, PushSome>>>(batch, push_some);
    auto rx = std::make_unique<isolated<bulk_receiver<N, PopSome>>>(batch, pop_some);
    return one_way(
        o, seconds, N, [s = &tx->value](std::uint64_t seq) { return s->try_push(seq); },
        [s = &tx->value] { s->flush(); },
        [r = &rx->value](std::uint64_t& sum) { return r->try_pop(sum); });
}

#if AIRLOCK_BENCH_HAVE_BOOST_SPSC
template <std::size_t N>
std::vector<double> run_boost_bulk(const ring_options& o, double seconds) {
    using queue = boost::lockfree::spsc_queue<payload<N>>;
    const std::size_t slots = storage_bytes(o, N) / N;
    auto q = std::make_unique<queue>(slots);
    return run_bulk<N>(
        o, seconds, bulk_batch(o, slots),
        [q = q.get()](const payload<N>* first, std::size_t n) { return q->push(first, n); },
        [q = q.get()](payload<N>* first, std::size_t n) { return q->pop(first, n); });
}
#endif

#if AIRLOCK_BENCH_HAVE_CONCURRENTQUEUE
template <std::size_t N>
std::vector<double> run_concurrentqueue_bulk(const ring_options& o, double seconds) {
    using queue = moodycamel::ConcurrentQueue<payload<N>>;
    const std::size_t slots = storage_bytes(o, N) / N;
    auto q = std::make_unique<queue>(slots, 1, 0);  // one explicit producer, no implicit ones
    auto producer = std::make_unique<isolated<moodycamel::ProducerToken>>(*q);
    auto consumer = std::make_unique<isolated<moodycamel::ConsumerToken>>(*q);
    return run_bulk<N>(
        o, seconds, bulk_batch(o, slots),
        [q = q.get(), t = &producer->value](const payload<N>* first, std::size_t n) {
            return q->try_enqueue_bulk(*t, first, n) ? n : std::size_t{0};
        },
        [q = q.get(), t = &consumer->value](payload<N>* first, std::size_t n) {
            return q->try_dequeue_bulk(*t, first, n);
        });
}
#endif

// Airlock's ring through its bulk verbs, in the bulk peers' harness: the same
// private batches on both sides, the same copies.
template <std::size_t N>
std::vector<double> run_airlock_bulk(const ring_options& o, double seconds) {
    bench_region region({ring_capacity_at_least(storage_bytes(o, N))});
    ring::consumer_options copts;
    copts.max_message = std::max<std::size_t>(N, copts.max_message);
    auto p = std::make_unique<isolated<ring::ring_producer>>(region.region().ring(0));
    auto c = std::make_unique<isolated<ring::ring_consumer>>(region.region().ring(0), copts);
    if (N > p->value.max_record_payload()) fail("ring: message larger than a record");
    const std::size_t slots = region.region().ring(0).capacity / ring::wire::round_up8(N);
    return run_bulk<N>(
        o, seconds, bulk_batch(o, slots),
        [r = &p->value](const payload<N>* first, std::size_t n) -> std::size_t {
            auto sent = r->try_send_run(1, std::as_bytes(std::span(first, n)), N);
            if (sent) [[likely]]
                return *sent;
            if (sent.error() != errc::ring_full) fail_errc("airlock_bulk producer", sent.error());
            return 0;
        },
        [r = &c->value](payload<N>* first, std::size_t n) -> std::size_t {
            auto run = r->try_peek_run(n);
            if (!run) [[unlikely]] {
                if (run.error() == errc::ring_empty) return 0;
                fail_errc("airlock_bulk consumer", run.error());
            }
            if (run->size() != N || run->kind() != ring::wire::record_kind::message) [[unlikely]]
                fail("airlock_bulk consumer: wrong record");
            run->copy_to(std::as_writable_bytes(std::span(first, run->count())));
            r->release(*run);
            return run->count();
        });
}

// Adds a peer trial at `bytes` if the peer is compiled in and supports the size.
template <class Run>
void add_peer_trial(std::vector<trial>& trials, const peer& p, std::size_t bytes, Run run) {
    if (!p.present) return;
    if (!with_payload_size(bytes, [](auto) {})) return;
    trials.push_back({std::string(p.impl), bytes, run, {}});
}

void run_ring(const ring_options& o) {
    if (o.batch == 0) fail("--batch must be at least 1");
    std::vector<trial> trials;
    for (const std::size_t bytes : o.sizes) {
        trials.push_back(
            {"airlock",
             bytes,
             [&o, bytes](double s) {
                 std::vector<double> r;
                 if (!with_payload_size(bytes, [&](auto n) { r = run_airlock(o, n, s); }))
                     r = run_airlock(o, bytes, s);
                 return r;
             },
             {}});
        if (with_payload_size(bytes, [](auto) {}))
            trials.push_back({"airlock_bulk",
                              bytes,
                              [&o, bytes](double s) {
                                  std::vector<double> r;
                                  with_payload_size(bytes, [&](auto n) {
                                      r = run_airlock_bulk<decltype(n)::value>(o, s);
                                  });
                                  return r;
                              },
                              {}});
#if AIRLOCK_BENCH_HAVE_BOOST_SPSC
        add_peer_trial(trials, boost_spsc, bytes, [&o, bytes](double s) {
            std::vector<double> r;
            with_payload_size(bytes, [&](auto n) { r = run_boost<decltype(n)::value>(o, s); });
            return r;
        });
#endif
#if AIRLOCK_BENCH_HAVE_READERWRITERQUEUE
        add_peer_trial(trials, moodycamel_rwq, bytes, [&o, bytes](double s) {
            std::vector<double> r;
            with_payload_size(bytes, [&](auto n) { r = run_moodycamel<decltype(n)::value>(o, s); });
            return r;
        });
#endif
#if AIRLOCK_BENCH_HAVE_BOOST_SPSC
        add_peer_trial(trials, boost_spsc_bulk, bytes, [&o, bytes](double s) {
            std::vector<double> r;
            with_payload_size(bytes, [&](auto n) { r = run_boost_bulk<decltype(n)::value>(o, s); });
            return r;
        });
#endif
#if AIRLOCK_BENCH_HAVE_CONCURRENTQUEUE
        add_peer_trial(trials, moodycamel_cq_bulk, bytes, [&o, bytes](double s) {
            std::vector<double> r;
            with_payload_size(
                bytes, [&](auto n) { r = run_concurrentqueue_bulk<decltype(n)::value>(o, s); });
            return r;
        });
#endif
        if (bytes == 8)
            trials.push_back({"ideal", 8, [&o](double s) { return run_ideal(o, s); }, {}});
    }

    print_environment("ring", o);
    for (const peer& p : {boost_spsc, moodycamel_rwq, boost_spsc_bulk, moodycamel_cq_bulk})
        if (!p.present)
            print_note("ring", o,
                       std::string(p.impl) + " missing: header <" + std::string(p.header) +
                           "> not found at build time");
    for (const std::size_t bytes : o.sizes)
        if (!with_payload_size(bytes, [](auto) {}))
            print_note("ring", o,
                       "peers run at 8, 64, 1024 and 65536 bytes only; " + std::to_string(bytes) +
                           " bytes is airlock alone");

    run_interleaved(trials, o);

    if (o.json) {
        for (const trial& t : trials)
            json_line()
                .str("bench", "ring")
                .str("impl", t.impl)
                .integer("bytes", t.bytes)
                .num("msgs_per_sec", summarize(t, 0).median)
                .num("ns_per_msg", summarize(t, 1).median, 2)
                .print();
    } else {
        table out({"bytes", "impl", "msgs/s", "ns/msg", "MB/s", "msgs/s min", "msgs/s max"});
        for (const trial& t : trials) {
            const summary rate = summarize(t, 0);
            out.add_row({std::to_string(t.bytes), t.impl, grouped(rate.median),
                         fixed(summarize(t, 1).median, 2),
                         grouped(rate.median * static_cast<double>(t.bytes) / 1e6),
                         grouped(rate.min), grouped(rate.max)});
        }
        out.print();
        std::printf("\n");
    }

    // Ratios, medians of the per-round ratios (paired_ratio): Airlock through
    // its bulk verbs against the best peer through its bulk API, Airlock one
    // message at a time against the best one-at-a-time peer, and both against
    // ideal. Targets at 8 bytes: at least 1.0x the best bulk peer and 0.9x
    // ideal (the better Airlock row).
    auto best_of = [&](std::initializer_list<const char*> names, std::size_t bytes) {
        const trial* best = nullptr;
        for (const char* name : names) {
            const trial* p = find_trial(trials, name, bytes);
            if (p != nullptr &&
                (best == nullptr || summarize(*p, 0).median > summarize(*best, 0).median))
                best = p;
        }
        return best;
    };
    auto ratio = [](const trial* a, const trial* b) {
        return a != nullptr && b != nullptr ? paired_ratio(*a, *b, 0).median : 0.0;
    };
    auto verdict = [](double value, double target) {
        return (value >= target ? ">= " : "< ") + fixed(target, 1) +
               (value >= target ? ": met" : ": MISSED");
    };
    table ratios({"bytes", "airlock_bulk/best bulk", "best bulk peer", "airlock/best one-at-a-time",
                  "best one-at-a-time", "airlock/ideal", "airlock_bulk/ideal",
                  "targets (bulk, ideal)"});
    for (const std::size_t bytes : o.sizes) {
        const trial* a = find_trial(trials, "airlock", bytes);
        const trial* a_bulk = find_trial(trials, "airlock_bulk", bytes);
        const trial* bulk = best_of({"boost_spsc_bulk", "moodycamel_cq_bulk"}, bytes);
        const trial* single = best_of({"boost_spsc", "moodycamel"}, bytes);
        const trial* ideal = find_trial(trials, "ideal", bytes);
        const double vs_ideal = std::max(ratio(a, ideal), ratio(a_bulk, ideal));
        if (o.json) {
            for (const auto& [name, mine, theirs, target] :
                 {std::tuple{"airlock_bulk/best_bulk_peer", a_bulk, bulk, 1.0},
                  std::tuple{"airlock/best_peer", a, single, 0.0},
                  std::tuple{"airlock/ideal", a, ideal, 0.0},
                  std::tuple{"airlock_bulk/ideal", a_bulk, ideal, 0.0}}) {
                if (mine == nullptr || theirs == nullptr) continue;
                json_line line;
                line.str("bench", "ring").str("ratio", name).integer("bytes", bytes);
                if (theirs != ideal) line.str("peer", theirs->impl);
                line.num("value", ratio(mine, theirs), 3);
                if (bytes == 8 && target > 0) line.num("target_min", target, 1);
                line.print();
            }
            if (bytes == 8 && ideal != nullptr)
                json_line()
                    .str("bench", "ring")
                    .str("ratio", "best_airlock/ideal")
                    .integer("bytes", bytes)
                    .num("value", vs_ideal, 3)
                    .num("target_min", 0.9, 1)
                    .print();
        } else {
            auto cell = [&](const trial* mine, const trial* theirs) {
                return mine != nullptr && theirs != nullptr ? fixed(ratio(mine, theirs), 2)
                                                            : std::string("-");
            };
            std::string target = "-";
            if (bytes == 8)
                target = (bulk != nullptr ? verdict(ratio(a_bulk, bulk), 1.0)
                                          : std::string("no bulk peer")) +
                         "; " + (ideal != nullptr ? verdict(vs_ideal, 0.9) : std::string("-"));
            ratios.add_row({std::to_string(bytes), cell(a_bulk, bulk),
                            bulk != nullptr ? bulk->impl : "-", cell(a, single),
                            single != nullptr ? single->impl : "-", cell(a, ideal),
                            cell(a_bulk, ideal), target});
        }
    }
    if (!o.json) ratios.print();
}

}  // namespace

void add_ring_command(CLI::App& app) {
    auto options = std::make_shared<ring_options>();
    CLI::App* sub = app.add_subcommand("ring", "One-way throughput of an SPSC ring against peers");
    add_common_options(*sub, *options);
    add_sizes_option(*sub, options->sizes);
    sub->add_option("--ring-bytes", options->ring_bytes,
                    "Storage per queue in bytes (or 8 payloads, if more)")
        ->check(CLI::Range(std::size_t{256}, std::size_t{1} << 30))
        ->capture_default_str();
    sub->add_option(
           "--batch", options->batch,
           "Values per publish (ideal); airlock publishes that many payloads' worth of bytes")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
        ->capture_default_str();
    sub->callback([options] { run_ring(*options); });
}

}  // namespace airlock::bench
