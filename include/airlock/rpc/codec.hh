// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/rpc/codec.hh: the argument and result codec of typed calls.
//
// `encode(writer&, const T&)` appends a value to a private byte buffer;
// `decode(reader&, T&)` reads one back, bounds-checked, returning false on
// malformed input (the caller turns that into errc::rpc_decode). Decoding
// only ever runs on a private copy of a message (the ring copies it out of
// shared memory first), so there is no double fetch.
//
// Built in: bool (strictly 0 or 1), integers and floating point (fixed width,
// little-endian), enums (as their underlying type; specialize
// `enum_traits<E>` to reject values outside a range, which an enum without
// a fixed underlying type must), std::string, byte
// vectors, std::vector, std::optional, std::array, std::pair, std::tuple, and
// structs that opt in to being copied as bytes with
//   template <> inline constexpr bool airlock::rpc::copy_as_bytes<S> = true;
// which compiles only for a trivially copyable aggregate without padding (a
// padded struct would leak private bytes to the host, HOSTILE-INPUTS #26).
// Opt in only when every bit pattern of S is a valid value: a `bool` or an
// enum member decoded from hostile bytes is not checked (#10), so such a
// struct needs a codec of its own. Any type opts in by specializing
// `codec<T>` with
//   static void encode(writer&, const T&);
//   static bool decode(reader&, T&);
// and, if its encoding is never shorter than N bytes, `min_encoded_size<T> = N`.
// A length read from input is checked against the bytes that remain
// (each element needs at least min_encoded_size bytes) before anything is
// allocated, and a vector reserves exactly its decoded length, so an input
// can make a vector's decoder allocate at most sizeof(T) /
// min_encoded_size<T> times its own size, plus what the elements themselves
// own (HOSTILE-INPUTS #19; tests/rpc/codec_allocation_bound.cc).
//
// Thread contract: writer and reader are plain objects used by one thread.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "airlock/base/expected.hh"
#include "airlock/ring/shared_memory.hh"

namespace airlock::rpc {

static_assert(std::endian::native == std::endian::little,
              "the wire format is little-endian; a big-endian port must byte-swap here");

// `writer` appends encoded values to a caller-owned buffer.
//
// Two modes. `writer(out)` appends at out.size() and keeps out.size() equal
// to what has been written. `writer(out, writer::reuse)` writes from the
// start of `out` over its old bytes, so a pooled buffer whose size was left
// at its last message's length is filled by inline copies with no resize
// (and no zero-fill) per value; call `finish()` before using the buffer, to
// cut it to what was written. The endpoint encodes every message this way,
// so steady-state encoding neither allocates nor calls out of line.
//
// For a call encoded straight into a buffer pool of the shared region
// (ring/buffer_pool.hh): `writer(out, writer::reuse, limit)` stops before
// an encoding reaches `limit` bytes (a call that large is sent through the
// pool instead); `writer(writer::counting)` writes nothing and only counts
// the bytes; `writer(words, limit)` writes into shared memory at `words`,
// in whole 8-byte words through the shared accessor (the last completed
// with zeros by `finish()`). A value that would cross a limit is not
// written and `overflowed()` says so.
class writer {
  public:
    struct reuse_t {};
    static constexpr reuse_t reuse{};
    struct counting_t {};
    static constexpr counting_t counting{};

    explicit writer(std::vector<std::byte>& out) noexcept
        : out_(&out), base_(out.data()), room_(out.size()), used_(out.size()) {}
    writer(std::vector<std::byte>& out, reuse_t /*unused*/) noexcept
        : out_(&out), base_(out.data()), room_(out.size()), used_(0) {}
    // Reuse mode that stops short of `limit` bytes: a value that would make
    // the encoding longer is not written, and overflowed() says so.
    writer(std::vector<std::byte>& out, reuse_t /*unused*/, std::size_t limit) noexcept
        : out_(&out),
          base_(out.data()),
          room_(out.size() < limit ? out.size() : limit),
          used_(0),
          limit_(limit) {}
    explicit writer(counting_t /*unused*/) noexcept {}
    writer(ring::shared_u64* words, std::size_t limit) noexcept : shared_(words), limit_(limit) {}

