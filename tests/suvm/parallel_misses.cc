// SPDX-License-Identifier: Apache-2.0
// Description: threads miss at once on disjoint pages (each its own, written
// and read whole), on shared read-only pages and on shared pages whose words
// they split, with a cache a twelfth of the data; every byte read back is
// checked, during the run and at the end. Threads missing together on one
// cold page fetch it once. Seeded; ops per thread scale with
// AIRLOCK_STRESS_SCALE.
#include <atomic>
#include <random>
#include <thread>

#include "support/region_fixture.hh"
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

constexpr int threads = 4;
constexpr std::uint64_t shared_pages = 32;     // pages [0, 32): read-only, read by all
constexpr std::uint64_t pages_per_thread = 8;  // [32, 64): thread t owns 8 of them
constexpr std::uint64_t lane_first = shared_pages + threads * pages_per_thread;
constexpr std::uint64_t lane_pages = 32;  // [64, 96): word w belongs to thread w % threads
constexpr std::uint64_t total_pages = lane_first + lane_pages;
constexpr std::uint32_t shared_salt = 7;

struct parallel_config {
    const char* name;
    std::size_t page_size;
    bool prefetch;
    std::size_t parallel_misses;
};

class parallel_misses : public ::testing::TestWithParam<parallel_config> {};

// One thread's view: its own pages and its lane words, as it wrote them.
struct thread_state {
    std::vector<std::byte> own;       // pages_per_thread pages
    std::vector<std::uint64_t> lane;  // its words of the lane pages
    std::string failure;              // empty: all checks passed
};

TEST_P(parallel_misses, every_byte_reads_back) {
    const auto cfg = GetParam();
    space_options o;
    o.page_size = cfg.page_size;
    o.size = total_pages * cfg.page_size;
    o.cache_bytes = 8 * cfg.page_size;  // 8 frames for 96 pages
    o.prefetch = cfg.prefetch;
    o.parallel_misses = cfg.parallel_misses;
    paged p(o);
    ASSERT_TRUE(p.s);
    space& s = *p.s;
    const std::size_t ps = s.page_size();
    fill_pattern(s, shared_pages, shared_salt);
    evict_all(s);

    const auto ops =
        static_cast<std::uint64_t>(std::max(1500.0, 60'000 * airlock::test::stress_scale()));
    std::atomic<std::uint64_t> progress{0};
    airlock::test::watchdog dog(std::chrono::seconds(240), "suvm.parallel_misses", [&] {
        std::fprintf(stderr, "progress %llu\n", static_cast<unsigned long long>(progress.load()));
    });
    const std::uint64_t lane_words = lane_pages * ps / 8;
    std::vector<thread_state> state(threads);
    std::atomic<int> arrived{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            thread_state& me = state[t];
            me.own.assign(pages_per_thread * ps, std::byte{0});
            me.lane.assign(lane_words / threads, 0);
            const std::uint64_t own_first = shared_pages + t * pages_per_thread;
            std::mt19937_64 rng(4242 + t);
            std::vector<std::byte> buf(ps);
            auto fail = [&](const std::string& what) {
                if (me.failure.empty()) me.failure = what;
            };
            arrived.fetch_add(1);
            while (arrived.load() < threads)
                std::this_thread::yield();
            for (std::uint64_t n = 0; n < ops && me.failure.empty(); ++n) {
                switch (rng() % 6) {
                    case 0: {  // a shared read-only page, whole
                        const std::uint64_t pg = rng() % shared_pages;
                        if (auto r = s.read(pg * ps, buf); !r) {
                            fail("read shared: " + std::string(to_string(r.error())));
                            break;
                        }
                        for (std::size_t b = 0; b < ps; ++b)
                            if (buf[b] != pattern(pg * ps + b, shared_salt)) {
                                fail("shared page " + std::to_string(pg) + " byte " +
                                     std::to_string(b));
                                break;
                            }
                        break;
                    }
                    case 1: {  // an own page, whole (overwrite: never loaded)
                        const std::uint64_t k = rng() % pages_per_thread;
                        const auto salt = static_cast<std::uint32_t>(rng());
                        for (std::size_t b = 0; b < ps; ++b)
                            buf[b] = pattern((own_first + k) * ps + b, salt);
                        if (auto r = s.write((own_first + k) * ps, buf); !r) {
                            fail("write own: " + std::string(to_string(r.error())));
                            break;
                        }
                        std::memcpy(me.own.data() + k * ps, buf.data(), ps);
                        break;
                    }
                    case 2: {  // part of an own page (loads it first)
                        const std::uint64_t k = rng() % pages_per_thread;
                        const std::size_t at = rng() % ps;
                        const std::size_t len = 1 + rng() % (ps - at);
                        const auto salt = static_cast<std::uint32_t>(rng());
                        for (std::size_t b = 0; b < len; ++b)
                            buf[b] = pattern(at + b, salt);
                        if (auto r = s.write((own_first + k) * ps + at, {buf.data(), len}); !r) {
                            fail("write own part: " + std::string(to_string(r.error())));
                            break;
                        }
                        std::memcpy(me.own.data() + k * ps + at, buf.data(), len);
                        break;
                    }
                    case 3: {  // an own page, whole, checked
                        const std::uint64_t k = rng() % pages_per_thread;
                        if (auto r = s.read((own_first + k) * ps, buf); !r) {
                            fail("read own: " + std::string(to_string(r.error())));
                            break;
                        }
                        if (std::memcmp(buf.data(), me.own.data() + k * ps, ps) != 0)
                            fail("own page " + std::to_string(own_first + k));
                        break;
                    }
                    case 4: {  // an own word of a lane page, through an s_ptr
                        const std::uint64_t k = rng() % me.lane.size();
                        const std::uint64_t v = rng();
                        s_ptr<std::uint64_t> q(s, lane_first * ps + (k * threads + t) * 8);
                        if (auto r = q.store(v); !r) {
                            fail("store lane: " + std::string(to_string(r.error())));
                            break;
                        }
                        me.lane[k] = v;
                        break;
                    }
                    default: {  // a run of own lane words, checked
                        const std::uint64_t k0 = rng() % me.lane.size();
                        for (std::uint64_t k = k0;
                             k < std::min<std::uint64_t>(me.lane.size(), k0 + 200); ++k) {
                            s_ptr<const std::uint64_t> q(s,
                                                         lane_first * ps + (k * threads + t) * 8);
                            auto v = q.load();
                            if (!v || *v != me.lane[k]) {
                                fail("lane word " + std::to_string(k));
                                break;
                            }
                        }
                    }
                }
                progress.fetch_add(1, std::memory_order_relaxed);
            }
        });
    }
    for (auto& th : pool)
        th.join();
    for (int t = 0; t < threads; ++t)
        ASSERT_TRUE(state[t].failure.empty()) << "thread " << t << ": " << state[t].failure;
    ASSERT_EQ(s.fault(), errc::ok);

    // Every byte of the space, after the threads: through the store again.
    evict_all(s);
    std::vector<std::byte> buf(ps);
    for (std::uint64_t pg = 0; pg < total_pages; ++pg) {
        ASSERT_TRUE(s.read(pg * ps, buf).has_value());
        for (std::size_t b = 0; b < ps; ++b) {
            std::byte want{};
            if (pg < shared_pages) {
                want = pattern(pg * ps + b, shared_salt);
            } else if (pg < lane_first) {
                const std::uint64_t t = (pg - shared_pages) / pages_per_thread;
                want = state[t].own[(pg - shared_pages) % pages_per_thread * ps + b];
            } else {
                const std::uint64_t word = ((pg - lane_first) * ps + b) / 8;
                const std::uint64_t v = state[word % threads].lane[word / threads];
                want = static_cast<std::byte>(v >> (8 * (b % 8)));
            }
            ASSERT_EQ(buf[b], want) << "page " << pg << " byte " << b;
        }
    }
    const auto st = s.stats();
    EXPECT_GT(st.evictions, 0u);
    EXPECT_GT(st.write_backs, 0u);
    EXPECT_EQ(st.integrity_failures, 0u);
}

