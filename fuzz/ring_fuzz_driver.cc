// SPDX-License-Identifier: Apache-2.0
// The ring layer's fuzz driver (input format in ring_fuzz_driver.hh).
//
// What it checks, on every input:
// - no crash, no undefined behaviour, no access outside the region (the
//   region is a heap block of exactly its size; the fuzz build runs ASan
//   and UBSan);
// - each enclave call writes only the shared words its side owns (the
//   consumer: ring 0's head and doorbells; the producer: ring 1's tail, data
//   area and doorbells), found by comparing the region before and after;
// - every error an enclave call returns is an ordinary outcome or a fault
//   code, a fault is the endpoint's fault(), and once faulted every call
//   returns that same fault (sticky);
// - while the run is pristine (a freshly formatted image, no hostile write
//   to a word anyone relies on): no endpoint faults, every message arrives
//   intact and in order, and at the end everything sent is delivered.
#include "ring_fuzz_driver.hh"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "airlock/ring/region.hh"
#include "airlock/ring/spsc_ring.hh"
#include "fuzz_support.hh"

namespace airlock::fuzz {
namespace {

using namespace airlock::ring;

constexpr std::size_t max_actions = 20000;
constexpr std::size_t drain_turns = 200000;

// The action being run, for the report when a check fails.
thread_local std::size_t current_action = 0;
thread_local int current_op = -1;

void check(bool ok, const char* what, long long a = 0, long long b = 0) {
    if (ok) [[likely]]
        return;
    std::fprintf(stderr, "ring fuzz: broken guarantee: %s (%lld, %lld) at action %zu (op %d)\n",
                 what, a, b, current_action, current_op);
    std::fflush(stderr);
    std::abort();
}

region_geometry geometry_of(std::uint8_t g) {
    switch (g % geometry_count) {
        case 0:
            return {{256, 256}, 0};
        case 1:
            return {{512, 256}, 1};
        case 2:
            return {{1024, 1024}, 0};
        default:
            return {{256, 4096}, 2};
    }
}

constexpr std::size_t max_messages[4] = {64, 4096, 65536, std::size_t{1} << 20};

// Bytes of the input, read little-endian; past the end everything is zero.
class reader {
  public:
    reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    [[nodiscard]] bool done() const { return at_ >= size_; }
    std::uint8_t u8() { return at_ < size_ ? data_[at_++] : 0; }
    std::uint16_t u16() {
        const auto lo = u8();
        return static_cast<std::uint16_t>(lo | (u8() << 8));
    }
    std::uint64_t u64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v |= std::uint64_t{u8()} << (8 * i);
        return v;
    }
    std::span<const std::uint8_t> take(std::size_t n) {
        n = std::min(n, size_ - std::min(at_, size_));
        std::span<const std::uint8_t> s(data_ + at_, n);
        at_ += n;
        return s;
    }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

// The payload of message `seq`: every byte a function of both.
std::vector<std::byte> payload(std::uint64_t seq, std::size_t n) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>((seq * 131 + i * 7) & 0xff);
    return v;
}

struct sent_message {
    std::uint16_t tag;
    std::vector<std::byte> bytes;
};

// A message on its way out, with the bytes it points into.
struct pending {
    std::uint16_t tag = 0;
    std::vector<std::byte> bytes;
    std::optional<outgoing_message> message;
    [[nodiscard]] bool active() const { return message.has_value() && !message->done(); }
};

// Deterministic wait hooks: a counting clock, parks that return at once,
// and an injection point (a hostile write armed by the input) on park and
// unpark, inside an enclave call.
class injecting_hooks final : public wait_hooks {
  public:
    void yield() noexcept override {}
    void park(shared_u64&, std::uint64_t, std::uint64_t) noexcept override { inject(); }
    void unpark(shared_u64&) noexcept override { inject(); }
    [[nodiscard]] std::uint64_t now_ns() noexcept override { return clock_ += 1000; }

    void arm(std::uint64_t* word, std::uint64_t value) {
        word_ = word;
        value_ = value;
    }
    // True if an injection fired since the last call.
    bool fired() { return std::exchange(fired_, false); }

