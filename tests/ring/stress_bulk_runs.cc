// SPDX-License-Identifier: Apache-2.0
// Description: two threads move two million fixed-size messages through one
// ring with the bulk verbs only, in batches and views of random sizes, intact
// and in order.
//
// The producer thread sends batches of 1..300 messages with try_send_run
// (batches above 256 take several run headers; a full ring takes part of a
// batch); the consumer thread takes views of 1..64 messages with
// try_peek_run, copies each view out with one copy_to and checks every
// message's bytes against its sequence number. The message size changes
// every 10,000 messages (8, 13, 64, 200 bytes), so sizes that are not a
// multiple of 8 and runs of large messages both cross. Seeded; the count is
// scaled by AIRLOCK_STRESS_SCALE (the TSan run uses a twentieth).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/message_stream.hh"
#include "support/region_fixture.hh"
#include "support/ring_test_support.hh"

using namespace airlock;
using namespace airlock::ring;

namespace {

constexpr std::size_t ring_capacity = 8 * 1024;
constexpr std::uint64_t size_period = 10'000;
constexpr std::size_t sizes[] = {8, 13, 64, 200};

std::size_t size_of(std::uint64_t seq) {
    return sizes[(seq / size_period) % std::size(sizes)];
}

// Spins, then yields: the two threads may share one CPU.
void back_off(unsigned& misses) {
    if (++misses > 64) std::this_thread::yield();
}

}  // namespace

TEST(stress_bulk_runs, batches_and_views_of_random_sizes_in_order_and_intact) {
    const std::uint64_t count = test::scaled_count(2'000'000);
    test::test_region r({ring_capacity});
    ring_producer p(r.ring());
    ring_consumer c(r.ring());

    std::atomic<std::uint64_t> sent{0};
    std::atomic<std::uint64_t> received{0};
    test::first_failure failure;
    test::watchdog dog(std::chrono::seconds(280), "stress_bulk_runs", [&] {
        std::fprintf(stderr, "sent %llu, received %llu of %llu\n",
                     static_cast<unsigned long long>(sent.load()),
                     static_cast<unsigned long long>(received.load()),
                     static_cast<unsigned long long>(count));
    });

    std::thread consumer([&] {
        std::mt19937_64 rng(20261207);
        std::vector<std::byte> view(64 * 200);
        std::uint64_t seq = 0;
        unsigned misses = 0;
        while (seq < count && !failure.failed()) {
            auto run = c.try_peek_run(rng() % 64 + 1);
            if (!run) {
                if (run.error() != errc::ring_empty)
                    return failure.report("receive failed: " + std::string(to_string(run.error())));
                back_off(misses);
                continue;
            }
            misses = 0;
            const std::size_t n = run->size();
            if (n != size_of(seq) || run->tag() != n)
                return failure.report("message " + std::to_string(seq) + ": size " +
                                      std::to_string(n) + ", tag " + std::to_string(run->tag()));
            // A view never spans a change of size: the producer's batches
            // stop at one.
            run->copy_to(view);
            for (std::size_t i = 0; i < run->count(); ++i, ++seq) {
                const std::span<const std::byte> m(view.data() + i * n, n);
                if (size_of(seq) != n)
                    return failure.report("message " + std::to_string(seq) +
                                          ": a view crossed a size change");
                if (const long at = test::first_mismatch(m, seq); at >= 0)
                    return failure.report(test::describe_mismatch(seq, m, at));
            }
            c.release(*run);
            received.store(seq, std::memory_order_relaxed);
        }
    });

    std::mt19937_64 rng(7);
    std::vector<std::byte> batch;
    std::uint64_t seq = 0;
    unsigned misses = 0;
    while (seq < count && !failure.failed()) {
        const std::size_t n = size_of(seq);
        // Up to 300 messages, never past the next change of size.
        const std::uint64_t until_change = size_period - seq % size_period;
        const std::uint64_t k =
            std::min<std::uint64_t>({rng() % 300 + 1, until_change, count - seq});
        batch.resize(k * n);
        for (std::uint64_t i = 0; i < k; ++i)
            test::fill_pattern(std::span(batch).subspan(i * n, n), seq + i);
        std::uint64_t done = 0;
        while (done < k && !failure.failed()) {
            auto s = p.try_send_run(static_cast<std::uint16_t>(n),
                                    std::span(batch).subspan(done * n), n);
            if (!s) {
                if (s.error() != errc::ring_full) {
                    failure.report("send failed: " + std::string(to_string(s.error())));
                    break;
                }
                back_off(misses);
                continue;
            }
            misses = 0;
            done += *s;
        }
        seq += done;
        sent.store(seq, std::memory_order_relaxed);
    }
    consumer.join();

    EXPECT_EQ(failure.text(), "");
    EXPECT_EQ(sent.load(), count);
    EXPECT_EQ(received.load(), count);
    EXPECT_EQ(c.try_peek_run(1).error(), errc::ring_empty) << "a message too many";
    EXPECT_FALSE(p.faulted());
    EXPECT_FALSE(c.faulted());
}
