// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/ring/hostile_support.hh: what the hostile-input tests of the ring
// layer share (HOSTILE-INPUTS.md).
//
// `exact_region` is a formatted region in a heap block of exactly its size,
// so AddressSanitizer catches any access past either end; `guard_ring` also
// poisons every byte of the region outside one ring's four control words and
// data area, so an endpoint that touches anything else traps. `raw_writer`
// plays a hostile producer that writes record words and the tail by hand.
// `fake_hooks` is a deterministic `wait_hooks`: a counting clock, parks that
// return at once, and an `on_unpark` callback, the injection point for host
// actions in the middle of an enclave call. `expect_consumer_stuck` and
// `expect_producer_stuck` call every entry point and check each reports the
// same sticky fault.
//
// Thread contract: test code; `host_store`/`host_load` are atomic and may run
// on a scribbler thread while an endpoint runs on another.

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <span>
#include <string>

#include "airlock/ring/region.hh"
#include "airlock/ring/spsc_ring.hh"
#include "support/region_fixture.hh"

#include "airlock/base/sanitizers.hh"
#if AIRLOCK_ASAN
#include <sanitizer/asan_interface.h>
#endif

namespace airlock::test {

// The code a call reported: errc::ok for a value, else its error.
template <class T>
[[nodiscard]] errc code_of(const expected<T>& e) {
    return e.has_value() ? errc::ok : e.error();
}

// EXPECT that an errc equals another, printing both names on failure.
#define AIRLOCK_EXPECT_ERRC(got_expr, want_expr)                                             \
    do {                                                                                     \
        const ::airlock::errc airlock_got_ = (got_expr);                                     \
        const ::airlock::errc airlock_want_ = (want_expr);                                   \
        EXPECT_TRUE(airlock_got_ == airlock_want_)                                           \
            << #got_expr << ": expected " << ::airlock::to_string(airlock_want_) << ", got " \
            << ::airlock::to_string(airlock_got_);                                           \
    } while (false)

// A region in a heap block of exactly required_size() bytes.
class exact_region {
  public:
    explicit exact_region(ring::region_geometry geometry)
        : geometry_(std::move(geometry)),
          size_(ring::region::required_size(geometry_).value()),
          data_(static_cast<std::byte*>(
              ::operator new (size_, std::align_val_t{ring::wire::region_alignment}))) {
        region_ = ring::region::format(span(), geometry_).value();
    }
    ~exact_region() {
        unguard();
        ::operator delete (data_, std::align_val_t{ring::wire::region_alignment});
    }
    exact_region(const exact_region&) = delete;
    exact_region& operator=(const exact_region&) = delete;

    [[nodiscard]] ring::ring_view ring(std::size_t i = 0) const { return region_.ring(i); }
    [[nodiscard]] const ring::region& region() const { return region_; }
    [[nodiscard]] const ring::region_geometry& geometry() const { return geometry_; }
    [[nodiscard]] std::span<std::byte> span() const { return {data_, size_}; }
    [[nodiscard]] std::byte* data() const { return data_; }
    [[nodiscard]] std::size_t size() const { return size_; }
    [[nodiscard]] std::size_t words() const { return size_ / 8; }

    // Offset of a shared word from the region base.
    [[nodiscard]] std::size_t offset_of(const void* p) const {
        return static_cast<std::size_t>(static_cast<const std::byte*>(p) - data_);
    }
    // True if [p, p + n) lies inside the region.
    [[nodiscard]] bool contains(const void* p, std::size_t n) const {
        const auto a = reinterpret_cast<std::uintptr_t>(p);
        const auto b = reinterpret_cast<std::uintptr_t>(data_);
        return a >= b && n <= size_ && a - b <= size_ - n;
    }