    void put_raw(const void* data, std::size_t n) {
        // One compare on the fast path: room_ is 0 in the counting and
        // shared-memory modes, so every value goes to put_slow there.
        if (used_ + n > room_) [[unlikely]] {
            put_slow(static_cast<const std::byte*>(data), n);
            return;
        }
        if (n != 0) std::memcpy(base_ + used_, data, n);
        used_ += n;
    }
    void put_u64(std::uint64_t v) { put_raw(&v, sizeof v); }
    // Bytes written (or counted) so far.
    [[nodiscard]] std::size_t size() const noexcept { return used_; }
    // A value would have crossed the limit (and was not written).
    [[nodiscard]] bool overflowed() const noexcept { return overflowed_; }
    // Cuts the buffer to what was written (a no-op in append mode); a
    // shared-memory writer stores its last, partial word.
    void finish() noexcept {
        if (out_ != nullptr) {
            if (out_->size() > used_) out_->resize(used_);  // shrinking: no allocation
        } else if (shared_ != nullptr && used_ % 8 != 0) {
            ring::shared::store_relaxed(shared_[used_ / 8], pending_);
        }
    }

  private:
    [[gnu::noinline]] void put_slow(const std::byte* src, std::size_t n) {
        if (n > limit_ - used_) {
            overflowed_ = true;
            return;
        }
        if (out_ != nullptr) {
            out_->resize(used_ + n);
            base_ = out_->data();
            room_ = out_->size() < limit_ ? out_->size() : limit_;
            std::memcpy(base_ + used_, src, n);
            used_ += n;
            return;
        }
        if (shared_ == nullptr) {  // counting
            used_ += n;
            return;
        }
        // Shared memory: whole words go straight in; a partial word waits
        // in `pending_` (zeros beyond what was written) until it is
        // complete or finish() stores it.
        if (const std::size_t fill = used_ % 8; fill != 0) {
            const std::size_t take = n < 8 - fill ? n : 8 - fill;
            std::memcpy(reinterpret_cast<std::byte*>(&pending_) + fill, src, take);
            src += take;
            n -= take;
            used_ += take;
            if (used_ % 8 != 0) return;
            ring::shared::store_relaxed(shared_[used_ / 8 - 1], pending_);
            pending_ = 0;
        }
        const std::size_t whole = n / 8 * 8;
        if (whole != 0) ring::shared::copy_in(shared_ + used_ / 8, src, whole);
        used_ += whole;
        if (n != whole) {
            std::memcpy(&pending_, src + whole, n - whole);
            used_ += n - whole;
        }
    }
    std::vector<std::byte>* out_ = nullptr;
    std::byte* base_ = nullptr;
    std::size_t room_ = 0;  // bytes the fast path may fill: min(buffer size, limit)
    std::size_t used_ = 0;
    ring::shared_u64* shared_ = nullptr;
    std::size_t limit_ = ~std::size_t{0};
    std::uint64_t pending_ = 0;
    bool overflowed_ = false;
};

class reader {
  public:
    explicit reader(std::span<const std::byte> in) noexcept : in_(in) {}
    [[nodiscard]] bool get_raw(void* out, std::size_t n) noexcept {
        if (n > in_.size()) return fail();
        if (n != 0) std::memcpy(out, in_.data(), n);
        in_ = in_.subspan(n);
        return true;
    }
    [[nodiscard]] bool get_u64(std::uint64_t& v) noexcept { return get_raw(&v, sizeof v); }
    // A view of the next `n` bytes (private memory), consumed.
    [[nodiscard]] bool get_view(std::size_t n, std::span<const std::byte>& out) noexcept {
        if (n > in_.size()) return fail();
        out = in_.first(n);
        in_ = in_.subspan(n);
        return true;
    }
    // Reads a length and checks it against what remains, at `min_each`
    // bytes per element, before anyone allocates for it.
    [[nodiscard]] bool get_length(std::size_t min_each, std::size_t& n) noexcept {
        std::uint64_t v = 0;
        if (!get_u64(v)) return false;
        if (min_each != 0 && v > in_.size() / min_each) return fail();
        if (min_each == 0 && v > in_.size()) return fail();
        n = static_cast<std::size_t>(v);
        return true;
    }
    [[nodiscard]] std::size_t remaining() const noexcept { return in_.size(); }
    [[nodiscard]] bool failed() const noexcept { return failed_; }

