// SPDX-License-Identifier: Apache-2.0
// apps/ps/model.cc: the model's table (model.hh).
#include "ps/model.hh"

#include <bit>
#include <cstring>

#include "airlock/base/check.hh"

namespace airlock::ps {

model::model(std::uint32_t dimension, std::size_t capacity)
    : dimension_(dimension), capacity_(capacity) {
    AIRLOCK_CHECK(dimension >= 1 && capacity >= 1, "model: dimension and capacity >= 1");
    const std::size_t slots = std::bit_ceil(2 * capacity);
    mask_ = slots - 1;
    ids_ = std::make_unique<std::uint64_t[]>(slots);
    used_ = std::make_unique<bool[]>(slots);
    values_ = std::make_unique<float[]>(slots * dimension);
}

expected<void> model::insert(std::uint64_t id, std::span<const float> initial) {
    AIRLOCK_CHECK(initial.size() == dimension_, "model::insert: one vector of dimension floats");
    std::size_t s = mix(id) & mask_;
    for (; used_[s]; s = (s + 1) & mask_)
        if (ids_[s] == id) break;
    if (!used_[s]) {
        if (size_ == capacity_) return unexpected(errc::ps_model_full);
        used_[s] = true;
        ids_[s] = id;
        ++size_;
    }
    std::memcpy(values_.get() + s * dimension_, initial.data(), initial.size_bytes());
    return {};
}

std::size_t model::table_bytes() const noexcept {
    return (mask_ + 1) * (sizeof(std::uint64_t) + sizeof(bool) + std::size_t{4} * dimension_);
}

void model::initial_value(std::uint64_t id, std::span<float> out) noexcept {
    std::uint64_t x = id * 0x9e3779b97f4a7c15ULL;
    for (float& v : out) {
        x = mix(x + 0x9e3779b97f4a7c15ULL);
        // 24 random bits -> [0, 1) exactly, then shifted to [-0.5, 0.5).
        v = static_cast<float>(x >> 40) * (1.0f / 16777216.0f) - 0.5f;
    }
}

}  // namespace airlock::ps
