// SPDX-License-Identifier: Apache-2.0
// Description: an application whose sanitizer is found at run time: the
// detection agrees with how this test was compiled, and on `process` the
// enclave of a sanitized application runs and answers calls (the build
// compiles this test with AddressSanitizer against a library that was not,
// the case of an ASan application using an installed Airlock).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "airlock/async/sync_wait.hh"
#include "airlock/base/sanitizers.hh"
#include "airlock/platform/enclave.hh"
#include "platform/process_support.hh"

namespace {

using namespace airlock;

constexpr bool compiled_with_a_sanitizer = AIRLOCK_ASAN || AIRLOCK_TSAN;

constexpr rpc::enclave_method<1, std::uint64_t(std::string)> length_of_copy{"length_of_copy"};

void program(platform::enclave_thread& t) {
    t.host.serve(length_of_copy, [](std::string s) {
        std::string copy = s + s;  // the enclave allocates
        return static_cast<std::uint64_t>(copy.size());
    });
}

TEST(process_sanitized_application, the_detection_matches_how_the_program_was_built) {
    EXPECT_EQ(platform::sanitizer_runtime_present(), compiled_with_a_sanitizer);
}

TEST(process_sanitized_application, its_enclave_runs_and_answers) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(platform::platform_kind::process);
    auto e = platform::enclave::create(test::process_config(), &program);
    ASSERT_TRUE(e.has_value()) << to_string(e.error());
    {
        auto ch = (*e)->open_channel(0);
        auto r = async::sync_wait(ch->executor(),
                                  ch->endpoint().call(length_of_copy, std::string(1000, 'x')));
        ASSERT_TRUE(r.has_value()) << to_string(r.error()) << " " << (*e)->diagnostic();
        EXPECT_EQ(*r, 2000u);
    }
    EXPECT_EQ((*e)->failure(), errc::ok) << (*e)->diagnostic();
}

}  // namespace
