// SPDX-License-Identifier: Apache-2.0
#pragma once
// fuzz/fuzz_support.hh: what the fuzz drivers share: zeroed memory for a
// region, and wait hooks with a manual clock for drivers that run single
// executor rounds (nothing parks; a park only moves the clock).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <new>

#include "airlock/ring/layout.hh"
#include "airlock/ring/wait.hh"

namespace airlock::fuzz {

struct aligned_delete {
    void operator()(std::byte* p) const {
        ::operator delete (p, std::align_val_t{ring::wire::region_alignment});
    }
};
using region_memory = std::unique_ptr<std::byte, aligned_delete>;

// `size` zeroed bytes aligned for a region.
inline region_memory allocate_region(std::size_t size) {
    auto* p = static_cast<std::byte*>(
        ::operator new (size, std::align_val_t{ring::wire::region_alignment}));
    std::memset(p, 0, size);
    return region_memory(p);
}

class manual_hooks final : public ring::wait_hooks {
  public:
    void yield() noexcept override {}
    void park(ring::shared_u64&, std::uint64_t, std::uint64_t timeout_ns) noexcept override {
        if (timeout_ns != std::numeric_limits<std::uint64_t>::max()) now_ += timeout_ns;
    }
    void unpark(ring::shared_u64&) noexcept override {}
    [[nodiscard]] std::uint64_t now_ns() noexcept override { return now_; }

  private:
    std::uint64_t now_ = 1'000'000;
};

}  // namespace airlock::fuzz