  private:
    void inject() noexcept {
        if (word_ == nullptr) return;
        std::atomic_ref<std::uint64_t>(*word_).store(value_, std::memory_order_relaxed);
        word_ = nullptr;
        fired_ = true;
    }
    std::uint64_t clock_ = 0;
    std::uint64_t* word_ = nullptr;
    std::uint64_t value_ = 0;
    bool fired_ = false;
};

class driver {
  public:
    driver(region_geometry geometry, std::size_t size, region_memory memory, region attached,
           bool pristine, bool with_hooks, std::size_t max_message)
        : geometry_(std::move(geometry)),
          size_(size),
          memory_(std::move(memory)),
          region_(std::move(attached)),
          pristine_(pristine),
          max_message_(max_message) {
        consumer_options co;
        co.max_message = max_message;
        endpoint_options po;
        if (with_hooks) {
            co.hooks = &hooks_;
            po.hooks = &hooks_;
        }
        consumer_.emplace(region_.ring(0), co);
        producer_.emplace(region_.ring(1), po);
        host_producer_.emplace(region_.ring(0));
        host_consumer_.emplace(region_.ring(1));
        classify_words();
    }

    void run(reader& in) {
        const bool started_pristine = pristine_;
        for (std::size_t n = 0; n < max_actions && !in.done(); ++n)
            step(in);
        if (pristine_) drain();
        // AIRLOCK_FUZZ_VERBOSE=1 says what an input did (for corpus work).
        static const bool verbose = std::getenv("AIRLOCK_FUZZ_VERBOSE") != nullptr;
        if (verbose)
            std::fprintf(stderr,
                         "ring fuzz: %s%s, %llu messages to the enclave, %llu to the host, "
                         "consumer %s, producer %s\n",
                         started_pristine ? "pristine image" : "crafted image",
                         started_pristine && !pristine_ ? " then hostile writes" : "",
                         static_cast<unsigned long long>(delivered_to_enclave_),
                         static_cast<unsigned long long>(delivered_to_host_),
                         std::string(to_string(consumer_->fault())).c_str(),
                         std::string(to_string(producer_->fault())).c_str());
    }

  private:
    // --- the words of the region ---------------------------------------
    [[nodiscard]] std::size_t word_of(const void* p) const {
        return static_cast<std::size_t>(static_cast<const std::byte*>(p) - memory_.get()) / 8;
    }
    [[nodiscard]] std::uint64_t* word_ptr(std::size_t w) const {
        return reinterpret_cast<std::uint64_t*>(memory_.get()) + w;
    }
    [[nodiscard]] std::size_t words() const { return size_ / 8; }
    std::uint64_t host_load(std::size_t w) const {
        return std::atomic_ref<std::uint64_t>(*word_ptr(w)).load(std::memory_order_relaxed);
    }
    void host_store(std::size_t w, std::uint64_t v) const {
        std::atomic_ref<std::uint64_t>(*word_ptr(w)).store(v, std::memory_order_relaxed);
    }

    enum word_class : std::uint8_t {
        relied_on = 0,       // a hostile write there ends the pristine oracle
        ignorable = 1,       // header, ring table, doorbells, unused control words
        consumer_owned = 2,  // the enclave consumer may write it
        producer_owned = 4,  // the enclave producer may write it
    };

    void classify_words() {
        class_.assign(words(), relied_on);
        const std::size_t first_ring = word_of(region_.ring(0).control);
        for (std::size_t w = 0; w < first_ring; ++w)
            class_[w] = ignorable;
        for (std::size_t r = 0; r < region_.ring_count(); ++r) {
            const ring_view v = region_.ring(r);
            const std::size_t c = word_of(v.control);
            for (std::size_t w = c; w < c + sizeof(wire::ring_control) / 8; ++w)
                class_[w] = ignorable;
            class_[word_of(&v.control->tail)] = relied_on;
            class_[word_of(&v.control->head)] = relied_on;
        }
        // Anything past the last ring (page rounding) is never read.
        const ring_view last = region_.ring(region_.ring_count() - 1);
        for (std::size_t w = word_of(last.data) + last.capacity / 8; w < words(); ++w)
            class_[w] = ignorable;
        const ring_view in = region_.ring(0);
        const ring_view out = region_.ring(1);
        for (const shared_u64* w :
             {&in.control->head, &in.control->consumer_bell.word, &in.control->producer_bell.word})
            class_[word_of(w)] |= std::uint8_t{consumer_owned};
        for (const shared_u64* w : {&out.control->tail, &out.control->consumer_bell.word,
                                    &out.control->producer_bell.word})
            class_[word_of(w)] |= std::uint8_t{producer_owned};
        for (std::size_t w = word_of(out.data); w < word_of(out.data) + out.capacity / 8; ++w)
            class_[w] |= std::uint8_t{producer_owned};
    }

