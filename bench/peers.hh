// SPDX-License-Identifier: Apache-2.0
#pragma once
// bench/peers.hh: the peer queues airlock-bench compares Airlock with.
//
// Each peer is compiled in only when the build found its header
// (bench/CMakeLists.txt defines AIRLOCK_BENCH_HAVE_<PEER> to 0 or 1); the
// `peer` table says which are present, so a missing one is reported in the
// output instead of silently absent. The peers are benchmark dependencies
// only: nothing in the library uses them.
//
// Thread contract: constants only.

#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

#if AIRLOCK_BENCH_HAVE_BOOST_SPSC
#include <boost/lockfree/spsc_queue.hpp>
#endif
#if AIRLOCK_BENCH_HAVE_READERWRITERQUEUE
#include <readerwriterqueue/readerwriterqueue.h>
#endif
#if AIRLOCK_BENCH_HAVE_CONCURRENTQUEUE
#include <concurrentqueue/concurrentqueue.h>
#endif

namespace airlock::bench {

// A peer queue: its name in the output, whether it is compiled in, and the
// header that decides it.
struct peer {
    std::string_view impl;
    bool present;
    std::string_view header;
};

inline constexpr peer boost_spsc{"boost_spsc", AIRLOCK_BENCH_HAVE_BOOST_SPSC != 0,
                                 "boost/lockfree/spsc_queue.hpp"};
inline constexpr peer moodycamel_rwq{"moodycamel", AIRLOCK_BENCH_HAVE_READERWRITERQUEUE != 0,
                                     "readerwriterqueue/readerwriterqueue.h"};
inline constexpr peer moodycamel_cq{"moodycamel_cq", AIRLOCK_BENCH_HAVE_CONCURRENTQUEUE != 0,
                                    "concurrentqueue/concurrentqueue.h"};

// The same queues driven through their bulk APIs, as their authors intend
// for batches: boost's push(const T*, n) / pop(T*, n), moodycamel's
// ConcurrentQueue try_enqueue_bulk / try_dequeue_bulk (ReaderWriterQueue has
// no bulk API).
inline constexpr peer boost_spsc_bulk{"boost_spsc_bulk", AIRLOCK_BENCH_HAVE_BOOST_SPSC != 0,
                                      "boost/lockfree/spsc_queue.hpp"};
inline constexpr peer moodycamel_cq_bulk{"moodycamel_cq_bulk",
                                         AIRLOCK_BENCH_HAVE_CONCURRENTQUEUE != 0,
                                         "concurrentqueue/concurrentqueue.h"};

// The element type the peers carry for an N-byte message.
template <std::size_t N>
using payload = std::array<std::byte, N>;

// Calls `f(std::integral_constant<std::size_t, N>{})` when `bytes` is one of
// the sizes the peers are compiled for (8, 64, 1024, 65536); returns false
// for any other size.
template <class F>
bool with_payload_size(std::size_t bytes, F&& f) {
    switch (bytes) {
        case 8:
            f(std::integral_constant<std::size_t, 8>{});
            return true;
        case 64:
            f(std::integral_constant<std::size_t, 64>{});
            return true;
        case 1024:
            f(std::integral_constant<std::size_t, 1024>{});
            return true;
        case 65536:
            f(std::integral_constant<std::size_t, 65536>{});
            return true;
        default:
            return false;
    }
}

}  // namespace airlock::bench
