// SPDX-License-Identifier: Apache-2.0
// The rpc layer's fuzz driver (input format in rpc_fuzz_driver.hh).
//
// What it checks, on every input:
// - no crash, no undefined behaviour (the fuzz build runs ASan and UBSan);
// - no single allocation made while the enclave runs is larger than
//   max_allocation(), a bound from the trusted max_message: a size the host
//   claims never reaches the allocator (HOSTILE-INPUTS #19);
// - every message the enclave sends is well-formed: a call (tag 1) of a
//   host method, with an id it never used before and exactly the arguments
//   its caller passed; or a reply (tag 2) to a call the host made and has
//   not had answered, carrying what the method owes: its value, an error
//   value, rpc_unknown_method, rpc_decode, rpc_handler_failed or
//   rpc_overloaded (#9-11, #25);
// - every call the enclave makes completes exactly once, with an outcome
//   that the host's messages allow: the value or the mapped error of a reply
//   that could have reached it (codes out of contract are
//   rpc_result_out_of_contract, undecodable results rpc_decode; #12, #13),
//   cancelled once it was cancelled, rpc_channel_faulted once the channel
//   faulted, broken_promise once the endpoint is gone; a reply for an id
//   never made, already answered or of an older generation completes
//   nothing (#12, #15);
// - nothing spins: the executor settles once the host stops, and at
//   tear-down (a forged ring index, endpoint_base::fail, or destroying the
//   endpoint while its executor goes on) every call has completed (#14);
// - when the channel never faulted: every call the host made was answered
//   exactly once (or, once the host sent a cancel for its id, at most once)
//   and the endpoint's counters agree with what the host sent.
#include "rpc_fuzz_driver.hh"

#include <algorithm>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "airlock/async/cancellation.hh"
#include "airlock/async/event.hh"
#include "airlock/async/executor.hh"
#include "airlock/async/task.hh"
#include "airlock/ring/region.hh"
#include "airlock/ring/spsc_ring.hh"
#include "airlock/rpc/endpoint.hh"
#include "fuzz_support.hh"