    void hostile_write(std::size_t w, std::uint64_t v) {
        if ((class_[w] & ignorable) == 0) pristine_ = false;
        host_store(w, v);
    }

    // --- the write-set check -------------------------------------------
    void before_enclave_call() {
        snapshot_.resize(size_);
        std::memcpy(snapshot_.data(), memory_.get(), size_);
    }
    void after_enclave_call(std::uint8_t allowed) {
        if (hooks_.fired()) return;  // a hostile write happened inside the call
        if (std::memcmp(memory_.get(), snapshot_.data(), size_) == 0) return;
        const auto* now = reinterpret_cast<const std::uint64_t*>(memory_.get());
        const auto* was = reinterpret_cast<const std::uint64_t*>(snapshot_.data());
        for (std::size_t w = 0; w < words(); ++w)
            if (now[w] != was[w])
                check((class_[w] & allowed) != 0, "an enclave call wrote a word it does not own",
                      static_cast<long long>(w), allowed);
    }

    // --- outcomes --------------------------------------------------------
    void consumer_outcome(errc returned) {
        ring_consumer& c = *consumer_;
        check(returned == errc::ok || returned == errc::ring_empty || returned == errc::timed_out ||
                  is_fault(returned),
              "consumer returned an unexpected code", static_cast<long long>(returned));
        if (is_fault(returned)) check(returned == c.fault(), "returned fault is not fault()");
        if (consumer_fault_ != errc::ok) {
            check(c.fault() == consumer_fault_, "consumer fault changed",
                  static_cast<long long>(consumer_fault_), static_cast<long long>(c.fault()));
        } else if (c.faulted()) {
            consumer_fault_ = c.fault();
            check(is_fault(consumer_fault_), "consumer fault() is not a fault code");
        }
        check(!pristine_ || !c.faulted(), "consumer faulted on honest traffic",
              static_cast<long long>(c.fault()));
    }
    // For calls that return an errc: after a fault, it must be the fault.
    void consumer_result(errc returned) {
        if (consumer_fault_ != errc::ok)
            check(returned == consumer_fault_, "faulted consumer returned something else",
                  static_cast<long long>(consumer_fault_), static_cast<long long>(returned));
        consumer_outcome(returned);
    }
    void producer_outcome(errc returned) {
        ring_producer& p = *producer_;
        check(returned == errc::ok || returned == errc::ring_full || returned == errc::timed_out ||
                  returned == errc::message_too_large || is_fault(returned),
              "producer returned an unexpected code", static_cast<long long>(returned));
        if (is_fault(returned)) check(returned == p.fault(), "returned fault is not fault()");
        if (producer_fault_ != errc::ok) {
            check(p.fault() == producer_fault_, "producer fault changed");
        } else if (p.faulted()) {
            producer_fault_ = p.fault();
            check(is_fault(producer_fault_), "producer fault() is not a fault code");
        }
        check(!pristine_ || !p.faulted(), "producer faulted on honest traffic",
              static_cast<long long>(p.fault()));
    }
    void producer_result(errc returned) {
        if (producer_fault_ != errc::ok && returned != errc::message_too_large)
            check(returned == producer_fault_, "faulted producer returned something else",
                  static_cast<long long>(producer_fault_), static_cast<long long>(returned));
        producer_outcome(returned);
    }

    template <class T>
    static errc code_of(const expected<T>& e) {
        return e.has_value() ? errc::ok : e.error();
    }