INSTANTIATE_TEST_SUITE_P(configs, parallel_misses,
                         ::testing::Values(parallel_config{"pages_4k", 4096, false, 4},
                                           parallel_config{"pages_1k_prefetch", 1024, true, 4},
                                           parallel_config{"pages_4k_one_buffer", 4096, true, 1}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// All threads read the same cold pages at the same moment: each page is
// fetched once (a second fetch would count a second fault; the pages fit
// the cache with room to spare, so none is evicted before all have read it).
TEST(parallel_misses, one_page_is_fetched_once) {
    auto o = small_options(64, 16);
    o.prefetch = false;
    paged p(o);
    ASSERT_TRUE(p.s);
    space& s = *p.s;
    fill_pattern(s, 64);
    const int rounds = 20;
    for (int round = 0; round < rounds; ++round) {
        // The cache holds pages [32, 64) after this; pages [0, 8) are cold.
        for (std::uint64_t pg = 32; pg < 64; ++pg)
            ASSERT_TRUE(s.pin(pg).has_value());
        const std::uint64_t faults_before = s.stats().faults;
        std::atomic<int> arrived{0};
        std::atomic<int> bad{0};
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) {
            pool.emplace_back([&, t] {
                arrived.fetch_add(1);
                while (arrived.load() < threads)
                    std::this_thread::yield();
                for (std::uint64_t i = 0; i < 8; ++i) {
                    const std::uint64_t pg = (i + static_cast<std::uint64_t>(t) * round) % 8;
                    auto r = s.pin(pg);
                    if (!r) {
                        ++bad;
                        return;
                    }
                    for (std::size_t b = 0; b < s.page_size(); ++b)
                        if (r->data()[b] != pattern(pg * s.page_size() + b)) {
                            ++bad;
                            return;
                        }
                }
            });
        }
        for (auto& th : pool)
            th.join();
        ASSERT_EQ(bad.load(), 0);
        ASSERT_EQ(s.stats().faults - faults_before, 8u) << "round " << round;
    }
}

}  // namespace
}  // namespace airlock::suvm::test
