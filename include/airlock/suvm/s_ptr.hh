// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/suvm/s_ptr.hh: pointers and arrays into a suvm::space.
//
// `s_ptr<T>` is an address in a space with pointer arithmetic. It keeps the
// page it last touched pinned, so a dereference on that page is a compare
// and an add (the fast path); moving to another page unpins the old one and
// pins the new one (lock-free when cached, a software page fault when not),
// after prefetching the new line so that its cache miss overlaps the two
// locked instructions (space::prefetch).
// `s_ptr<T>` dereferences for writing (the page is marked dirty when it is
// pinned); `s_ptr<const T>` only reads, and its pages stay clean.
//
// Errors are values: `get()`, `load()` and `store()` return them. `*p` and
// `p->` are for code that checks `space::fault()` at its commit points: on
// an error they yield a zeroed thread-local stand-in (never host-chosen
// bytes) and writes to it are lost; the space's sticky fault stays set.
//
// In a direct-mode space (space_options::sub_page_bytes) nothing is cached
// to point into: `load()` and `store()` go straight to the sealed sub-pages
// (an 8-byte access opens one sub-page; a store also seals it), `get()`
// returns suvm_direct_space, and `*p`/`p->` are a programming error that
// stops the program (AIRLOCK_CHECK, naming load()/store()). Not a proxy
// that loads and stores: `p->member` and `T&` cannot be proxied, and
// `(*p).a = 1; (*p).b = 2;` would open and seal the sub-page twice. Not the
// stand-in: reads would be zeros and writes lost with no sign. Whether a
// space is direct is the enclave's own choice at create, never the host's,
// so the check fires on the first dereference on every run.
//
// `s_array<T>` is a typed array in a space: a base s_ptr and a count.
//
// Thread contract: an s_ptr belongs to one thread at a time (it holds a
// pin); many threads may hold s_ptrs into one space. Destroy them before
// the space. T must be trivially copyable.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>

#include "airlock/base/check.hh"
#include "airlock/base/expected.hh"
#include "airlock/suvm/space.hh"

namespace airlock::suvm {

template <class T>
class s_ptr {
    using value_type = std::remove_const_t<T>;
    static_assert(std::is_trivially_copyable_v<value_type>, "a paged object is copied as bytes");
    static constexpr bool writes = !std::is_const_v<T>;

  public:
    s_ptr() = default;
    s_ptr(space& s, std::uint64_t address) noexcept : space_(&s), address_(address) {}
    // A copy points at the same address; it pins its own page when used.
    s_ptr(const s_ptr& o) noexcept : space_(o.space_), address_(o.address_) {}
    s_ptr& operator=(const s_ptr& o) noexcept {
        if (this != &o) {
            pin_.reset();
            space_ = o.space_;
            address_ = o.address_;
        }
        return *this;
    }
    s_ptr(s_ptr&&) noexcept = default;
    s_ptr& operator=(s_ptr&&) noexcept = default;
    // s_ptr<T> converts to s_ptr<const T>.
    template <class U>
    requires(std::is_same_v<const U, T> && !std::is_same_v<U, T>) s_ptr(const s_ptr<U>& o)
    noexcept : space_(o.owner()), address_(o.address()) {}

    [[nodiscard]] std::uint64_t address() const noexcept { return address_; }
    [[nodiscard]] space* owner() const noexcept { return space_; }
    [[nodiscard]] explicit operator bool() const noexcept { return space_ != nullptr; }

    // The object in enclave memory, valid while this s_ptr stays on its
    // page. Errors: the space's fault, suvm_out_of_range,
    // suvm_cache_exhausted, suvm_straddles_page (use load/store),
    // suvm_direct_space (a direct space: use load/store).
    [[nodiscard]] expected<T*> get() const {
        const std::uint64_t page = address_ >> space_->page_shift();
        if (pin_ && pin_.page() == page && (!writes || pin_.dirty_marked())) [[likely]]
            return at_offset();
        return get_slow();
    }
    // Copies the object out (across a page boundary if it straddles one).
    [[nodiscard]] expected<value_type> load() const {
        const std::uint64_t page = address_ >> space_->page_shift();
        if (pin_ && pin_.page() == page && fits()) [[likely]] {
            value_type v;
            std::memcpy(&v, pin_.data() + offset(), sizeof v);
            return v;
        }
        value_type v;
        auto r = space_->read(address_, {reinterpret_cast<std::byte*>(&v), sizeof v});
        if (!r) return unexpected(r.error());
        return v;
    }
    [[nodiscard]] expected<void> store(const value_type& v) const requires writes {
        if (fits() && !space_->direct()) {
            auto p = get();
            if (!p) return unexpected(p.error());
            std::memcpy(*p, &v, sizeof v);
            return {};
        }
        return space_->write(address_, {reinterpret_cast<const std::byte*>(&v), sizeof v});
    }

    // The object in place; a direct space stops the program (see above).
    T& operator*() const {
        auto p = get();
        if (p) [[likely]]
            return **p;
        return deref_failed();
    }
    T* operator->() const { return &**this; }