    // A message the enclave received: in a pristine run, the next one sent.
    void enclave_received(std::uint16_t tag, std::span<const std::byte> bytes) {
        check(bytes.size() <= max_message_, "message above the trusted cap",
              static_cast<long long>(bytes.size()));
        ++delivered_to_enclave_;
        if (!pristine_) return;
        check(!to_enclave_.empty(), "enclave received a message nobody sent");
        const sent_message& want = to_enclave_.front();
        check(want.tag == tag && want.bytes.size() == bytes.size() &&
                  std::equal(bytes.begin(), bytes.end(), want.bytes.begin()),
              "enclave received a different message", static_cast<long long>(bytes.size()),
              static_cast<long long>(want.bytes.size()));
        to_enclave_.pop_front();
    }
    void host_received(std::uint16_t tag, std::span<const std::byte> bytes) {
        ++delivered_to_host_;
        if (!pristine_) return;
        check(!to_host_.empty(), "host received a message nobody sent");
        const sent_message& want = to_host_.front();
        check(want.tag == tag && want.bytes.size() == bytes.size() &&
                  std::equal(bytes.begin(), bytes.end(), want.bytes.begin()),
              "host received a different message", static_cast<long long>(bytes.size()),
              static_cast<long long>(want.bytes.size()));
        to_host_.pop_front();
    }

    // --- enclave consumer ------------------------------------------------
    void enclave_consume(op o, reader& in) {
        ring_consumer& c = *consumer_;
        before_enclave_call();
        switch (o) {
            case op::c_peek:
            case op::c_peek_release: {
                auto r = c.try_peek();
                if (r) {
                    check(r->size() <= c.max_record_payload(), "record above the record limit");
                    std::vector<std::byte> copy(r->size());
                    r->copy_to(copy);
                    if (o == op::c_peek_release && r->kind() == wire::record_kind::message) {
                        c.release(*r);
                        enclave_received(r->tag(), copy);
                    }
                }
                consumer_result(code_of(r));
                break;
            }
            case op::c_peek_run: {
                const std::size_t max = in.u8() % 40 + 1;
                auto r = c.try_peek_run(max);
                if (r) {
                    check(r->count() >= 1 && r->count() <= max, "run view of the wrong count",
                          static_cast<long long>(r->count()), static_cast<long long>(max));
                    check(r->size() <= c.max_record_payload(), "run above the record limit");
                    check(r->kind() == wire::record_kind::message || r->count() == 1,
                          "a run of fragments");
                    std::vector<std::byte> all(r->count() * r->size());
                    r->copy_to(all);
                    if (r->kind() == wire::record_kind::message) {
                        c.release(*r);
                        for (std::size_t i = 0; i < r->count(); ++i)
                            enclave_received(r->tag(),
                                             std::span(all).subspan(i * r->size(), r->size()));
                    }
                }
                consumer_result(code_of(r));
                break;
            }
            case op::c_receive: {
                auto m = c.try_receive();
                if (m) enclave_received(m->tag, m->bytes);
                consumer_result(code_of(m));
                break;
            }
            case op::c_poll: {
                const std::size_t budget = in.u8() % 9;
                std::size_t seen = 0;
                auto n = c.poll(budget, [&](const message& m) {
                    ++seen;
                    enclave_received(m.tag, m.bytes);
                });
                if (n) check(*n == seen && seen <= budget, "poll miscounted");
                consumer_result(code_of(n));
                break;
            }
            case op::c_publish:
                c.publish();
                consumer_outcome(errc::ok);
                break;
            case op::c_has_data: {
                const bool has = c.has_data();
                check(!has || !c.faulted(), "has_data on a faulted ring");
                consumer_outcome(errc::ok);
                break;
            }
            default: {
                wait_policy w{.spin_iterations = 2,
                              .yield_iterations = 1,
                              .timeout_ns = 8000,
                              .hooks = &hooks_};
                consumer_result(code_of(c.wait_for_data(w)));
                break;
            }
        }
        after_enclave_call(consumer_owned);
    }

    // --- enclave producer ------------------------------------------------
    // Continues the enclave's message in progress; true when none remains.
    bool continue_enclave_message() {
        if (!out_.active()) return true;
        auto s = producer_->try_send(*out_.message);
        producer_result(code_of(s));
        if (out_.message->done()) {
            to_host_.push_back({out_.tag, out_.bytes});
            out_.message.reset();
            return true;
        }
        return false;
    }

