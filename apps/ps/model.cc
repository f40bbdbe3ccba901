// SPDX-License-Identifier: Apache-2.0
// apps/ps/model.cc: the model's index and its two storages (model.hh).
#include "ps/model.hh"

#include <algorithm>
#include <bit>
#include <cstring>

#include "airlock/base/check.hh"
#include "airlock/suvm/space.hh"

namespace airlock::ps {
namespace {

std::size_t slots_for(std::size_t capacity) {
    return std::bit_ceil(2 * capacity);
}

}  // namespace

model::model(std::uint32_t dimension, std::size_t capacity, paged_tag)
    : dimension_(dimension), capacity_(capacity) {
    AIRLOCK_CHECK(dimension >= 1 && capacity >= 1 && capacity < no_row,
                  "model: dimension >= 1, 1 <= capacity < 2^32 - 1");
    const std::size_t slots = slots_for(capacity);
    mask_ = slots - 1;
    ids_ = std::make_unique<std::uint64_t[]>(slots);
    rows_ = std::make_unique_for_overwrite<row[]>(slots);
    std::fill_n(rows_.get(), slots, no_row);
}

model::model(std::uint32_t dimension, std::size_t capacity)
    : model(dimension, capacity, paged_tag{}) {
    values_ = std::make_unique<float[]>(capacity * dimension);
}

std::uint64_t model::paged_bytes(std::uint32_t dimension, std::size_t capacity) noexcept {
    // The rows, and room to align their start to a page (suvm's largest).
    return std::uint64_t{capacity} * 4 * dimension + suvm::max_page_size;
}

expected<model> model::paged(std::uint32_t dimension, std::size_t capacity, suvm::space& s) {
    model m(dimension, capacity, paged_tag{});
    // Page-aligned: a row crosses a page boundary only when its size does
    // not divide the page size (step_paged handles that case).
    auto at = s.allocate(std::uint64_t{capacity} * m.vector_bytes(), s.page_size());
    if (!at) return unexpected(at.error());
    m.space_ = &s;
    m.base_ = *at;
    return m;
}

expected<void> model::insert(std::uint64_t id, std::span<const float> initial) {
    AIRLOCK_CHECK(initial.size() == dimension_, "model::insert: one vector of dimension floats");
    std::size_t s = mix(id) & mask_;
    for (; rows_[s] != no_row; s = (s + 1) & mask_)
        if (ids_[s] == id) break;
    const bool fresh = rows_[s] == no_row;
    if (fresh && size_ == capacity_) return unexpected(errc::ps_model_full);
    const row r = fresh ? static_cast<row>(size_) : rows_[s];
    if (values_) {
        std::memcpy(values_.get() + std::size_t{r} * dimension_, initial.data(),
                    initial.size_bytes());
    } else if (auto w =
                   space_->write(base_ + std::uint64_t{r} * vector_bytes(), std::as_bytes(initial));
               !w) {
        return w;  // the feature is not added
    }
    if (fresh) {
        rows_[s] = r;
        ids_[s] = id;
        ++size_;
    }
    return {};
}

expected<void> model::read_paged(row r, std::byte* out) const {
    return space_->read(base_ + std::uint64_t{r} * vector_bytes(), {out, vector_bytes()});
}

expected<void> model::step_paged(row r, const float* gradient, float learning_rate) {
    // In place, page by page: each page holding part of the row is pinned
    // for writing (marked dirty, so it is sealed back when evicted). A
    // float never crosses a page (rows start page-aligned and pages are a
    // multiple of 4 bytes), so the step is the same arithmetic as step().
    std::uint64_t at = base_ + std::uint64_t{r} * vector_bytes();
    const std::size_t page_size = space_->page_size();
    for (std::uint32_t i = 0; i < dimension_;) {
        auto p = space_->pin(at >> space_->page_shift(), suvm::access::write);
        if (!p) return unexpected(p.error());
        const std::size_t offset = at & (page_size - 1);
        const auto n = static_cast<std::uint32_t>(
            std::min<std::size_t>(dimension_ - i, (page_size - offset) / 4));
        // The page's bytes are copied as floats (no aliasing of the frame).
        float w[64];
        for (std::uint32_t done = 0; done < n;) {
            const std::uint32_t k = std::min<std::uint32_t>(n - done, 64);
            std::byte* bytes = p->data() + offset + std::size_t{done} * 4;
            std::memcpy(w, bytes, std::size_t{k} * 4);
            step(w, gradient + i + done, k, learning_rate);
            std::memcpy(bytes, w, std::size_t{k} * 4);
            done += k;
        }
        i += n;
        at += std::uint64_t{n} * 4;
    }
    return {};
}

std::size_t model::index_bytes() const noexcept {
    return (mask_ + 1) * (sizeof(std::uint64_t) + sizeof(row));
}

std::size_t model::enclave_bytes(std::uint32_t dimension, std::size_t capacity,
                                 model_storage storage) noexcept {
    const std::size_t index = slots_for(capacity) * (sizeof(std::uint64_t) + sizeof(row));
    return storage == model_storage::memory ? index + capacity * std::size_t{4} * dimension : index;
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