  private:
    bool fail() noexcept {
        failed_ = true;
        in_ = {};
        return false;
    }
    std::span<const std::byte> in_;
    bool failed_ = false;
};

// Specialize to bound an enum: decode rejects values outside [min, max].
template <class E>
struct enum_traits {
    static constexpr bool bounded = false;
};

// The opt-in hook; the primary template is the built-in cases.
template <class T, class Enable = void>
struct codec;

// Encoded size lower bound of one T, used to bound lengths read from input.
template <class T>
inline constexpr std::size_t min_encoded_size = 1;

// Opt-in: a struct whose every bit pattern is a valid value, copied as bytes.
template <class T>
inline constexpr bool copy_as_bytes = false;

template <class T>
concept encodable = requires(writer& w, reader& r, const T& in, T& out) {
    codec<T>::encode(w, in);
    { codec<T>::decode(r, out) } -> std::same_as<bool>;
};

template <class T>
void encode(writer& w, const T& v) {
    codec<T>::encode(w, v);
}
template <class T>
[[nodiscard]] bool decode(reader& r, T& v) {
    return codec<T>::decode(r, v);
}

// --- scalars ----------------------------------------------------------------

template <>
struct codec<bool> {
    static void encode(writer& w, bool v) {
        const std::uint8_t b = v ? 1 : 0;
        w.put_raw(&b, 1);
    }
    static bool decode(reader& r, bool& v) {
        std::uint8_t b = 0;
        if (!r.get_raw(&b, 1) || b > 1) return false;  // only 0 and 1 are bools (HOSTILE #10)
        v = b == 1;
        return true;
    }
};

template <class T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) ||
    std::is_floating_point_v<T> struct codec<T> {
    static void encode(writer& w, T v) { w.put_raw(&v, sizeof v); }
    static bool decode(reader& r, T& v) { return r.get_raw(&v, sizeof v); }
};

template <class T>
requires std::is_arithmetic_v<T> || std::is_enum_v<T>
inline constexpr std::size_t min_encoded_size<T> = sizeof(T);

template <class E>
requires std::is_enum_v<E>
struct codec<E> {
    using U = std::underlying_type_t<E>;
    // Only an enum with a fixed underlying type holds every value of it; any
    // other holds only the values of its enumerators' range, and making one
    // from a hostile value outside it is undefined behaviour (HOSTILE #10).
    static_assert(
        enum_traits<E>::bounded || requires(U u) { E{u}; },
        "an enum without a fixed underlying type cannot hold every value the peer may "
        "send: give it one (enum e : std::uint8_t) or bound it with enum_traits");
    static void encode(writer& w, E v) { codec<U>::encode(w, static_cast<U>(v)); }
    static bool decode(reader& r, E& v) {
        U u{};
        if (!codec<U>::decode(r, u)) return false;
        if constexpr (enum_traits<E>::bounded) {
            if (u < static_cast<U>(enum_traits<E>::min) || u > static_cast<U>(enum_traits<E>::max))
                return false;
        }
        v = static_cast<E>(u);
        return true;
    }
};

template <>
struct codec<std::byte> {
    static void encode(writer& w, std::byte v) { w.put_raw(&v, 1); }
    static bool decode(reader& r, std::byte& v) { return r.get_raw(&v, 1); }
};