    void enclave_produce(op o, reader& in) {
        ring_producer& p = *producer_;
        const std::uint16_t arg = in.u16();
        const std::uint64_t max_payload = p.max_record_payload();
        const std::size_t capacity = static_cast<std::size_t>(region_.ring(1).capacity);
        before_enclave_call();
        switch (o) {
            case op::p_send: {
                if (!continue_enclave_message()) break;
                const std::size_t n = arg % (max_payload + 9);
                const auto tag = static_cast<std::uint16_t>(seq_);
                const std::vector<std::byte> bytes = payload(seq_++, n);
                auto s = p.try_send(tag, bytes);
                if (s) to_host_.push_back({tag, bytes});
                check(s || n <= max_payload || s.error() == errc::message_too_large ||
                          is_fault(s.error()),
                      "oversize send not refused");
                producer_result(code_of(s));
                break;
            }
            case op::p_reserve_commit: {
                if (!continue_enclave_message()) break;
                const std::size_t n = arg % (max_payload + 1);
                const auto tag = static_cast<std::uint16_t>(seq_);
                auto r = p.try_reserve(n, tag);
                if (r) {
                    check(r->size() == n, "reservation of the wrong size");
                    const std::vector<std::byte> bytes = payload(seq_++, n);
                    r->write(bytes);
                    p.commit(*r);
                    to_host_.push_back({tag, bytes});
                }
                producer_result(code_of(r));
                break;
            }
            case op::p_publish:
                p.publish();
                producer_outcome(errc::ok);
                break;
            case op::p_send_run: {
                const std::size_t count = in.u8() % 40 + 1;
                if (!continue_enclave_message()) break;
                const std::size_t n = arg % (max_payload + 9) + 1;
                const auto tag = static_cast<std::uint16_t>(seq_);
                std::vector<std::vector<std::byte>> messages;
                std::vector<std::byte> all;
                for (std::size_t i = 0; i < count; ++i) {
                    messages.push_back(payload(seq_++, n));
                    all.insert(all.end(), messages.back().begin(), messages.back().end());
                }
                auto s = p.try_send_run(tag, all, n);
                if (s) {
                    check(*s >= 1 && *s <= count, "try_send_run sent the wrong count",
                          static_cast<long long>(*s), static_cast<long long>(count));
                    for (std::size_t i = 0; i < *s; ++i)
                        to_host_.push_back({tag, std::move(messages[i])});
                }
                check(s || n <= max_payload || s.error() == errc::message_too_large ||
                          is_fault(s.error()),
                      "oversize run not refused");
                producer_result(code_of(s));
                break;
            }
            case op::p_send_large: {
                if (out_.active()) {
                    (void)continue_enclave_message();
                    break;
                }
                out_.tag = static_cast<std::uint16_t>(seq_);
                out_.bytes = payload(seq_++, arg % (4 * capacity + 1));
                out_.message.emplace(out_.tag, out_.bytes);
                (void)continue_enclave_message();
                break;
            }
            case op::p_abandon:
                if (out_.message) {
                    p.abandon(*out_.message);
                    out_.message.reset();
                }
                producer_outcome(errc::ok);
                break;
            default: {
                wait_policy w{.spin_iterations = 2,
                              .yield_iterations = 1,
                              .timeout_ns = 8000,
                              .hooks = &hooks_};
                auto s = p.wait_for_space(arg % (max_payload + 9), w);
                producer_result(code_of(s));
                break;
            }
        }
        after_enclave_call(producer_owned);
    }

    // --- the honest host -------------------------------------------------
    bool continue_host_message() {
        if (!in_.active()) return true;
        auto s = host_producer_->try_send(*in_.message);
        check(!pristine_ || s || s.error() == errc::ring_full, "honest host producer faulted",
              static_cast<long long>(s ? errc::ok : s.error()));
        if (in_.message->done()) {
            to_enclave_.push_back({in_.tag, in_.bytes});
            in_.message.reset();
            return true;
        }
        return false;
    }

