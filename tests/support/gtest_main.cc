// SPDX-License-Identifier: Apache-2.0
// Description: the main() of every GoogleTest test. It is gtest_main's, except
// that a run in which any test called GTEST_SKIP exits with 77, which ctest
// reports as a skip (SKIP_RETURN_CODE): a skip is never counted as a pass,
// and scripts/test.sh fails the run unless the test is declared MAY_SKIP.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    const int failed = RUN_ALL_TESTS();
    if (failed != 0) return failed;
    return testing::UnitTest::GetInstance()->skipped_test_count() > 0 ? 77 : 0;
}