// Structs that opted in (copy_as_bytes): copied. The requirements are
// checked here, so an opt-in for a padded or non-trivial type does not compile.
template <class T>
requires copy_as_bytes<T>
struct codec<T> {
    static_assert(std::is_class_v<T> && std::is_trivially_copyable_v<T> && std::is_aggregate_v<T>,
                  "copy_as_bytes is for trivially copyable aggregates");
    static_assert(std::has_unique_object_representations_v<T>,
                  "copy_as_bytes: the struct has padding, which would leak private bytes");
    static void encode(writer& w, const T& v) { w.put_raw(&v, sizeof v); }
    static bool decode(reader& r, T& v) { return r.get_raw(&v, sizeof v); }
};
template <class T>
requires copy_as_bytes<T>
inline constexpr std::size_t min_encoded_size<T> = sizeof(T) == 0 ? 1 : sizeof(T);

// --- strings and containers ---------------------------------------------------

template <>
struct codec<std::string> {
    static void encode(writer& w, const std::string& s) {
        w.put_u64(s.size());
        w.put_raw(s.data(), s.size());
    }
    static bool decode(reader& r, std::string& s) {
        std::size_t n = 0;
        std::span<const std::byte> v;
        if (!r.get_length(1, n) || !r.get_view(n, v)) return false;
        s.assign(reinterpret_cast<const char*>(v.data()), n);
        return true;
    }
};

// A string_view encodes like std::string and decodes into one.
template <>
struct codec<std::string_view> {
    static void encode(writer& w, std::string_view s) {
        w.put_u64(s.size());
        w.put_raw(s.data(), s.size());
    }
};

// A byte span encodes like std::vector<std::byte> and decodes into one.
template <>
struct codec<std::span<const std::byte>> {
    static void encode(writer& w, std::span<const std::byte> s) {
        w.put_u64(s.size());
        w.put_raw(s.data(), s.size());
    }
};

// `borrowed_bytes` is a byte-string parameter that is not copied again on
// arrival: the handler reads it where it already is, in the endpoint's
// private receive buffer (copied once out of shared memory, so no double
// fetch and nothing the host can change), and no vector is allocated per
// call. The view is valid while a synchronous handler runs; a coroutine
// handler, which may outlive the buffer, cannot take one (serve refuses it
// when it compiles) and declares std::span<const std::byte>, which arrives
// as an owning vector. Callers pass a span or a vector; it travels like
// std::vector<std::byte>. Never a result.
class borrowed_bytes {
  public:
    borrowed_bytes() = default;
    // NOLINTBEGIN(google-explicit-constructor): as easy to pass as a span
    borrowed_bytes(std::span<const std::byte> bytes) noexcept : bytes_(bytes) {}
    borrowed_bytes(const std::vector<std::byte>& bytes) noexcept : bytes_(bytes) {}
    operator std::span<const std::byte>() const noexcept { return bytes_; }
    // NOLINTEND(google-explicit-constructor)
    [[nodiscard]] std::span<const std::byte> span() const noexcept { return bytes_; }
    [[nodiscard]] const std::byte* data() const noexcept { return bytes_.data(); }
    [[nodiscard]] std::size_t size() const noexcept { return bytes_.size(); }
    [[nodiscard]] bool empty() const noexcept { return bytes_.empty(); }
    [[nodiscard]] auto begin() const noexcept { return bytes_.begin(); }
    [[nodiscard]] auto end() const noexcept { return bytes_.end(); }

  private:
    std::span<const std::byte> bytes_;
};

template <>
struct codec<borrowed_bytes> {
    static void encode(writer& w, borrowed_bytes b) {
        w.put_u64(b.size());
        w.put_raw(b.data(), b.size());
    }
    // A view of the reader's input: no allocation, whatever length is claimed.
    static bool decode(reader& r, borrowed_bytes& b) {
        std::size_t n = 0;
        std::span<const std::byte> v;
        if (!r.get_length(1, n) || !r.get_view(n, v)) return false;
        b = borrowed_bytes(v);
        return true;
    }
};
template <>
inline constexpr std::size_t min_encoded_size<borrowed_bytes> = 8;