    void host_action(op o, reader& in) {
        switch (o) {
            case op::h_send: {
                const std::uint16_t arg = in.u16();
                if (!continue_host_message()) break;
                const std::size_t limit =
                    std::min<std::size_t>(max_message_, 4 * region_.ring(0).capacity);
                in_.tag = static_cast<std::uint16_t>(seq_);
                in_.bytes = payload(seq_++, arg % (limit + 1));
                in_.message.emplace(in_.tag, in_.bytes);
                (void)continue_host_message();
                break;
            }
            case op::h_abandon:
                if (in_.message) {
                    host_producer_->abandon(*in_.message);
                    in_.message.reset();
                }
                break;
            default: {
                auto m = host_consumer_->try_receive();
                if (m) host_received(m->tag, m->bytes);
                check(!pristine_ || m || m.error() == errc::ring_empty,
                      "honest host consumer faulted",
                      static_cast<long long>(m ? errc::ok : m.error()));
                break;
            }
        }
    }

    // --- hostile writes --------------------------------------------------
    void hostile(op o, reader& in) {
        const ring_view in_ring = region_.ring(0);
        const ring_view out_ring = region_.ring(1);
        switch (o) {
            case op::x_write_word: {
                const std::size_t w = in.u16() % words();
                hostile_write(w, in.u64());
                break;
            }
            case op::x_index_delta: {
                const std::uint8_t which = in.u8();
                const auto delta = static_cast<std::int16_t>(in.u16());
                const shared_u64* targets[4] = {&in_ring.control->tail, &in_ring.control->head,
                                                &out_ring.control->tail, &out_ring.control->head};
                const std::size_t w = word_of(targets[which % 4]);
                const std::uint64_t step =
                    (which & 4) != 0 ? static_cast<std::uint64_t>(static_cast<std::int64_t>(delta))
                                     : static_cast<std::uint64_t>(std::int64_t{delta} * 8);
                hostile_write(w, host_load(w) + step);
                break;
            }
            case op::x_header_at_head: {
                const std::uint64_t head = host_load(word_of(&in_ring.control->head));
                hostile_write(word_of(in_ring.data) + (head % in_ring.capacity) / 8, in.u64());
                break;
            }
            case op::x_bell: {
                const std::size_t which = in.u8() % (4 + region_.doorbell_count());
                const shared_u64* bell = which == 0   ? &in_ring.control->consumer_bell.word
                                         : which == 1 ? &in_ring.control->producer_bell.word
                                         : which == 2 ? &out_ring.control->consumer_bell.word
                                         : which == 3 ? &out_ring.control->producer_bell.word
                                                      : &region_.doorbell(which - 4).word;
                hostile_write(word_of(bell), in.u64());
                break;
            }
            default: {
                const std::size_t w = in.u16() % words();
                const std::uint64_t v = in.u64();
                if ((class_[w] & ignorable) == 0) pristine_ = false;
                hooks_.arm(word_ptr(w), v);
                break;
            }
        }
    }

    void step(reader& in) {
        const auto o = static_cast<op>(in.u8() % static_cast<std::uint8_t>(op::count));
        ++current_action;
        current_op = static_cast<int>(o);
        if (o <= op::c_wait || o == op::c_peek_run)
            enclave_consume(o, in);
        else if (o <= op::p_wait || o == op::p_send_run)
            enclave_produce(o, in);
        else if (o <= op::h_receive)
            host_action(o, in);
        else
            hostile(o, in);
    }

    // Nothing is silently dropped: in a pristine run, everything sent
    // (including messages still in progress) arrives.
    void drain() {
        current_op = -2;  // the drain at the end
        for (std::size_t turn = 0; turn < drain_turns; ++turn) {
            if (to_enclave_.empty() && to_host_.empty() && !in_.active() && !out_.active()) return;
            (void)continue_host_message();
            before_enclave_call();
            (void)continue_enclave_message();
            producer_->publish();
            after_enclave_call(producer_owned);
            before_enclave_call();
            auto m = consumer_->try_receive();
            if (m) enclave_received(m->tag, m->bytes);
            consumer_result(code_of(m));
            after_enclave_call(consumer_owned);
            auto h = host_consumer_->try_receive();
            if (h) host_received(h->tag, h->bytes);
            check(h || h.error() == errc::ring_empty, "honest host consumer faulted");
        }
        check(false, "messages were lost on honest traffic",
              static_cast<long long>(to_enclave_.size()), static_cast<long long>(to_host_.size()));
    }

