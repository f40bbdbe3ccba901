// SPDX-License-Identifier: Apache-2.0
// The libFuzzer target of the sys layer: each input plays a fake host
// service answering a real enclave-side sys client's requests with
// completions it makes, honest or not (fuzz/sys_fuzz_driver.hh). Built with
// clang when AIRLOCK_BUILD_FUZZ=ON, over fuzz/corpus/sys.
#include <cstddef>
#include <cstdint>

#include "sys_fuzz_driver.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return run_sys_fuzz_input(data, size);
}