// Whether T is or holds a borrowed_bytes (in the containers the codec knows).
template <class T>
struct holds_borrowed : std::is_same<T, borrowed_bytes> {};
template <class T>
struct holds_borrowed<std::optional<T>> : holds_borrowed<T> {};
template <class T, class A>
struct holds_borrowed<std::vector<T, A>> : holds_borrowed<T> {};
template <class T, std::size_t N>
struct holds_borrowed<std::array<T, N>> : holds_borrowed<T> {};
template <class A, class B>
struct holds_borrowed<std::pair<A, B>>
    : std::bool_constant<holds_borrowed<A>::value || holds_borrowed<B>::value> {};
template <class... Ts>
struct holds_borrowed<std::tuple<Ts...>>
    : std::bool_constant<(holds_borrowed<std::remove_cvref_t<Ts>>::value || ...)> {};
template <class T>
inline constexpr bool holds_borrowed_v = holds_borrowed<std::remove_cvref_t<T>>::value;

template <class T, class A>
struct codec<std::vector<T, A>> {
    static void encode(writer& w, const std::vector<T, A>& v) {
        w.put_u64(v.size());
        if constexpr (std::is_same_v<T, std::byte> ||
                      (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)) {
            w.put_raw(v.data(), v.size() * sizeof(T));
        } else {
            for (const T& e : v)
                codec<T>::encode(w, e);
        }
    }
    static_assert(min_encoded_size<T> != 0,
                  "a vector of values that may encode to no bytes: its count could not be "
                  "checked against the input (HOSTILE-INPUTS #19)");
    static bool decode(reader& r, std::vector<T, A>& v) {
        std::size_t n = 0;
        if constexpr (std::is_same_v<T, std::byte> ||
                      (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>)) {
            std::span<const std::byte> bytes;
            if (!r.get_length(sizeof(T), n) || !r.get_view(n * sizeof(T), bytes)) return false;
            if constexpr (std::is_same_v<T, std::byte>) {
                v.assign(bytes.begin(), bytes.end());  // one pass: no zero-fill first
            } else {
                v.resize(n);
                if (n != 0) std::memcpy(v.data(), bytes.data(), n * sizeof(T));
            }
            return true;
        } else {
            if (!r.get_length(min_encoded_size<T>, n)) return false;
            v.clear();
            // Exactly: n is already bounded by the input that remains (at
            // min_encoded_size bytes each), and growing by doubling would
            // hold two buffers at once.
            v.reserve(n);
            for (std::size_t i = 0; i < n; ++i) {
                T e{};
                if (!codec<T>::decode(r, e)) return false;
                v.push_back(std::move(e));
            }
            return true;
        }
    }
};
template <class T, class A>
inline constexpr std::size_t min_encoded_size<std::vector<T, A>> = 8;
template <>
inline constexpr std::size_t min_encoded_size<std::string> = 8;
template <class T>
inline constexpr std::size_t min_encoded_size<std::optional<T>> = 1;
// An array of no elements encodes to no bytes, and so does an empty tuple.
template <class T, std::size_t N>
inline constexpr std::size_t min_encoded_size<std::array<T, N>> = N* min_encoded_size<T>;
template <class A, class B>
inline constexpr std::size_t min_encoded_size<std::pair<A, B>> =
    min_encoded_size<A> + min_encoded_size<B>;
template <class... Ts>
inline constexpr std::size_t min_encoded_size<std::tuple<Ts...>> = (min_encoded_size<Ts> + ... + 0);

template <class T>
struct codec<std::optional<T>> {
    static void encode(writer& w, const std::optional<T>& v) {
        codec<bool>::encode(w, v.has_value());
        if (v) codec<T>::encode(w, *v);
    }
    static bool decode(reader& r, std::optional<T>& v) {
        bool present = false;
        if (!codec<bool>::decode(r, present)) return false;
        if (!present) {
            v.reset();
            return true;
        }
        T e{};
        if (!codec<T>::decode(r, e)) return false;
        v = std::move(e);
        return true;
    }
};