    region_geometry geometry_;
    std::size_t size_;
    region_memory memory_;
    region region_;
    bool pristine_;
    std::size_t max_message_;
    injecting_hooks hooks_;
    std::optional<ring_consumer> consumer_;
    std::optional<ring_producer> producer_;
    std::optional<ring_producer> host_producer_;
    std::optional<ring_consumer> host_consumer_;
    std::vector<std::uint8_t> class_;
    std::vector<std::byte> snapshot_;
    std::deque<sent_message> to_enclave_;
    std::deque<sent_message> to_host_;
    pending in_;   // the honest host's message in progress (ring 0)
    pending out_;  // the enclave's message in progress (ring 1)
    errc consumer_fault_ = errc::ok;
    errc producer_fault_ = errc::ok;
    std::uint64_t seq_ = 0;
    std::uint64_t delivered_to_enclave_ = 0;
    std::uint64_t delivered_to_host_ = 0;
};

}  // namespace
}  // namespace airlock::fuzz

namespace {

// The input's region: its geometry, flags and image over zeroed memory of
// exactly the region's size.
struct input_region {
    airlock::ring::region_geometry geometry;
    std::uint8_t flags = 0;
    std::size_t size_needed = 0;
    airlock::fuzz::region_memory memory;
};

input_region read_region(airlock::fuzz::reader& in) {
    using namespace airlock;
    input_region r;
    r.geometry = fuzz::geometry_of(in.u8());
    r.flags = in.u8();
    const std::size_t image_size = in.u16();
    r.size_needed = ring::region::required_size(r.geometry).value();
    r.memory = fuzz::allocate_region(r.size_needed);
    const auto image = in.take(image_size);
    std::memcpy(r.memory.get(), image.data(), std::min(image.size(), r.size_needed));
    return r;
}

}  // namespace

bool ring_fuzz_input_attaches(const std::uint8_t* data, std::size_t size) {
    airlock::fuzz::reader in(data, size);
    input_region r = read_region(in);
    return airlock::ring::region::attach({r.memory.get(), r.size_needed}, r.geometry).has_value();
}

int run_ring_fuzz_input(const std::uint8_t* data, std::size_t size) {
    using namespace airlock;
    using namespace airlock::ring;
    fuzz::reader in(data, size);
    fuzz::current_action = 0;
    fuzz::current_op = -1;
    input_region input = read_region(in);
    region_geometry geometry = std::move(input.geometry);
    const std::uint8_t flags = input.flags;
    const std::size_t size_needed = input.size_needed;
    fuzz::region_memory memory = std::move(input.memory);

    // Pristine: byte for byte what format() lays out.
    fuzz::region_memory fresh = fuzz::allocate_region(size_needed);
    (void)region::format({fresh.get(), size_needed}, geometry).value();
    const bool pristine = std::memcmp(fresh.get(), memory.get(), size_needed) == 0;
    fresh.reset();

    auto attached = region::attach({memory.get(), size_needed}, geometry);
    if (!attached) {
        fuzz::check(!pristine, "a freshly formatted region did not attach");
        return 0;
    }
    fuzz::check(attached->base() == memory.get() && attached->size() == size_needed,
                "attached region is not the memory given");
    for (std::size_t i = 0; i < attached->ring_count(); ++i) {
        const ring_view v = attached->ring(i);
        const auto* lo = memory.get();
        const auto* data_end = reinterpret_cast<const std::byte*>(v.data) + v.capacity;
        fuzz::check(reinterpret_cast<const std::byte*>(v.control) >= lo &&
                        data_end <= lo + size_needed && v.capacity == geometry.ring_capacities[i],
                    "attached ring outside the region");
    }
    fuzz::driver d(std::move(geometry), size_needed, std::move(memory), std::move(*attached),
                   pristine, (flags & 1) != 0, fuzz::max_messages[(flags >> 1) & 3]);
    d.run(in);
    return 0;
}
