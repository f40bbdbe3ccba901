// SPDX-License-Identifier: Apache-2.0
// The libFuzzer target of the ring layer: each input is a region image and
// a stream of enclave calls, honest host calls and hostile writes
// (fuzz/ring_fuzz_driver.hh). Built with clang when AIRLOCK_BUILD_FUZZ=ON;
// fuzz/run_bounded.sh runs it for a bounded time over fuzz/corpus/ring.
#include <cstddef>
#include <cstdint>

#include "ring_fuzz_driver.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return run_ring_fuzz_input(data, size);
}
