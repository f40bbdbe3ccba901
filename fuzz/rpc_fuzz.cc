// SPDX-License-Identifier: Apache-2.0
// The libFuzzer target of the rpc layer: each input configures one channel
// and plays a hostile host against a real enclave endpoint, action by action
// (fuzz/rpc_fuzz_driver.hh). Built with clang when AIRLOCK_BUILD_FUZZ=ON;
// fuzz/run_bounded.sh runs it for a bounded time over fuzz/corpus/rpc.
#include <cstddef>
#include <cstdint>

#include "rpc_fuzz_driver.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return run_rpc_fuzz_input(data, size);
}