namespace airlock::fuzz {
namespace {

using rpc::side;
using enclave_endpoint = rpc::endpoint<side::enclave>;

constexpr std::size_t max_actions = 20000;
constexpr std::size_t settle_rounds = 1'000'000;
constexpr std::size_t no_index = std::numeric_limits<std::size_t>::max();
constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();

// The action being run, and what to print about the channel, for the
// report when a check fails.
std::size_t current_action = 0;
int current_op = -1;
void (*dump_state)(const void*) = nullptr;
const void* dump_context = nullptr;

void check(bool ok, const char* what, long long a = 0, long long b = 0) {
    if (ok) [[likely]]
        return;
    std::fprintf(stderr, "rpc fuzz: broken guarantee: %s (%lld, %lld) at action %zu (op %d)\n",
                 what, a, b, current_action, current_op);
    if (dump_state != nullptr) dump_state(dump_context);
    std::fflush(stderr);
    std::abort();
}

// Bytes of the input, read little-endian; past the end everything is zero.
class input {
  public:
    input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    [[nodiscard]] bool done() const { return at_ >= size_; }
    std::uint8_t u8() { return at_ < size_ ? data_[at_++] : 0; }
    std::uint64_t uint(std::size_t bytes) {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < bytes; ++i)
            v |= std::uint64_t{u8()} << (8 * i);
        return v;
    }
    std::uint16_t u16() { return static_cast<std::uint16_t>(uint(2)); }
    std::uint64_t u64() { return uint(8); }
    // Up to `n` bytes (fewer at the end of the input).
    std::vector<std::byte> bytes(std::size_t n) {
        n = std::min(n, size_ - std::min(at_, size_));
        std::vector<std::byte> out(n);
        if (n != 0) std::memcpy(out.data(), data_ + at_, n);
        at_ += n;
        return out;
    }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t at_ = 0;
};

struct config {
    std::size_t in_capacity;   // host -> enclave ring
    std::size_t out_capacity;  // enclave -> host ring
    rpc::endpoint_options options;
    bool hooks;
    bool destroy;
    bool honest_finish;
    bool peer_dies;  // the fault at tear-down comes from endpoint_base::fail
};

config config_of(std::uint8_t a, std::uint8_t b) {
    constexpr std::size_t capacities[4] = {256, 1024, 4096, 16384};
    constexpr std::size_t max_messages[4] = {1024, 8192, 65536, std::size_t{1} << 20};
    constexpr std::size_t budgets[4] = {1, 3, 16, 64};
    constexpr std::size_t limits[4] = {1, 2, 4, 256};
    config c{};
    c.in_capacity = capacities[a & 3];
    c.out_capacity = capacities[(a >> 2) & 3];
    c.options.max_message = max_messages[(a >> 4) & 3];
    c.options.poll_budget = budgets[(a >> 6) & 3];
    c.options.max_in_flight = limits[b & 3];
    c.options.max_serving = limits[(b >> 2) & 3];
    c.hooks = (b & 16) != 0;
    c.destroy = (b & 32) != 0;
    c.honest_finish = (b & 64) != 0;
    c.peer_dies = (b & 128) != 0;
    return c;
}

std::uint64_t read_u64(std::span<const std::byte> bytes, std::size_t at) {
    std::uint64_t v = 0;
    std::memcpy(&v, bytes.data() + at, sizeof v);
    return v;
}
void put_u64(std::vector<std::byte>& out, std::uint64_t v) {
    rpc::writer w(out);
    w.put_u64(v);
}
void append(std::vector<std::byte>& out, std::span<const std::byte> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

template <class T>
std::vector<std::byte> encoding_of(const T& v) {
    std::vector<std::byte> out;
    rpc::writer w(out);
    rpc::encode(w, v);
    return out;
}

// ============================================================================
// Outcomes and the contract

// What a call ended with: an error, or a value as its canonical encoding.
struct outcome {
    errc code = errc::ok;
    std::vector<std::byte> value;
    bool operator==(const outcome&) const = default;
};

template <class R>
outcome outcome_of(const expected<R>& r) {
    if (!r.has_value()) return {r.error(), {}};
    if constexpr (std::is_void_v<R>)
        return {};
    else
        return {errc::ok, encoding_of(*r)};
}

// The error codes a peer may answer with (the defined async, rpc and sys
// codes), written out here rather than taken from the endpoint.
// What a peer may answer (src/rpc/endpoint.cc, remote_error): 301 and 304
// are the caller's own conditions and arrive as out of contract.
constexpr std::uint64_t allowed_codes[] = {200, 201, 202, 300, 302, 303, 305, 306, 307, 500};

bool is_allowed_code(std::uint64_t code) {
    return std::find(std::begin(allowed_codes), std::end(allowed_codes), code) !=
           std::end(allowed_codes);
}

// What an enclave call of result type R must end with when the host answers
// `code` and `result` (HOSTILE-INPUTS #13).
template <class R>
outcome owed(std::uint64_t code, std::span<const std::byte> result) {
    if (code != 0)
        return {is_allowed_code(code) ? static_cast<errc>(code) : errc::rpc_result_out_of_contract,
                {}};
    if constexpr (std::is_void_v<R>) {
        return result.empty() ? outcome{} : outcome{errc::rpc_decode, {}};
    } else {
        std::tuple<R> v;
        if (!rpc::decode_exactly(result, v)) return {errc::rpc_decode, {}};
        outcome o{errc::ok, encoding_of(std::get<0>(v))};
        // Every encoding of these types is canonical: a result that decodes
        // re-encodes to the same bytes, or the codec read something else.
        check(o.value.size() == result.size() &&
                  std::equal(o.value.begin(), o.value.end(), result.begin()),
              "a decoded result does not re-encode to its bytes",
              static_cast<long long>(result.size()), static_cast<long long>(o.value.size()));
        return o;
    }
}

outcome owed_for(std::uint64_t method, std::uint64_t code, std::span<const std::byte> result) {
    switch (method) {
        case calls::lookup.id:
            return owed<std::uint64_t>(code, result);
        case calls::name_of.id:
            return owed<std::string>(code, result);
        case calls::list.id:
            return owed<std::vector<std::uint64_t>>(code, result);
        case calls::ping.id:
            return owed<void>(code, result);
        case calls::exists.id:
            return owed<bool>(code, result);
        case calls::find.id:
            return owed<std::optional<std::string>>(code, result);
        case calls::blob.id:
            return owed<std::vector<std::byte>>(code, result);
        default:
            return owed<calls::shade>(code, result);
    }
}

// ============================================================================
// Values from the input

template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T>
struct is_tuple : std::false_type {};
template <class... T>
struct is_tuple<std::tuple<T...>> : std::true_type {};
template <class T>
struct is_array : std::false_type {};
template <class T, std::size_t N>
struct is_array<std::array<T, N>> : std::true_type {};

// A well-formed value of T from the input; `big` makes strings and vectors
// long (a u16 sets about twice as many bytes, in a pattern), so messages
// travel as fragments and may pass the trusted cap.
template <class T>
void make(input& in, T& v, bool big) {
    if constexpr (std::is_same_v<T, bool>) {
        v = (in.u8() & 1) != 0;
    } else if constexpr (std::is_same_v<T, calls::shade>) {
        v = static_cast<calls::shade>(in.u8() % 4);
    } else if constexpr (std::is_integral_v<T>) {
        v = static_cast<T>(in.uint(sizeof(T)));
    } else if constexpr (std::is_same_v<T, std::byte>) {
        v = std::byte{in.u8()};
    } else if constexpr (std::is_same_v<T, calls::point>) {
        v.x = static_cast<std::uint32_t>(in.uint(4));
        v.y = static_cast<std::uint32_t>(in.uint(4));
    } else if constexpr (std::is_same_v<T, std::string>) {
        if (big) {
            v.assign(std::size_t{in.u16()} * 2, 'a');
            for (std::size_t i = 0; i < v.size(); ++i)
                v[i] = static_cast<char>('a' + i % 26);
        } else {
            const auto b = in.bytes(in.u8());
            v.assign(reinterpret_cast<const char*>(b.data()), b.size());
        }
    } else if constexpr (is_vector<T>::value) {
        using E = typename T::value_type;
        if constexpr (std::is_same_v<E, std::byte> || std::is_same_v<E, std::uint8_t>) {
            if (big) {
                v.resize(std::size_t{in.u16()} * 2);
                for (std::size_t i = 0; i < v.size(); ++i)
                    v[i] = static_cast<E>(i * 7 + 3);
            } else {
                const auto b = in.bytes(in.u8());
                v.resize(b.size());
                if (!b.empty()) std::memcpy(v.data(), b.data(), b.size());
            }
        } else if constexpr (std::is_same_v<E, std::string>) {
            const std::size_t n = big ? in.u16() / 4 : in.u8() % 8;
            v.resize(n);
            for (std::size_t i = 0; i < n; ++i)
                if (big)
                    v[i].assign(i % 5, 'x');
                else
                    make(in, v[i], false);
        } else {
            const std::size_t n = big ? in.u16() / 4 : in.u8() % 16;
            v.resize(n);
            for (std::size_t i = 0; i < n; ++i)
                if (big)
                    v[i] = static_cast<E>(i * 0x9E37'79B9'7F4A'7C15ull);
                else
                    make(in, v[i], false);
        }
    } else if constexpr (is_optional<T>::value) {
        if ((in.u8() & 1) == 0) {
            v.reset();
        } else {
            typename T::value_type e{};
            make(in, e, big);
            v = std::move(e);
        }
    } else if constexpr (is_pair<T>::value) {
        make(in, v.first, big);
        make(in, v.second, big);
    } else if constexpr (is_array<T>::value) {
        for (auto& e : v)
            make(in, e, big);
    } else {
        static_assert(is_tuple<T>::value, "no generator for this type");
        std::apply([&](auto&... e) { (make(in, e, big), ...); }, v);
    }
}

// The encoded result of a host method, made from the input.
template <class R>
std::vector<std::byte> make_result(input& in, bool big) {
    if constexpr (std::is_void_v<R>) {
        return {};
    } else {
        R v{};
        make(in, v, big);
        return encoding_of(v);
    }
}

std::vector<std::byte> make_result_for(std::uint64_t method, input& in, bool big) {
    switch (method) {
        case calls::name_of.id:
            return make_result<std::string>(in, big);
        case calls::list.id:
            return make_result<std::vector<std::uint64_t>>(in, big);
        case calls::ping.id:
            return make_result<void>(in, big);
        case calls::exists.id:
            return make_result<bool>(in, big);
        case calls::find.id:
            return make_result<std::optional<std::string>>(in, big);
        case calls::blob.id:
            return make_result<std::vector<std::byte>>(in, big);
        case calls::pick.id:
            return make_result<calls::shade>(in, big);
        default:
            return make_result<std::uint64_t>(in, big);
    }
}

// Well-formed arguments of enclave method M, made from the input.
template <class M>
std::vector<std::byte> make_arguments(const M& /*m*/, input& in, bool big) {
    typename M::arguments args{};
    make(in, args, big);
    return encoding_of(args);
}

std::vector<std::byte> make_arguments_for(std::uint64_t method, input& in, bool big) {
    switch (method) {
        case calls::add.id:
            return make_arguments(calls::add, in, big);
        case calls::echo.id:
            return make_arguments(calls::echo, in, big);
        case calls::sum.id:
            return make_arguments(calls::sum, in, big);
        case calls::count_chars.id:
            return make_arguments(calls::count_chars, in, big);
        case calls::opt_len.id:
            return make_arguments(calls::opt_len, in, big);
        case calls::reverse.id:
            return make_arguments(calls::reverse, in, big);
        case calls::check.id:
            return make_arguments(calls::check, in, big);
        case calls::shade_of.id:
            return make_arguments(calls::shade_of, in, big);
        case calls::note.id:
            return make_arguments(calls::note, in, big);
        default:  // hold, relay, fail and the unknown ids: one u64
            return make_arguments(calls::hold, in, big);
    }
}

// ============================================================================
// What the enclave owes the host

// The answer a call of the host's is owed.
struct owed_answer {
    std::uint64_t method = 0;
    bool served = false;  // a served method may also be refused: rpc_overloaded
    bool loose = false;   // calls::relay: any u64, or any error a call may end with
    std::uint64_t code = 0;
    std::vector<std::byte> result;

    // The answer itself (rpc_overloaded is counted apart, see owed_calls).
    [[nodiscard]] bool exactly(std::uint64_t got_code, std::span<const std::byte> got) const {
        if (got_code != code || (got_code != 0 && !got.empty())) return false;
        return got.size() == result.size() && std::equal(got.begin(), got.end(), result.begin());
    }
    [[nodiscard]] bool loosely(std::uint64_t got_code, std::span<const std::byte> got) const {
        if (!loose) return false;
        return got_code == 0 ? got.size() == 8 : got.empty() && is_allowed_code(got_code);
    }
};

template <class R>
owed_answer answer(const expected<R>& r) {
    owed_answer a;
    a.served = true;
    if (!r.has_value()) {
        a.code = static_cast<std::uint64_t>(r.error());
    } else if constexpr (!std::is_void_v<R>) {
        a.result = encoding_of(*r);
    }
    return a;
}

// What the enclave's handler of M answers to `args`, or rpc_decode.
template <class M, class Model>
owed_answer answer_of(const M& /*m*/, std::span<const std::byte> args, Model model) {
    typename M::arguments decoded{};
    if (!rpc::decode_exactly(args, decoded)) {
        owed_answer a;
        a.served = true;
        a.code = static_cast<std::uint64_t>(errc::rpc_decode);
        return a;
    }
    return answer<typename M::result_type>(std::apply(model, std::move(decoded)));
}

std::uint64_t sum_of(const std::vector<std::uint64_t>& v) {
    std::uint64_t total = 0;
    for (std::uint64_t x : v)
        total += x;
    return total;
}
std::uint64_t chars_of(const std::vector<std::string>& v) {
    std::uint64_t total = 0;
    for (const auto& s : v)
        total += s.size();
    return total;
}
std::uint64_t length_of(const std::optional<std::vector<std::uint8_t>>& v) {
    return v ? static_cast<std::uint64_t>(v->size()) : 0;
}
std::vector<std::byte> reversed(std::vector<std::byte> v) {
    std::reverse(v.begin(), v.end());
    return v;
}
expected<std::uint32_t> checked(calls::point p, bool strict) {
    if (strict && p.x > p.y) return unexpected(errc::sys_bad_result);
    return p.x + p.y;
}
std::uint64_t failing(std::uint64_t n) {
    if ((n & 1) != 0) throw std::runtime_error("odd argument");
    return n;
}

owed_answer owed_to_host(std::uint64_t method, std::span<const std::byte> args) {
    using u64 = std::uint64_t;
    switch (method) {
        case calls::add.id:
            return answer_of(calls::add, args, [](u64 a, u64 b) -> expected<u64> { return a + b; });
        case calls::echo.id:
            return answer_of(calls::echo, args,
                             [](std::string s) -> expected<std::string> { return s; });
        case calls::sum.id:
            return answer_of(calls::sum, args,
                             [](std::vector<u64> v) -> expected<u64> { return sum_of(v); });
        case calls::count_chars.id:
            return answer_of(
                calls::count_chars, args,
                [](std::vector<std::string> v) -> expected<u64> { return chars_of(v); });
        case calls::opt_len.id:
            return answer_of(calls::opt_len, args,
                             [](std::optional<std::vector<std::uint8_t>> v) -> expected<u64> {
                                 return length_of(v);
                             });
        case calls::reverse.id:
            return answer_of(calls::reverse, args,
                             [](std::vector<std::byte> v) -> expected<std::vector<std::byte>> {
                                 return reversed(std::move(v));
                             });
        case calls::check.id:
            return answer_of(calls::check, args, checked);
        case calls::hold.id:
            return answer_of(calls::hold, args, [](u64 n) -> expected<u64> { return n * 2; });
        case calls::relay.id: {
            owed_answer a = answer_of(calls::relay, args, [](u64) -> expected<u64> { return 0; });
            a.loose = a.code == 0;  // whatever the host answers the inner call
            return a;
        }
        case calls::fail.id:
            return answer_of(calls::fail, args, [](u64 n) -> expected<u64> {
                if ((n & 1) != 0) return unexpected(errc::rpc_handler_failed);
                return n;
            });
        case calls::shade_of.id:
            return answer_of(calls::shade_of, args, [](calls::shade s) -> expected<std::uint8_t> {
                return static_cast<std::uint8_t>(s);
            });
        case calls::note.id:
            return answer_of(calls::note, args,
                             [](std::pair<std::uint16_t, std::string>,
                                std::array<std::uint32_t, 3>) -> expected<void> { return {}; });
        default: {
            owed_answer a;
            a.code = static_cast<std::uint64_t>(errc::rpc_unknown_method);
            return a;
        }
    }
}

// The calls of the host's with one id (ids may repeat, and the answers come
// in completion order). An rpc_overloaded answer may be for any of them, so
// it is counted rather than matched: in the end, as many must be left.
// A cancel record the host sent for the id (tag 3, HOSTILE-INPUTS #25) makes
// every call then owed under it one that may go unanswered: a handler still
// running when the cancel arrives drops its reply.
struct owed_calls {
    std::vector<owed_answer> answers;
    std::size_t overloaded = 0;
    std::size_t may_drop = 0;
};

// ============================================================================
// The driver

// A ring index the host owns (the head of the enclave's ring, the tail of
// its own) and may forge. A forgery stands until the host's next publish
// overwrites it, which happens only when the host has more to show; the
// host remembers what it last published honestly, to forge from that and to
// tell the enclave the truth again at an honest tear-down (a head moved back
// that the enclave took as plausible would otherwise leave it a ring too
// full to answer in, like a host that stops draining).
class host_index {
  public:
    explicit host_index(ring::shared_u64& word) : word_(word) {}
    [[nodiscard]] std::uint64_t honest() const { return honest_; }
    void forge(std::uint64_t value) {
        ring::shared::store_release(word_, value);
        forged_ = value;
    }
    // After the host's own publish (or a try that published nothing): the
    // shared word is honest unless it still holds the forgery.
    void note() {
        const std::uint64_t now = ring::shared::load_relaxed(word_);
        if (forged_ && now == *forged_) return;
        forged_.reset();
        honest_ = now;
    }
    void unforge() {
        if (!forged_) return;
        ring::shared::store_release(word_, honest_);
        forged_.reset();
    }

  private:
    ring::shared_u64& word_;
    std::uint64_t honest_ = 0;
    std::optional<std::uint64_t> forged_;
};

// Held handlers (calls::hold) wait here until the host's open_gate action.
class gate {
  public:
    [[nodiscard("co_await it")]] auto wait() { return event_.wait(); }
    // Resumes the current waiters (in a later round); later waits wait again
    // unless `for_good`.
    void open(bool for_good) {
        event_.set();
        if (!for_good) event_.reset();
    }

  private:
    async::async_event event_;
};

// One call the enclave made.
struct enclave_call {
    std::uint64_t method = 0;
    std::vector<std::byte> args;  // what the host must read
    async::cancellation_source source;
    bool cancellable = false;
    bool cancel_requested = false;
    bool oversized = false;         // above max_message: refused before sending
    std::uint64_t seen_at = never;  // when the host read it
    int completions = 0;
    std::vector<outcome> answers;  // owed by replies the host addressed to it
};

// A call the host read: one of `calls_`, or one that calls::relay made.
struct seen_call {
    std::size_t index;  // into calls_, or no_index
    std::uint64_t method;
    bool answered = false;
};

// A reply whose id named no call the host had read: it may reach any call
// the host had not read by then.
struct loose_reply {
    std::uint64_t sent_at;
    std::uint64_t code;
    std::vector<std::byte> result;
};

// The host's message on its way into the ring.
struct host_message {
    std::vector<std::byte> bytes;
    std::uint16_t tag;
    std::optional<ring::outgoing_message> out;
};

class driver {
  public:
    explicit driver(const config& c)
        : config_(c),
          geometry_{{c.out_capacity, c.in_capacity}, 0, {host_pool_bytes}},
          size_(ring::region::required_size(geometry_).value()),
          memory_(allocate_region(size_)),
          region_(ring::region::format({memory_.get(), size_}, geometry_).value()),
          ex_(bell_, hooks_, quiet_options()),
          to_enclave_(region_.ring(1)),
          from_enclave_(region_.ring(0), {{}, std::size_t{1} << 24}) {
        ep_ = std::make_unique<enclave_endpoint>(
            ex_, region_.ring(0), region_.ring(1),
            rpc::endpoint_wiring{c.hooks ? &hooks_ : nullptr, &bell_, {}, region_.pool(0)},
            c.options);
        serve();
        dump_state = [](const void* d) { static_cast<const driver*>(d)->dump(); };
        dump_context = this;
    }
    ~driver() { dump_state = nullptr; }
    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;

    void run(input& in) {
        for (std::size_t n = 0; n < max_actions && !in.done(); ++n)
            step(in);
        finish();
        // AIRLOCK_FUZZ_VERBOSE=1 says what an input did (for corpus work).
        static const bool verbose = std::getenv("AIRLOCK_FUZZ_VERBOSE") != nullptr;
        if (verbose) dump();
    }

    void dump() const {
        std::size_t completed = 0;
        for (const auto& c : calls_)
            completed += c->completions == 1 ? 1 : 0;
        std::fprintf(stderr,
                     "rpc fuzz: %zu enclave calls (%zu completed, %zu read by the host), "
                     "%llu host calls (%llu unknown, %zu unanswered), %llu host replies, "
                     "%llu malformed; %s; largest allocation %zu\n",
                     calls_.size(), completed, seen_order_.size(),
                     static_cast<unsigned long long>(sent_calls_),
                     static_cast<unsigned long long>(sent_unknown_), owed_count_,
                     static_cast<unsigned long long>(sent_replies_),
                     static_cast<unsigned long long>(sent_malformed_),
                     hostile_fault_ ? "the host faulted the channel" : "no fault before tear-down",
                     largest_);
        if (!ep_) return;
        const rpc::endpoint_stats& s = ep_->stats();
        std::fprintf(stderr,
                     "enclave endpoint: fault %s (ring %s), outstanding %zu, serving %zu, "
                     "calls_sent %llu, replies_received %llu, calls_served %llu, "
                     "replies_dropped %llu, unknown_methods %llu, malformed %llu, "
                     "overloaded %llu, pooled_received %llu (%zu not returned); executor: "
                     "%zu spawned, %zu ready\n",
                     std::string(to_string(ep_->fault())).c_str(),
                     std::string(to_string(ep_->ring_fault())).c_str(), ep_->outstanding_calls(),
                     ep_->serving(), static_cast<unsigned long long>(s.calls_sent),
                     static_cast<unsigned long long>(s.replies_received),
                     static_cast<unsigned long long>(s.calls_served),
                     static_cast<unsigned long long>(s.replies_dropped),
                     static_cast<unsigned long long>(s.unknown_methods),
                     static_cast<unsigned long long>(s.malformed),
                     static_cast<unsigned long long>(s.overloaded),
                     static_cast<unsigned long long>(s.pooled_received), announced_.size(),
                     ex_.spawned(), ex_.ready());
    }

  private:
    static async::executor_options quiet_options() {
        async::executor_options o;
        o.spin_iterations = 0;
        o.yield_iterations = 0;
        // The endpoint's own spawned tasks never fail; one that does threw.
        o.on_error = [](void*, const async::task_failure& f) noexcept {
            check(false, "a spawned task failed", static_cast<long long>(f.code),
                  f.exception != nullptr);
        };
        return o;
    }

    // The largest single allocation the enclave may make while it runs. Host
    // bytes reach the allocator only inside messages the ring layer bounds by
    // max_message; decoding may widen them by the largest ratio of the
    // argument types served here (a 32-byte std::string per 8-byte length in
    // a std::vector<std::string>), and a pooled reply buffer grows by
    // doubling. The floor covers the executor's own bookkeeping (16 KiB
    // frame-pool chunks, the ready queue), whose sizes the host does not pick.
    [[nodiscard]] std::size_t max_allocation() const {
        return std::max<std::size_t>(4 * config_.options.max_message + 256, 64 * 1024);
    }

    enclave_endpoint& ep() { return *ep_; }

    // --- the enclave's handlers --------------------------------------------
    static async::task<std::uint64_t> hold_body(driver* d, std::uint64_t n) {
        (void)co_await d->gate_.wait();
        co_return n * 2;
    }
    static async::task<expected<std::uint64_t>> relay_body(driver* d, std::uint64_t n) {
        co_return co_await d->ep().call(calls::lookup, calls::relay_serial | n);
    }
    static async::task<void> note_body(std::pair<std::uint16_t, std::string> p,
                                       std::array<std::uint32_t, 3> a) {
        (void)p;
        (void)a;
        co_return;
    }

    void serve() {
        using u64 = std::uint64_t;
        enclave_endpoint& e = ep();
        e.serve(calls::add, [](u64 a, u64 b) { return a + b; });
        e.serve(calls::echo, [](std::string s) { return s; });
        e.serve(calls::sum, [](std::vector<u64> v) { return sum_of(v); });
        e.serve(calls::count_chars, [](std::vector<std::string> v) { return chars_of(v); });
        e.serve(calls::opt_len,
                [](std::optional<std::vector<std::uint8_t>> v) { return length_of(v); });
        e.serve(calls::reverse, [](std::vector<std::byte> v) { return reversed(std::move(v)); });
        e.serve(calls::check, checked);
        // Coroutine handlers forward to static coroutines, which keep their
        // arguments in their own frames (docs/coroutine-traps.md).
        e.serve(calls::hold, [this](u64 n) { return hold_body(this, n); });
        e.serve(calls::relay, [this](u64 n) { return relay_body(this, n); });
        e.serve(calls::fail, failing);
        e.serve(calls::shade_of, [](calls::shade s) { return static_cast<std::uint8_t>(s); });
        e.serve(calls::note,
                [](std::pair<std::uint16_t, std::string> p, std::array<std::uint32_t, 3> a) {
                    return note_body(std::move(p), a);
                });
    }

    // --- running the enclave -----------------------------------------------
    // Runs `f` (enclave code) with the allocation probe armed, then checks
    // the largest allocation and notes a fault.
    template <class F>
    void enclave_runs(F&& f) {
        arm_allocation_probe();
        f();
        const std::size_t largest = disarm_allocation_probe();
        largest_ = std::max(largest_, largest);
        check(largest <= max_allocation(), "the enclave made an allocation above the trusted cap",
              static_cast<long long>(largest), static_cast<long long>(max_allocation()));
        note_fault();
    }
    // `n` rounds of the executor.
    std::size_t run_rounds(std::size_t n) {
        std::size_t work = 0;
        enclave_runs([&] {
            for (std::size_t i = 0; i < n; ++i)
                work += ex_.run_once();
        });
        return work;
    }
    void note_fault() {
        if (!ep_ || ep_->fault() == errc::ok) return;
        check(ep_->fault() == errc::rpc_channel_faulted, "fault() is not rpc_channel_faulted",
              static_cast<long long>(ep_->fault()));
        check(is_fault(ep_->ring_fault()) || ep_->ring_fault() == errc::enclave_died,
              "ring_fault() is neither a ring fault nor the reason given to fail()",
              static_cast<long long>(ep_->ring_fault()));
        faulted_ = true;
    }

    // Rounds until a round of the enclave (and of the host, if it takes
    // part) does nothing. A channel that keeps its executor busy by itself
    // never settles: that is a spin (HOSTILE-INPUTS #14).
    void settle(bool host_takes_part) {
        for (std::size_t i = 0; i < settle_rounds; ++i) {
            // Fragments consumed or produced count as progress, even before
            // a whole message is through (a poll that takes only fragments
            // reports no work).
            const std::array<std::uint64_t, 4> before = indices();
            std::size_t work = 0;
            if (host_takes_part) work += continue_host_message();
            work += run_rounds(1);
            if (host_takes_part) work += host_read(std::numeric_limits<std::size_t>::max());
            // A round that found nothing may still have made coroutines
            // ready (a poll that faults the channel fails its waiters).
            if (work == 0 && ex_.ready() == 0 && indices() == before) return;
        }
        check(false, "the channel never settled");
    }
    // Both rings' published indices, as the host sees them.
    [[nodiscard]] std::array<std::uint64_t, 4> indices() const {
        std::array<std::uint64_t, 4> v{};
        for (std::size_t r = 0; r < 2; ++r) {
            v[2 * r] = ring::shared::load_relaxed(region_.ring(r).control->head);
            v[2 * r + 1] = ring::shared::load_relaxed(region_.ring(r).control->tail);
        }
        return v;
    }

    // --- the host writes ---------------------------------------------------
    // Moves the host's message in progress on; returns 1 if bytes moved.
    std::size_t continue_host_message() {
        if (!pending_) return 0;
        const std::uint64_t before =
            ring::shared::load_relaxed(region_.ring(1).control->tail);  // host-side read
        auto sent = to_enclave_.try_send(*pending_->out);
        in_tail_.note();
        check(sent || sent.error() == errc::ring_full, "the host's own producer faulted",
              static_cast<long long>(sent ? errc::ok : sent.error()));
        const bool moved = ring::shared::load_relaxed(region_.ring(1).control->tail) != before;
        if (pending_->out->done()) {
            host_message m = std::move(*pending_);
            pending_.reset();
            delivered(m.tag, m.bytes);
        }
        return moved ? 1 : 0;
    }
    // Starts a message, unless the previous one is still on its way (a host
    // that cannot write simply does not).
    void host_send(std::uint16_t tag, std::vector<std::byte> bytes) {
        if (torn_down_) return;
        (void)continue_host_message();
        if (pending_) return;
        pending_.emplace();
        pending_->bytes = std::move(bytes);
        pending_->tag = tag;
        pending_->out.emplace(tag, pending_->bytes);
        (void)continue_host_message();
    }

    // Sends `bytes` as a `tag` message through the host's pool (its start)
    // when no buffer of it is out and it fits, else through the ring.
    void host_send_pooled(std::uint16_t tag, std::vector<std::byte> bytes) {
        if (torn_down_) return;
        (void)continue_host_message();
        if (pending_) return;
        if (!announced_.empty() || bytes.size() > host_pool_bytes)
            return host_send(tag, std::move(bytes));
        // The enclave reads it only once the record is published (release),
        // as the endpoint's writer does.
        ring::shared::copy_in(region_.pool(0).data, bytes.data(), bytes.size());
        std::vector<std::byte> record;
        put_u64(record, tag);
        put_u64(record, 0);
        put_u64(record, bytes.size());
        host_send(rpc::pooled_tag, std::move(record));
    }

    // A host message is all in the ring: note what the enclave owes for it.
    void delivered(std::uint16_t tag, std::span<const std::byte> bytes) {
        if (tag == rpc::pooled_tag && bytes.size() == rpc::pooled_message_bytes) {
            // The message is in the pool, where the record says, if the
            // enclave accepts the range (else it faults the channel). Every
            // record in range is a buffer the enclave must return.
            const std::uint64_t inner = read_u64(bytes, 0);
            const std::uint64_t offset = read_u64(bytes, 8);
            const std::uint64_t length = read_u64(bytes, 16);
            if (!ring::pool_range_ok(host_pool_bytes, offset, length) ||
                length > config_.options.max_message)
                return;
            announced_.emplace_back(offset, length);
            std::vector<std::byte> message(static_cast<std::size_t>(length));
            ring::shared::copy_out(message.data(), region_.pool(0).data + offset / 8,
                                   message.size());
            const auto inner_tag =
                static_cast<std::uint16_t>(inner == rpc::call_tag || inner == rpc::reply_tag
                                               ? inner
                                               : 0);  // malformed, as any foreign tag
            return delivered(inner_tag, message);
        }
        ++clock_;
        if (tag == rpc::cancel_tag && bytes.size() == rpc::cancel_message_bytes) {
            const auto it = owed_.find(read_u64(bytes, 0));
            if (it != owed_.end()) it->second.may_drop = it->second.answers.size();
            return;
        }
        if ((tag != rpc::call_tag && tag != rpc::reply_tag) ||
            bytes.size() < rpc::message_header_bytes) {
            ++sent_malformed_;
            return;
        }
        const std::uint64_t id = read_u64(bytes, 0);
        const std::uint64_t word = read_u64(bytes, 8);
        const auto rest = bytes.subspan(rpc::message_header_bytes);
        if (tag == rpc::call_tag) {
            ++sent_calls_;
            owed_answer a = owed_to_host(word, rest);
            a.method = word;
            if (!a.served) ++sent_unknown_;
            owed_[id].answers.push_back(std::move(a));
            ++owed_count_;
            return;
        }
        ++sent_replies_;
        const auto it = seen_.find(id);
        if (it != seen_.end()) {
            it->second.answered = true;
            if (it->second.index != no_index) {
                enclave_call& c = *calls_[it->second.index];
                c.answers.push_back(owed_for(c.method, word, rest));
            }
            return;
        }
        loose_.push_back({clock_, word, {rest.begin(), rest.end()}});
    }

    // The arguments of h_call by mode (args_mode), ending with the flags.
    std::vector<std::byte> call_arguments(std::uint64_t method, std::uint8_t mode, input& in) {
        std::vector<std::byte> args;
        switch (static_cast<args_mode>(mode & 3)) {
            case args_mode::typed:
                args = make_arguments_for(method, in, false);
                break;
            case args_mode::raw:
                args = in.bytes(in.u8());
                break;
            case args_mode::claim:
                put_u64(args, in.u64());
                append(args, in.bytes(in.u8() % 32));
                break;
            case args_mode::big:
                args = make_arguments_for(method, in, true);
                break;
        }
        if ((mode & cut_tail) != 0) args.resize(args.size() - in.u8() % (args.size() + 1));
        if ((mode & append_junk) != 0) args.push_back(std::byte{in.u8()});
        return args;
    }

    void host_call(input& in) {
        const std::uint8_t pick = in.u8();
        const std::uint8_t mode = in.u8();
        // Ids 0..15 cover every served id and the gaps; the rest are far out.
        std::uint64_t method = pick & 15;
        if ((pick & 16) != 0) method = in.u64();
        const std::uint64_t id = (mode & call_id_from_input) != 0 ? in.u8() : 1000 + host_serial_++;
        std::vector<std::byte> message(rpc::message_header_bytes);
        std::memcpy(message.data(), &id, 8);
        std::memcpy(message.data() + 8, &method, 8);
        append(message, call_arguments(method & 15, mode, in));
        if ((mode & through_pool) != 0)
            host_send_pooled(rpc::call_tag, std::move(message));
        else
            host_send(rpc::call_tag, std::move(message));
    }

    // The id h_reply answers, from a call the host read (reply_target).
    std::uint64_t reply_id(std::uint8_t target, input& in, std::uint64_t& method) {
        method = calls::lookup.id;
        const auto how = static_cast<reply_target>(target & 7);
        if (how == reply_target::arbitrary || seen_order_.empty()) return in.u64();
        const std::size_t back = how == reply_target::newest ? 0 : (target >> 3);
        const std::uint64_t id = seen_order_[seen_order_.size() - 1 - back % seen_order_.size()];
        method = seen_.at(id).method;
        const std::uint64_t slot = id & 0xffff'ffffu;
        const std::uint64_t generation = id >> 32;
        switch (how) {
            case reply_target::next_generation:
                return ((generation + 1) << 32) | slot;
            case reply_target::prior_generation:
                return ((generation - 1) << 32) | slot;
            case reply_target::slot_past_end:
                return (generation << 32) | (config_.options.max_in_flight + (target >> 3));
            case reply_target::generation_zero:
                return slot;
            default:
                return id;
        }
    }

    void host_reply(input& in) {
        const std::uint8_t target = in.u8();
        const std::uint8_t code_pick = in.u8();
        const std::uint8_t mode = in.u8();
        std::uint64_t method = 0;
        const std::uint64_t id = reply_id(target, in, method);
        std::uint64_t code = 0;
        switch (static_cast<reply_code>(code_pick & 3)) {
            case reply_code::allowed:
                code = allowed_codes[(code_pick >> 2) % std::size(allowed_codes)];
                break;
            case reply_code::arbitrary:
                code = in.u64();
                break;
            default:
                break;
        }
        std::vector<std::byte> result;
        switch (static_cast<args_mode>(mode & 3)) {
            case args_mode::typed:
                if (code == 0) result = make_result_for(method, in, false);
                break;
            case args_mode::raw:
                result = in.bytes(in.u8());
                break;
            case args_mode::claim:
                put_u64(result, in.u64());
                append(result, in.bytes(in.u8() % 32));
                break;
            case args_mode::big:
                result = make_result_for(method, in, true);
                break;
        }
        if ((mode & cut_tail) != 0) result.resize(result.size() - in.u8() % (result.size() + 1));
        if ((mode & append_junk) != 0) result.push_back(std::byte{in.u8()});
        std::vector<std::byte> message(rpc::message_header_bytes);
        std::memcpy(message.data(), &id, 8);
        std::memcpy(message.data() + 8, &code, 8);
        append(message, result);
        if ((mode & through_pool) != 0)
            host_send_pooled(rpc::reply_tag, std::move(message));
        else
            host_send(rpc::reply_tag, std::move(message));
    }

    void host_record(input& in) {
        const std::uint16_t tag = in.u16();
        host_send(tag, in.bytes(in.u8()));
    }

    // --- the host reads ----------------------------------------------------
    // Reads up to `n` messages the enclave sent and checks each.
    std::size_t host_read(std::size_t n) {
        std::size_t got = 0;
        for (; got < n; ++got) {
            auto m = from_enclave_.try_receive();
            if (!m) {
                check(m.error() == errc::ring_empty, "the enclave's ring is malformed",
                      static_cast<long long>(m.error()));
                break;
            }
            received(m->tag, m->bytes);
        }
        from_enclave_.publish();
        out_head_.note();
        return got;
    }

    void received(std::uint16_t tag, std::span<const std::byte> bytes) {
        check(tag == rpc::call_tag || tag == rpc::reply_tag || tag == rpc::cancel_tag ||
                  tag == rpc::pool_return_tag,
              "the enclave sent a record that is neither a call, a reply, a cancel nor a "
              "pool return",
              tag);
        if (tag == rpc::pool_return_tag) {
            // Exactly a buffer the host announced and has not had back.
            check(bytes.size() == rpc::pool_return_bytes, "the enclave sent a malformed return",
                  static_cast<long long>(bytes.size()));
            const std::pair<std::uint64_t, std::uint64_t> buffer{read_u64(bytes, 0),
                                                                 read_u64(bytes, 8)};
            const auto it = std::find(announced_.begin(), announced_.end(), buffer);
            check(it != announced_.end(), "the enclave returned a buffer the host never announced",
                  static_cast<long long>(buffer.first), static_cast<long long>(buffer.second));
            announced_.erase(it);
            return;
        }
        if (tag == rpc::cancel_tag) {
            check(bytes.size() == rpc::cancel_message_bytes, "the enclave sent a malformed cancel",
                  static_cast<long long>(bytes.size()));
            enclave_cancelled(read_u64(bytes, 0));
            return;
        }
        check(bytes.size() >= rpc::message_header_bytes, "the enclave sent a short message",
              static_cast<long long>(bytes.size()));
        const std::uint64_t id = read_u64(bytes, 0);
        const std::uint64_t word = read_u64(bytes, 8);
        const auto rest = bytes.subspan(rpc::message_header_bytes);
        if (tag == rpc::call_tag)
            enclave_called(id, word, rest);
        else
            enclave_answered(id, word, rest);
    }

    void enclave_called(std::uint64_t id, std::uint64_t method, std::span<const std::byte> args) {
        ++clock_;
        check(method >= 1 && method <= calls::host_method_count,
              "the enclave called a method the host does not serve",
              static_cast<long long>(method));
        check(seen_.count(id) == 0, "the enclave reused a call id", static_cast<long long>(id));
        check(args.size() >= 8, "an enclave call without its serial");
        const std::uint64_t serial = read_u64(args, 0);
        std::size_t index = no_index;
        if ((serial & calls::relay_serial) != 0) {
            std::tuple<std::uint64_t> decoded;
            check(method == calls::lookup.id && rpc::decode_exactly(args, decoded),
                  "calls::relay made a call it does not make", static_cast<long long>(method));
        } else {
            check(serial < calls_.size(), "an enclave call nobody made",
                  static_cast<long long>(serial));
            enclave_call& c = *calls_[serial];
            check(c.seen_at == never, "an enclave call was sent twice",
                  static_cast<long long>(serial));
            check(method == c.method && args.size() == c.args.size() &&
                      std::equal(args.begin(), args.end(), c.args.begin()),
                  "the enclave sent other arguments than its caller passed",
                  static_cast<long long>(serial));
            c.seen_at = clock_;
            index = static_cast<std::size_t>(serial);
        }
        seen_.emplace(id, seen_call{index, method});
        seen_order_.push_back(id);
    }

    // The enclave gave up on a call it sent (cancelled, past its deadline,
    // or its caller destroyed): the cancel names a call the host read, once.
    void enclave_cancelled(std::uint64_t id) {
        check(seen_.count(id) != 0, "the enclave cancelled a call it never sent",
              static_cast<long long>(id));
        check(cancelled_ids_.insert(id).second, "the enclave cancelled a call twice",
              static_cast<long long>(id));
    }

    void enclave_answered(std::uint64_t id, std::uint64_t code, std::span<const std::byte> result) {
        const auto it = owed_.find(id);
        check(it != owed_.end() && it->second.answers.size() > it->second.overloaded,
              "the enclave answered a call the host did not make, or answered it twice",
              static_cast<long long>(id));
        owed_calls& owed = it->second;
        --owed_count_;
        if (code == static_cast<std::uint64_t>(errc::rpc_overloaded) && result.empty()) {
            check(std::any_of(owed.answers.begin(), owed.answers.end(),
                              [](const owed_answer& a) { return a.served; }),
                  "the enclave refused a call of a method it does not serve",
                  static_cast<long long>(id));
            ++owed.overloaded;
            return;
        }
        // When the host reused an id, the answers owed under it may
        // coincide: a relay's placeholder answer can equal another method's
        // exact one. Match an exact answer of a method that owes exactly
        // first, then one whose placeholder coincides, then a relay's loose
        // one: a relay accepts whatever the other would have, so taking the
        // exact owner first never leaves a later answer unmatched.
        auto match =
            std::find_if(owed.answers.begin(), owed.answers.end(),
                         [&](const owed_answer& a) { return !a.loose && a.exactly(code, result); });
        if (match == owed.answers.end())
            match = std::find_if(owed.answers.begin(), owed.answers.end(),
                                 [&](const owed_answer& a) { return a.exactly(code, result); });
        if (match == owed.answers.end())
            match = std::find_if(owed.answers.begin(), owed.answers.end(),
                                 [&](const owed_answer& a) { return a.loosely(code, result); });
        if (match == owed.answers.end()) {
            std::fprintf(stderr, "the host's call %llu got code %llu with %zu bytes; it is owed:\n",
                         static_cast<unsigned long long>(id), static_cast<unsigned long long>(code),
                         result.size());
            for (const owed_answer& a : owed.answers)
                std::fprintf(stderr, "  method %llu: code %llu with %zu bytes%s\n",
                             static_cast<unsigned long long>(a.method),
                             static_cast<unsigned long long>(a.code), a.result.size(),
                             a.loose ? ", or any u64 or allowed code" : "");
        }
        check(match != owed.answers.end(), "the enclave's answer is not what the method owes",
              static_cast<long long>(code), static_cast<long long>(owed.answers.front().code));
        owed.answers.erase(match);
        if (owed.answers.empty()) owed_.erase(it);
    }

    // --- the enclave calls -------------------------------------------------
    template <class M, class... A>
    static async::task<void> caller(driver* d, std::size_t index, M m, A... args) {
        enclave_call& c = *d->calls_[index];
        if (!d->ep_) {  // started after the endpoint was destroyed
            d->call_completed(index, {errc::broken_promise, {}});
            co_return;
        }
        const async::cancellation_token token =
            c.cancellable ? c.source.token() : async::cancellation_token{};
        auto r = co_await d->ep().call(token, m, args...);
        d->call_completed(index, outcome_of(r));
    }

    template <class M, class... A>
    void start_call(std::uint8_t flags, const M& m, A... args) {
        const std::size_t index = calls_.size();
        auto c = std::make_unique<enclave_call>();
        c->method = M::id;
        c->cancellable = (flags & call_cancellable) != 0;
        c->args = encoding_of(typename M::arguments(static_cast<std::uint64_t>(index), args...));
        c->oversized = rpc::message_header_bytes + c->args.size() > config_.options.max_message;
        calls_.push_back(std::move(c));
        auto t = caller(this, index, m, static_cast<std::uint64_t>(index), std::move(args)...);
        if ((flags & call_starts_now) != 0) {
            // Starts here, outside a round: the enclave runs all the same.
            enclave_runs([&] { ex_.spawn_now(std::move(t)); });
        } else {
            ex_.spawn(std::move(t));
        }
    }

    void enclave_call_action(input& in) {
        const std::uint64_t method = in.u8() % calls::host_method_count + 1;
        const std::uint8_t flags = in.u8();
        const std::uint16_t blob_length = in.u16();
        if (torn_down_ || calls_.size() >= 4096) return;
        switch (method) {
            case calls::lookup.id:
                return start_call(flags, calls::lookup);
            case calls::name_of.id:
                return start_call(flags, calls::name_of);
            case calls::list.id:
                return start_call(flags, calls::list);
            case calls::ping.id:
                return start_call(flags, calls::ping);
            case calls::exists.id:
                return start_call(flags, calls::exists);
            case calls::find.id:
                return start_call(flags, calls::find);
            case calls::blob.id: {
                // The enclave's own data, kept below max_allocation()'s floor.
                std::vector<std::byte> data(blob_length / 4);
                for (std::size_t i = 0; i < data.size(); ++i)
                    data[i] = static_cast<std::byte>(i * 13 + calls_.size());
                return start_call(flags, calls::blob, std::move(data));
            }
            default:
                return start_call(flags, calls::pick);
        }
    }

    void cancel_action(input& in) {
        const std::uint8_t which = in.u8();
        if (calls_.empty()) return;
        enclave_call& c = *calls_[calls_.size() - 1 - which % calls_.size()];
        if (!c.cancellable || c.cancel_requested) return;
        c.cancel_requested = true;
        // Callbacks run here, outside a round, as for a cancel from other code.
        enclave_runs([&] { (void)c.source.request_cancellation(); });
    }

    // A call of the enclave's completed: once, and with an outcome the
    // host's messages (or the enclave's own state) allow.
    void call_completed(std::size_t index, const outcome& o) {
        enclave_call& c = *calls_[index];
        ++c.completions;
        check(c.completions == 1, "an enclave call completed twice", static_cast<long long>(index),
              c.completions);
        if (o.code == errc::cancelled && c.cancel_requested) return;
        if (o.code == errc::rpc_message_too_large && c.oversized) return;
        if (o.code == errc::rpc_channel_faulted && (faulted_ || (ep_ && ep_->fault() != errc::ok)))
            return;
        if (o.code == errc::broken_promise && !ep_) return;
        if (std::find(c.answers.begin(), c.answers.end(), o) != c.answers.end()) return;
        for (const loose_reply& r : loose_)
            if (r.sent_at < c.seen_at && owed_for(c.method, r.code, r.result) == o) return;
        check(false, "an enclave call ended with an outcome no message allowed",
              static_cast<long long>(index), static_cast<long long>(o.code));
    }

    // --- one action --------------------------------------------------------
    void step(input& in) {
        const std::uint8_t op_byte = in.u8();
        ++current_action;
        if (op_byte >= forge_first) {
            current_op = op_byte;
            forge_index(op_byte - forge_first);
            return;
        }
        const auto o = static_cast<rpc_op>(op_byte % static_cast<std::uint8_t>(rpc_op::count));
        current_op = static_cast<int>(o);
        switch (o) {
            case rpc_op::h_call:
                host_call(in);
                break;
            case rpc_op::h_reply:
                host_reply(in);
                break;
            case rpc_op::h_record:
                host_record(in);
                break;
            case rpc_op::h_read:
                (void)host_read(in.u8() % 16 + 1);
                break;
            case rpc_op::e_call:
                enclave_call_action(in);
                break;
            case rpc_op::e_cancel:
                cancel_action(in);
                break;
            case rpc_op::run:
                // The host goes on writing its message while the enclave runs.
                for (std::size_t n = in.u8() % 8 + 1; n != 0; --n) {
                    (void)continue_host_message();
                    (void)run_rounds(1);
                }
                break;
            case rpc_op::settle:
                settle(false);
                break;
            default:
                gate_.open(false);
                break;
        }
    }

    // The host forges an index of either ring (rpc_fuzz_driver.hh,
    // forge_first): every value is one the enclave must refuse, so the
    // channel either faults when the enclave reads it or, if the host's
    // next publish overwrites it first, goes on as if nothing happened.
    //
    // Each forgery starts from the index the host last published honestly,
    // never from an earlier forgery: two misaligned heads 4 bytes apart add
    // up to an aligned one the enclave cannot tell from the truth, and it
    // would then overwrite what the host has not read, which breaks only
    // the host's own view of the ring.
    void forge_index(std::uint8_t kind) {
        const std::uint64_t head = out_head_.honest();
        const std::uint64_t out_tail = ring::shared::load_relaxed(region_.ring(0).control->tail);
        const std::uint64_t in_tail = in_tail_.honest();
        switch (kind % 5) {
            case 0:
                out_head_.forge(head + 4);
                break;
            case 1:
                // Beyond any tail the enclave can reach before the host's
                // next publish (at most a ring past the host's true head,
                // which is at most out_tail): refused whenever it is read.
                // A head just past today's tail would become plausible
                // once the enclave wrote more, and the enclave would then
                // overwrite what the host has not read, which only breaks
                // the host's own view of the ring.
                out_head_.forge(out_tail + config_.out_capacity + 8);
                break;
            case 2:
                // Back a word: refused if the enclave saw the newer head, else
                // it only under-reports free space.
                if (head >= 8) out_head_.forge(head - 8);
                break;
            case 3:
                in_tail_.forge(in_tail + 2 * config_.in_capacity);
                break;
            default:
                in_tail_.forge(in_tail + 4);
                break;
        }
    }

    // --- tear-down ---------------------------------------------------------
    // The host answers every call it read and had not answered, honestly.
    bool answer_everything() {
        bool any = false;
        input none(nullptr, 0);
        // By index: settling reads more calls into seen_order_.
        for (std::size_t i = 0; i < seen_order_.size(); ++i) {
            const std::uint64_t id = seen_order_[i];
            if (seen_.at(id).answered || pending_) continue;
            std::vector<std::byte> message(rpc::message_header_bytes);
            std::memcpy(message.data(), &id, 8);
            append(message, make_result_for(seen_.at(id).method, none, false));
            host_send(rpc::reply_tag, std::move(message));
            settle(true);
            any = true;
        }
        return any;
    }

    void finish() {
        current_op = -2;  // the tear-down
        if (!config_.destroy || config_.honest_finish) gate_.open(true);
        settle(true);
        if (config_.honest_finish) {
            out_head_.unforge();
            for (int i = 0; i < 64 && answer_everything(); ++i) {
            }
            settle(true);
            note_fault();
            if (!faulted_) {
                check(!pending_, "the host's message never went in");
                for (const auto& [id, owed] : owed_)
                    check(owed.answers.size() - owed.overloaded <= owed.may_drop,
                          "a call of the host's was never answered", static_cast<long long>(id),
                          static_cast<long long>(owed.answers.size() - owed.overloaded));
                const rpc::endpoint_stats& s = ep().stats();
                check(s.malformed == sent_malformed_, "malformed messages miscounted",
                      static_cast<long long>(s.malformed), static_cast<long long>(sent_malformed_));
                check(s.unknown_methods == sent_unknown_, "unknown methods miscounted",
                      static_cast<long long>(s.unknown_methods),
                      static_cast<long long>(sent_unknown_));
                check(s.replies_received + s.replies_dropped == sent_replies_, "replies miscounted",
                      static_cast<long long>(s.replies_received),
                      static_cast<long long>(s.replies_dropped));
                check(ep().serving() == 0, "handlers still running after every answer",
                      static_cast<long long>(ep().serving()));
            }
        }
        hostile_fault_ = faulted_;
        torn_down_ = true;
        pending_.reset();  // the host stops writing
        if (config_.destroy) {
            note_fault();
            enclave_runs([&] { ep_.reset(); });
            settle(true);
        } else {
            if (config_.peer_dies) {
                // The platform saw the host die.
                enclave_runs([&] { ep().fail(errc::enclave_died); });
            } else {
                // A producer index far beyond the ring: the channel faults.
                ring::wire::ring_control* control = region_.ring(1).control;
                ring::shared::store_release(
                    control->tail,
                    ring::shared::load_relaxed(control->tail) + 4 * config_.in_capacity);
            }
            settle(true);
            check(faulted_, "the tear-down did not fault the channel");
            check(ep().outstanding_calls() == 0, "calls outstanding on a faulted channel",
                  static_cast<long long>(ep().outstanding_calls()));
            check(ep().serving() == 0, "handlers running on a faulted channel",
                  static_cast<long long>(ep().serving()));
        }
        for (std::size_t i = 0; i < calls_.size(); ++i)
            check(calls_[i]->completions == 1, "an enclave call never completed",
                  static_cast<long long>(i), calls_[i]->completions);
    }

    config config_;
    manual_hooks hooks_;
    ring::wire::doorbell bell_{};
    // Before the executor: the frames it destroys unlink from these sources.
    std::vector<std::unique_ptr<enclave_call>> calls_;
    gate gate_;
    ring::region_geometry geometry_;
    std::size_t size_;
    region_memory memory_;
    ring::region region_;
    async::executor ex_;
    ring::ring_producer to_enclave_;
    ring::ring_consumer from_enclave_;
    // Last: destroyed first, while the executor and the region live.
    // On the heap, so that ASan sees any use of it once it is destroyed.
    std::unique_ptr<enclave_endpoint> ep_;

    std::optional<host_message> pending_;
    std::unordered_map<std::uint64_t, owed_calls> owed_;  // by host call id
    std::size_t owed_count_ = 0;
    std::unordered_map<std::uint64_t, seen_call> seen_;  // by enclave call id
    std::unordered_set<std::uint64_t> cancelled_ids_;    // enclave calls the enclave gave up on
    std::vector<std::uint64_t> seen_order_;
    std::vector<loose_reply> loose_;
    // Buffers of the host's pool announced in records the enclave accepts
    // and not yet returned (offset, length), oldest first.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> announced_;
    std::uint64_t clock_ = 0;  // host events, to order reads and replies
    std::uint64_t host_serial_ = 0;
    std::uint64_t sent_calls_ = 0;
    std::uint64_t sent_unknown_ = 0;
    std::uint64_t sent_replies_ = 0;
    std::uint64_t sent_malformed_ = 0;
    std::size_t largest_ = 0;
    bool faulted_ = false;
    bool hostile_fault_ = false;  // faulted before the tear-down
    bool torn_down_ = false;
    host_index out_head_{region_.ring(0).control->head};
    host_index in_tail_{region_.ring(1).control->tail};
};

}  // namespace
}  // namespace airlock::fuzz

int run_rpc_fuzz_input(const std::uint8_t* data, std::size_t size) {
    using namespace airlock::fuzz;
    input in(data, size);
    current_action = 0;
    current_op = -1;
    const std::uint8_t a = in.u8();
    const std::uint8_t b = in.u8();
    driver d(config_of(a, b));
    d.run(in);
    return 0;
}