    // The host's view: any word of the region, read or written atomically
    // (relaxed), the way a hostile peer on another thread would.
    void host_store(std::size_t word_index, std::uint64_t v) const {
        std::atomic_ref<std::uint64_t>(word(word_index)).store(v, std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t host_load(std::size_t word_index) const {
        return std::atomic_ref<std::uint64_t>(word(word_index)).load(std::memory_order_relaxed);
    }

    // Poisons (under ASan) every byte except ring `i`'s tail, head and two
    // doorbell words and its data area. No-op without ASan.
    void guard_ring(std::size_t i) {
#if AIRLOCK_ASAN
        const ring::ring_view v = ring(i);
        ASAN_POISON_MEMORY_REGION(data_, size_);
        auto open = [](const void* p, std::size_t n) { ASAN_UNPOISON_MEMORY_REGION(p, n); };
        open(&v.control->tail, 8);
        open(&v.control->head, 8);
        open(&v.control->consumer_bell.word, 8);
        open(&v.control->producer_bell.word, 8);
        open(v.data, v.capacity);
        guarded_ = true;
#else
        (void)i;
#endif
    }
    void unguard() {
#if AIRLOCK_ASAN
        if (guarded_) ASAN_UNPOISON_MEMORY_REGION(data_, size_);
        guarded_ = false;
#endif
    }

  private:
    [[nodiscard]] std::uint64_t& word(std::size_t i) const {
        AIRLOCK_CHECK(i < words(), "test wrote outside its region");
        return reinterpret_cast<std::uint64_t*>(data_)[i];
    }

    ring::region_geometry geometry_;
    std::size_t size_;
    std::byte* data_;
    ring::region region_;
#if AIRLOCK_ASAN
    bool guarded_ = false;
#endif
};

// A hostile producer that writes records word by word at its own tail.
class raw_writer {
  public:
    explicit raw_writer(ring::ring_view ring) : ring_(ring) {}

    // Writes one word at the private tail and advances it (no publish).
    void put(std::uint64_t word) {
        ring::shared::store_relaxed(ring_.data[(tail_ & (ring_.capacity - 1)) / 8], word);
        tail_ += 8;
    }
    // Writes a record header and `payload_words` words of `fill`.
    void record(ring::wire::record_kind kind, std::uint32_t length, std::uint16_t tag = 0,
                std::uint64_t fill = 0) {
        put(ring::wire::encode({.length = length, .tag = tag, .kind = kind}));
        for (std::uint64_t i = 0; i < (std::uint64_t{length} + 7) / 8; ++i)
            put(fill);
    }
    // Writes wrap padding, as an honest producer would, if a record of
    // `bytes` bytes would not fit before the end of the ring.
    void wrap_for(std::uint64_t bytes) {
        const std::uint64_t to_end = ring_.capacity - (tail_ & (ring_.capacity - 1));
        if (to_end < bytes)
            record(ring::wire::record_kind::padding, static_cast<std::uint32_t>(to_end - 8));
    }
    // Writes the tail word as it stands.
    void publish() { ring::shared::store_release(ring_.control->tail, tail_); }
    // Sets the private tail (and so where the next word goes).
    void seek(std::uint64_t tail) { tail_ = tail; }
    [[nodiscard]] std::uint64_t tail() const { return tail_; }
    // Bytes the consumer has not yet released, as the consumer published it.
    [[nodiscard]] std::uint64_t in_flight() const {
        return tail_ - ring::shared::load_acquire(ring_.control->head);
    }

  private:
    ring::ring_view ring_;
    std::uint64_t tail_ = 0;
};

// Deterministic wait hooks: time advances 1 us per now_ns() call, park
// returns at once (a spurious wake-up), unpark calls `on_unpark`.
class fake_hooks final : public ring::wait_hooks {
  public:
    void yield() noexcept override { ++yields; }
    void park(ring::shared_u64& word, std::uint64_t, std::uint64_t) noexcept override {
        ++parks;
        if (on_park) on_park(word);
    }
    void unpark(ring::shared_u64& word) noexcept override {
        ++unparks;
        if (on_unpark) on_unpark(word);
    }
    [[nodiscard]] std::uint64_t now_ns() noexcept override { return clock += 1000; }

    std::function<void(ring::shared_u64&)> on_park;
    std::function<void(ring::shared_u64&)> on_unpark;
    std::uint64_t clock = 0;
    std::uint64_t yields = 0;
    std::uint64_t parks = 0;
    std::uint64_t unparks = 0;
};

// A wait policy that gives up quickly and deterministically.
inline ring::wait_policy short_wait(ring::wait_hooks* hooks = nullptr) {
    return {.spin_iterations = 4, .yield_iterations = 2, .timeout_ns = 50'000, .hooks = hooks};
}

// Every consumer entry point reports `want`, several times over.
inline void expect_consumer_stuck(ring::ring_consumer& c, errc want) {
    EXPECT_TRUE(c.faulted());
    AIRLOCK_EXPECT_ERRC(c.fault(), want);
    EXPECT_TRUE(is_fault(c.fault())) << to_string(c.fault()) << " is not a fault code";
    for (int i = 0; i < 3; ++i) {
        AIRLOCK_EXPECT_ERRC(code_of(c.try_peek()), want);
        AIRLOCK_EXPECT_ERRC(code_of(c.try_receive()), want);
        std::size_t delivered = 0;
        auto polled = c.poll(16, [&](const ring::message&) { ++delivered; });
        AIRLOCK_EXPECT_ERRC(code_of(polled), want);
        EXPECT_EQ(delivered, 0u) << "poll delivered messages after the fault";
        AIRLOCK_EXPECT_ERRC(code_of(c.poll(0, [](const ring::message&) {})), want);
        EXPECT_FALSE(c.has_data()) << "has_data() on a faulted ring";
        AIRLOCK_EXPECT_ERRC(code_of(c.wait_for_data(short_wait())), want);
        AIRLOCK_EXPECT_ERRC(code_of(c.receive(short_wait())), want);
        AIRLOCK_EXPECT_ERRC(c.fault(), want);
    }
}

// Every producer entry point reports `want`, several times over.
inline void expect_producer_stuck(ring::ring_producer& p, errc want) {
    EXPECT_TRUE(p.faulted());
    AIRLOCK_EXPECT_ERRC(p.fault(), want);
    EXPECT_TRUE(is_fault(p.fault())) << to_string(p.fault()) << " is not a fault code";
    const std::vector<std::byte> small = pattern(24, 1);
    const std::vector<std::byte> large = pattern(p.max_record_payload() * 3, 2);
    for (int i = 0; i < 3; ++i) {
        AIRLOCK_EXPECT_ERRC(code_of(p.try_reserve(8, 1)), want);
        AIRLOCK_EXPECT_ERRC(code_of(p.try_send(1, small)), want);
        ring::outgoing_message m(2, large);
        AIRLOCK_EXPECT_ERRC(code_of(p.try_send(m)), want);
        EXPECT_FALSE(m.done());
        AIRLOCK_EXPECT_ERRC(code_of(p.wait_for_space(8, short_wait())), want);
        AIRLOCK_EXPECT_ERRC(code_of(p.send(3, large, short_wait())), want);
        AIRLOCK_EXPECT_ERRC(p.fault(), want);
    }
}

}  // namespace airlock::test
