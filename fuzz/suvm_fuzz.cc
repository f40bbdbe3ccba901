// SPDX-License-Identifier: Apache-2.0
// The libFuzzer target of the suvm layer: each input drives a space and the
// host's tampering with its backing store (fuzz/suvm_fuzz_driver.hh). Built
// with clang when AIRLOCK_BUILD_FUZZ=ON over fuzz/corpus/suvm.
#include <cstddef>
#include <cstdint>

#include "suvm_fuzz_driver.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return run_suvm_fuzz_input(data, size);
}