    s_ptr& operator+=(std::ptrdiff_t n) noexcept {
        address_ += static_cast<std::uint64_t>(n) * sizeof(value_type);
        return *this;
    }
    s_ptr& operator-=(std::ptrdiff_t n) noexcept { return *this += -n; }
    s_ptr& operator++() noexcept { return *this += 1; }
    s_ptr& operator--() noexcept { return *this -= 1; }
    [[nodiscard]] friend s_ptr operator+(s_ptr p, std::ptrdiff_t n) noexcept { return p += n; }
    [[nodiscard]] friend s_ptr operator-(s_ptr p, std::ptrdiff_t n) noexcept { return p -= n; }
    // Elements between two pointers into the same space.
    [[nodiscard]] friend std::ptrdiff_t operator-(const s_ptr& a, const s_ptr& b) noexcept {
        return static_cast<std::ptrdiff_t>(a.address_ - b.address_) /
               static_cast<std::ptrdiff_t>(sizeof(value_type));
    }
    [[nodiscard]] friend bool operator==(const s_ptr& a, const s_ptr& b) noexcept {
        return a.space_ == b.space_ && a.address_ == b.address_;
    }
    [[nodiscard]] friend std::strong_ordering operator<=>(const s_ptr& a, const s_ptr& b) noexcept {
        return a.address_ <=> b.address_;
    }

  private:
    [[nodiscard]] std::uint64_t offset() const noexcept {
        return address_ & (space_->page_size() - 1);
    }
    [[nodiscard]] bool fits() const noexcept {
        return offset() + sizeof(value_type) <= space_->page_size();
    }
    [[nodiscard]] T* at_offset() const noexcept {
        return std::launder(reinterpret_cast<T*>(pin_.data() + offset()));
    }
    [[gnu::noinline]] expected<T*> get_slow() const {
        if (address_ > space_->size() || sizeof(value_type) > space_->size() - address_)
            return unexpected(errc::suvm_out_of_range);
        if (!fits()) return unexpected(errc::suvm_straddles_page);
        const std::uint64_t page = address_ >> space_->page_shift();
        if (pin_ && pin_.page() == page) {  // pinned for reading; now for writing
            pin_.mark_dirty();
            return at_offset();
        }
        space_->prefetch(address_, writes);
        pin_.reset();
        auto p = space_->pin(page, writes ? access::write : access::read);
        if (!p) return unexpected(p.error());
        pin_ = std::move(*p);
        return at_offset();
    }
    [[gnu::cold, gnu::noinline]] T& deref_failed() const noexcept {
        AIRLOCK_CHECK(!space_->direct(),
                      "s_ptr: *p or p-> into a direct-mode space, which has no page to refer "
                      "to; use load()/store()");
        return stand_in();
    }
    [[gnu::cold]] static T& stand_in() noexcept {
        alignas(value_type) static thread_local std::byte bytes[sizeof(value_type)];
        std::memset(bytes, 0, sizeof bytes);
        return *std::launder(reinterpret_cast<T*>(bytes));
    }

    space* space_ = nullptr;
    std::uint64_t address_ = 0;
    mutable page_ref pin_;
};

// `s_array<T>` is `count` objects of T at `base` in a space.
template <class T>
class s_array {
  public:
    s_array() = default;
    s_array(space& s, std::uint64_t base, std::uint64_t count) noexcept
        : space_(&s), base_(base), count_(count) {}

    // Allocates room for `count` objects (zeros until written), aligned so
    // that an object whose size is a power of two never straddles a page.
    [[nodiscard]] static expected<s_array> allocate(space& s, std::uint64_t count) {
        std::size_t align = alignof(T);
        while (align < sizeof(T) && align < s.page_size())
            align *= 2;
        if (count > UINT64_MAX / sizeof(T)) return unexpected(errc::suvm_out_of_memory);
        auto at = s.allocate(count * sizeof(T), align);
        if (!at) return unexpected(at.error());
        return s_array(s, *at, count);
    }

    // Gives the objects' space back to the space for reuse (space::deallocate).
    [[nodiscard]] expected<void> deallocate() const {
        return space_->deallocate(base_, count_ * sizeof(T));
    }

    [[nodiscard]] std::uint64_t size() const noexcept { return count_; }
    [[nodiscard]] std::uint64_t address() const noexcept { return base_; }
    // Pointers: no check against size() (like a raw array).
    [[nodiscard]] s_ptr<T> begin() const noexcept { return {*space_, base_}; }
    [[nodiscard]] s_ptr<T> at(std::uint64_t i) const noexcept {
        return {*space_, base_ + i * sizeof(T)};
    }
    // Checked element access: suvm_out_of_range for i >= size().
    [[nodiscard]] expected<T> load(std::uint64_t i) const {
        if (i >= count_) return unexpected(errc::suvm_out_of_range);
        T v;
        auto r = space_->read(base_ + i * sizeof(T), {reinterpret_cast<std::byte*>(&v), sizeof v});
        if (!r) return unexpected(r.error());
        return v;
    }
    [[nodiscard]] expected<void> store(std::uint64_t i, const T& v) const {
        if (i >= count_) return unexpected(errc::suvm_out_of_range);
        return space_->write(base_ + i * sizeof(T),
                             {reinterpret_cast<const std::byte*>(&v), sizeof v});
    }

  private:
    space* space_ = nullptr;
    std::uint64_t base_ = 0;
    std::uint64_t count_ = 0;
};

}  // namespace airlock::suvm
