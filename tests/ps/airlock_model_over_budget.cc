// SPDX-License-Identifier: Apache-2.0
// Description: a model kept in enclave memory that does not fit the sealed
// enclave's budget makes the airlock server refuse to start with
// enclave_memory_exhausted (the enclave answers; it does not die).
#include "platform/process_support.hh"
#include "server_support.hh"

namespace airlock::ps::testing {
namespace {

TEST(PsAirlockOverBudget, AModelLargerThanTheEnclaveIsRefused) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(platform::platform_kind::process);
    if (airlock::test::sanitized_build)
        GTEST_SKIP() << "a sanitizer's allocator maps its own memory: the fixed heap is glibc's";
    server_options o = small_server(io_mode::airlock);
    o.platform = platform::platform_kind::process;
    o.dimension = 64;
    o.keys = 131'072;  // 32 MiB of rows
    o.model_in = model_storage::memory;
    o.enclave_memory = std::size_t{16} << 20;
    auto s = server::create(o);
    ASSERT_FALSE(s.has_value()) << "a 32 MiB model cannot live in a 16 MiB enclave";
    EXPECT_EQ(s.error(), errc::enclave_memory_exhausted) << to_string(s.error());
}

}  // namespace
}  // namespace airlock::ps::testing
