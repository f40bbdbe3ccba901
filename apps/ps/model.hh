// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/ps/model.hh: the parameter server's model, private to the enclave.
//
// `model` maps 64-bit feature ids to dense vectors of `dimension` floats.
// The index is one open-addressing hash table (linear probing, power-of-two
// slots, at most half full) from id to row; the vectors are `capacity` rows
// in insertion order, so features inserted together share pages. All memory
// is allocated once at construction: serving a request never allocates.
//
// The rows have one of two storages, chosen at construction:
//   memory  an array in enclave memory (`model(dimension, capacity)`);
//   suvm    an array in a suvm::space (`model::paged`), so the model may
//           exceed enclave memory: a pull reads a row through the space's
//           page cache, a push updates it in place in its cached page, which
//           the space seals into its untrusted backing store when evicted.
// The index stays in enclave memory with both: looking an id up probes
// slots scattered over the table, and in the space each lookup would be a
// page fault of its own besides the row's (random ids share no index
// pages); every request looks all its ids up before it touches a row, so an
// unknown id never costs a fault. The price: the enclave holds 12 bytes a
// slot, 24 to 48 a feature, whatever the dimension, so a suvm model takes
// out of the enclave the rows (4 x dimension bytes a feature), not the
// index: most of the model at a large dimension, about half at 8.
//
// `sgd_step` applies w[i] -= learning_rate * g[i] in float, element by
// element, the same arithmetic a reference model does, in both storages.
// In the suvm storage, reads and steps fail only when the space fails: its
// sticky fault (the host changed the store), after which every one fails.
//
// Thread contract: one thread at a time (the server's enclave thread).
// No system calls. A suvm model's space must outlive it.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

#include "airlock/base/expected.hh"

namespace airlock::suvm {
class space;
}

namespace airlock::ps {

enum class model_storage : std::uint8_t { memory, suvm };

class model {
  public:
    // A row number, or no_row for an id the model does not hold.
    using row = std::uint32_t;
    static constexpr row no_row = UINT32_MAX;

    // Rows in enclave memory. Room for `capacity` features of `dimension`
    // floats. Preconditions (checked): dimension >= 1, 1 <= capacity < 2^32 - 1.
    model(std::uint32_t dimension, std::size_t capacity);

    // Rows in `s` (allocated from it; zeros until inserted). Preconditions
    // as above. Errors: those of suvm::space::allocate (suvm_out_of_memory
    // when `s` has fewer than paged_bytes() free).
    [[nodiscard]] static expected<model> paged(std::uint32_t dimension, std::size_t capacity,
                                               suvm::space& s);
    // Bytes of a space that holds the rows of such a model, for
    // suvm::space_options::size (at least; alignment included).
    [[nodiscard]] static std::uint64_t paged_bytes(std::uint32_t dimension,
                                                   std::size_t capacity) noexcept;

    model(model&&) noexcept = default;
    model& operator=(model&&) noexcept = default;

    // Adds feature `id` with value `initial` (dimension floats); overwrites
    // it if present. ps_model_full when `capacity` features are held; in the
    // suvm storage, the space's error when the row cannot be written.
    [[nodiscard]] expected<void> insert(std::uint64_t id, std::span<const float> initial);

    // The feature's row, or no_row.
    [[nodiscard]] row find(std::uint64_t id) const noexcept {
        for (std::size_t s = mix(id) & mask_;; s = (s + 1) & mask_) {
            if (rows_[s] == no_row) return no_row;  // at most half full: an empty slot ends a probe
            if (ids_[s] == id) return rows_[s];
        }
    }

    // Copies row `r`'s vector (vector_bytes()) to `out`. Precondition: r
    // was returned by find. Errors (suvm storage): the space's.
    [[nodiscard]] expected<void> read(row r, std::byte* out) const {
        if (values_) [[likely]] {
            std::memcpy(out, values_.get() + std::size_t{r} * dimension_, vector_bytes());
            return {};
        }
        return read_paged(r, out);
    }

    // One SGD step on row `r` with `dimension` floats of gradient.
    // Errors (suvm storage): the space's.
    [[nodiscard]] expected<void> sgd_step(row r, const float* gradient, float learning_rate) {
        if (values_) [[likely]] {
            step(values_.get() + std::size_t{r} * dimension_, gradient, dimension_, learning_rate);
            return {};
        }
        return step_paged(r, gradient, learning_rate);
    }

    [[nodiscard]] model_storage storage() const noexcept {
        return values_ ? model_storage::memory : model_storage::suvm;
    }
    [[nodiscard]] std::uint32_t dimension() const noexcept { return dimension_; }
    [[nodiscard]] std::size_t vector_bytes() const noexcept { return std::size_t{4} * dimension_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    // Enclave memory of the index (ids and rows of every slot).
    [[nodiscard]] std::size_t index_bytes() const noexcept;
    // Bytes of the rows (in enclave memory or in the space).
    [[nodiscard]] std::size_t rows_bytes() const noexcept { return capacity_ * vector_bytes(); }
    // Enclave memory a model with these sizes holds: the index, and the
    // rows with the memory storage (a suvm model's cache is the space's).
    [[nodiscard]] static std::size_t enclave_bytes(std::uint32_t dimension, std::size_t capacity,
                                                   model_storage storage) noexcept;

    // The value a server starts feature `id` with: `dimension` floats in
    // [-0.5, 0.5) derived from the id alone, so a client can predict it.
    static void initial_value(std::uint64_t id, std::span<float> out) noexcept;

  private:
    struct paged_tag {};
    model(std::uint32_t dimension, std::size_t capacity, paged_tag);

    [[nodiscard]] static std::uint64_t mix(std::uint64_t x) noexcept {
        // splitmix64's finaliser: spreads sequential ids over the table.
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ULL;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebULL;
        return x ^ (x >> 31);
    }
    static void step(float* w, const float* gradient, std::uint32_t n,
                     float learning_rate) noexcept {
        for (std::uint32_t i = 0; i < n; ++i)
            w[i] -= learning_rate * gradient[i];
    }
    [[nodiscard]] expected<void> read_paged(row r, std::byte* out) const;
    [[nodiscard]] expected<void> step_paged(row r, const float* gradient, float learning_rate);

    std::uint32_t dimension_;
    std::size_t capacity_;
    std::size_t mask_;
    std::size_t size_ = 0;
    std::unique_ptr<std::uint64_t[]> ids_;
    std::unique_ptr<row[]> rows_;  // no_row: an empty slot
    // Exactly one of the two storages.
    std::unique_ptr<float[]> values_;
    suvm::space* space_ = nullptr;
    std::uint64_t base_ = 0;  // the rows' address in space_
};

}  // namespace airlock::ps