template <class T, std::size_t N>
struct codec<std::array<T, N>> {
    // Elements whose every bit pattern is a value are copied in one go.
    static constexpr bool as_bytes =
        std::is_same_v<T, std::byte> || (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
    // N == 0 writes and reads nothing: such an array has no bytes to copy
    // (sizeof says 1, and data() may be null).
    static void encode(writer& w, const std::array<T, N>& a) {
        if constexpr (N == 0) {
            (void)w;
            (void)a;
        } else if constexpr (as_bytes) {
            w.put_raw(a.data(), N * sizeof(T));
        } else {
            for (const T& e : a)
                codec<T>::encode(w, e);
        }
    }
    static bool decode(reader& r, std::array<T, N>& a) {
        if constexpr (N == 0) {
            (void)r;
            (void)a;
            return true;
        } else if constexpr (as_bytes) {
            return r.get_raw(a.data(), N * sizeof(T));
        } else {
            for (T& e : a)
                if (!codec<T>::decode(r, e)) return false;
            return true;
        }
    }
};

template <class... Ts>
struct codec<std::tuple<Ts...>> {
    static void encode(writer& w, const std::tuple<Ts...>& t) {
        std::apply([&](const Ts&... e) { (codec<Ts>::encode(w, e), ...); }, t);
    }
    static bool decode(reader& r, std::tuple<Ts...>& t) {
        return std::apply([&](Ts&... e) { return (codec<Ts>::decode(r, e) && ...); }, t);
    }
};

template <class A, class B>
struct codec<std::pair<A, B>> {
    static void encode(writer& w, const std::pair<A, B>& p) {
        codec<A>::encode(w, p.first);
        codec<B>::encode(w, p.second);
    }
    static bool decode(reader& r, std::pair<A, B>& p) {
        return codec<A>::decode(r, p.first) && codec<B>::decode(r, p.second);
    }
};

// An application's own error, across the boundary: a method declared to
// return `expected<T, E>` encodes either as a value (flag byte 1, then T) or
// an error (flag byte 0, then E), E being any encodable type of the
// application's (an enum, a struct). Transport errors stay in the outer
// `expected` the call yields.
template <class T, class E>
struct codec<expected<T, E>> {
    static void encode(writer& w, const expected<T, E>& v) {
        codec<bool>::encode(w, v.has_value());
        if (!v.has_value()) {
            codec<E>::encode(w, v.error());
        } else if constexpr (!std::is_void_v<T>) {
            codec<T>::encode(w, *v);
        }
    }
    static bool decode(reader& r, expected<T, E>& v) {
        bool ok = false;
        if (!codec<bool>::decode(r, ok)) return false;
        if (!ok) {
            E e{};
            if (!codec<E>::decode(r, e)) return false;
            v = expected<T, E>(unexpected<E>(std::move(e)));
            return true;
        }
        if constexpr (std::is_void_v<T>) {
            v = expected<void, E>();
        } else {
            T value{};
            if (!codec<T>::decode(r, value)) return false;
            v = expected<T, E>(std::move(value));
        }
        return true;
    }
};
template <class T, class E>
inline constexpr std::size_t min_encoded_size<expected<T, E>> = 1;

// --- whole messages -------------------------------------------------------------

// Encodes `values...` in order.
template <class... Ts>
void encode_all(writer& w, const Ts&... values) {
    (codec<std::remove_cvref_t<Ts>>::encode(w, values), ...);
}

// Decodes a tuple that must consume `bytes` exactly: trailing bytes are
// malformed input too.
template <class Tuple>
[[nodiscard]] bool decode_exactly(std::span<const std::byte> bytes, Tuple& out) {
    reader r(bytes);
    return codec<Tuple>::decode(r, out) && r.remaining() == 0 && !r.failed();
}

}  // namespace airlock::rpc
