// SPDX-License-Identifier: Apache-2.0
// Description: every file of the committed seed corpus (fuzz/corpus/rpc,
// including the regression inputs the fuzzer once crashed on) runs through
// the rpc fuzz driver without breaking a guarantee; built in every build,
// with any compiler, so the corpus is a regression test without libFuzzer.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "rpc_fuzz_driver.hh"

#ifndef AIRLOCK_FUZZ_CORPUS_DIR
#error "AIRLOCK_FUZZ_CORPUS_DIR must name fuzz/corpus/rpc"
#endif

TEST(rpc_fuzz_replay, every_corpus_file) {
    namespace fs = std::filesystem;
    const fs::path dir = AIRLOCK_FUZZ_CORPUS_DIR;
    ASSERT_TRUE(fs::is_directory(dir)) << dir << " is not a directory";
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    ASSERT_GE(files.size(), 20u) << "expected the committed seed corpus in " << dir;
    for (const fs::path& f : files) {
        std::ifstream in(f, std::ios::binary);
        const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                              std::istreambuf_iterator<char>()};
        // Named first: if the driver aborts, the log says on which input.
        std::fprintf(stderr, "replay %s (%zu bytes)\n", f.filename().c_str(), bytes.size());
        EXPECT_EQ(run_rpc_fuzz_input(bytes.data(), bytes.size()), 0) << f;
    }
}
