// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/ps/model.hh: the parameter server's model, private to the enclave.
//
// `model` maps 64-bit feature ids to dense vectors of `dimension` floats in
// one open-addressing hash table (linear probing, power-of-two slots, at
// most half full) whose memory is allocated once at construction: serving a
// request never allocates. `sgd_step` applies w[i] -= learning_rate * g[i]
// in float, element by element, the same arithmetic a reference model does.
//
// Thread contract: one thread at a time (the server's enclave thread).
// No system calls.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "airlock/base/expected.hh"

namespace airlock::ps {

class model {
  public:
    // Room for `capacity` features of `dimension` floats. Preconditions
    // (checked): dimension >= 1, capacity >= 1.
    model(std::uint32_t dimension, std::size_t capacity);

    // Adds feature `id` with value `initial` (dimension floats); overwrites
    // it if present. ps_model_full when `capacity` features are held.
    [[nodiscard]] expected<void> insert(std::uint64_t id, std::span<const float> initial);

    // The feature's vector, or nullptr for an id the model does not hold.
    [[nodiscard]] float* find(std::uint64_t id) noexcept {
        const std::size_t slot = slot_of(id);
        return slot == npos ? nullptr : values_.get() + slot * dimension_;
    }
    [[nodiscard]] const float* find(std::uint64_t id) const noexcept {
        return const_cast<model*>(this)->find(id);
    }

    // One SGD step on a held feature's vector `w`.
    void sgd_step(float* w, const float* gradient, float learning_rate) const noexcept {
        for (std::uint32_t i = 0; i < dimension_; ++i)
            w[i] -= learning_rate * gradient[i];
    }

    [[nodiscard]] std::uint32_t dimension() const noexcept { return dimension_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    // Bytes of the table (ids, occupancy and vectors).
    [[nodiscard]] std::size_t table_bytes() const noexcept;

    // The value a server starts feature `id` with: `dimension` floats in
    // [-0.5, 0.5) derived from the id alone, so a client can predict it.
    static void initial_value(std::uint64_t id, std::span<float> out) noexcept;

  private:
    static constexpr std::size_t npos = SIZE_MAX;
    [[nodiscard]] static std::uint64_t mix(std::uint64_t x) noexcept {
        // splitmix64's finaliser: spreads sequential ids over the table.
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
    }
    [[nodiscard]] std::size_t slot_of(std::uint64_t id) const noexcept {
        for (std::size_t s = mix(id) & mask_;; s = (s + 1) & mask_) {
            if (!used_[s]) return npos;  // at most half full: an empty slot ends every probe
            if (ids_[s] == id) return s;
        }
    }

    std::uint32_t dimension_;
    std::size_t capacity_;
    std::size_t mask_;
    std::size_t size_ = 0;
    std::unique_ptr<std::uint64_t[]> ids_;
    std::unique_ptr<bool[]> used_;
    std::unique_ptr<float[]> values_;
};

}  // namespace airlock::ps
