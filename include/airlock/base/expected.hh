// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/base/expected.hh: `expected<T, E>`, a value or an error, for C++20.
//
// The subset of C++23 `std::expected` that Airlock uses, with the same names
// and meaning, so code reads the same when the project moves to C++23.
// Differences: `value()` on an error aborts through AIRLOCK_CHECK instead of
// throwing (the fast path never throws), and E defaults to `airlock::errc`.
// E is usually a small code; an application's own error type (an enum, or
// a struct with a message) works too.
//
// Thread contract: a plain value type; no internal synchronisation.

#include <optional>
#include <type_traits>
#include <utility>

#include "airlock/base/check.hh"
#include "airlock/base/error.hh"

namespace airlock {

// `unexpected<E>` wraps an error so that it converts to any `expected<T, E>`.
template <class E>
class unexpected {
  public:
    constexpr explicit unexpected(E e) noexcept(std::is_nothrow_move_constructible_v<E>)
        : error_(std::move(e)) {}
    [[nodiscard]] constexpr const E& error() const& noexcept { return error_; }
    [[nodiscard]] constexpr E&& error() && noexcept { return std::move(error_); }

  private:
    E error_;
};

template <class E>
unexpected(E) -> unexpected<E>;

// `expected<T, E>` holds a T or an E (by default an `errc`). E must be
// default-constructible.
template <class T, class E = errc>
class [[nodiscard]] expected {
    static_assert(std::is_default_constructible_v<E>, "an error type is default-constructible");

  public:
    using value_type = T;
    using error_type = E;

    constexpr expected() requires std::is_default_constructible_v<T> : value_(std::in_place) {}
    template <class U = T>
    requires std::is_constructible_v<T, U&&> &&
        (!std::is_same_v<std::remove_cvref_t<U>, expected>)&&(
            !std::is_same_v<std::remove_cvref_t<U>, unexpected<E>>)constexpr expected(U&& v)
        : value_(std::in_place, std::forward<U>(v)) {}
    constexpr expected(unexpected<E> u) : error_(std::move(u).error()) {}
    template <class... Args>
    constexpr explicit expected(std::in_place_t, Args&&... args)
        : value_(std::in_place, std::forward<Args>(args)...) {}

    [[nodiscard]] constexpr bool has_value() const noexcept { return value_.has_value(); }
    constexpr explicit operator bool() const noexcept { return has_value(); }

    // Preconditions: has_value() for the value accessors, !has_value() for error().
    constexpr T& operator*() & noexcept { return *value_; }
    constexpr const T& operator*() const& noexcept { return *value_; }
    constexpr T&& operator*() && noexcept { return std::move(*value_); }
    constexpr T* operator->() noexcept { return &*value_; }
    constexpr const T* operator->() const noexcept { return &*value_; }
    [[nodiscard]] constexpr const E& error() const noexcept { return error_; }

    // Checked access: aborts (a bug in the caller) when there is no value.
    constexpr T& value() & {
        AIRLOCK_CHECK(has_value(), "expected::value() on an error");
        return *value_;
    }
    constexpr T&& value() && {
        AIRLOCK_CHECK(has_value(), "expected::value() on an error");
        return std::move(*value_);
    }
    template <class U>
    [[nodiscard]] constexpr T value_or(U&& fallback) const& {
        return has_value() ? *value_ : static_cast<T>(std::forward<U>(fallback));
    }

  private:
    std::optional<T> value_;
    E error_{};
};

// `expected<void, E>`: success or an error.
template <class E>
class [[nodiscard]] expected<void, E> {
  public:
    using value_type = void;
    using error_type = E;

    constexpr expected() noexcept = default;
    constexpr expected(unexpected<E> u) : ok_(false), error_(std::move(u).error()) {}

    [[nodiscard]] constexpr bool has_value() const noexcept { return ok_; }
    constexpr explicit operator bool() const noexcept { return ok_; }
    [[nodiscard]] constexpr const E& error() const noexcept { return error_; }
    constexpr void value() const { AIRLOCK_CHECK(ok_, "expected::value() on an error"); }

  private:
    bool ok_ = true;
    E error_{};
};

}  // namespace airlock
