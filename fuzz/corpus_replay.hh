// SPDX-License-Identifier: Apache-2.0
#pragma once
// fuzz/corpus_replay.hh: runs every file of a committed fuzz corpus through
// a fuzz driver as a GoogleTest check, so the corpus (seeds and the inputs
// the fuzzer once crashed on) is a regression test in every build, with any
// compiler and without libFuzzer. Used by ring_fuzz_replay.cc and
// rpc_fuzz_replay.cc.
//
// Thread contract: one thread.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace airlock::fuzz {

// A driver's entry: 0 when the input broke no guarantee (it aborts otherwise).
using fuzz_entry = int (*)(const std::uint8_t* data, std::size_t size);

// Replays the files of `dir` in name order; expects at least `min_files`.
inline void replay_corpus(const std::filesystem::path& dir, std::size_t min_files, fuzz_entry run) {
    namespace fs = std::filesystem;
    ASSERT_TRUE(fs::is_directory(dir)) << dir << " is not a directory";
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    ASSERT_GE(files.size(), min_files) << "expected the committed seed corpus in " << dir;
    for (const fs::path& f : files) {
        std::ifstream in(f, std::ios::binary);
        const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                              std::istreambuf_iterator<char>()};
        // Named first: if the driver aborts, the log says on which input.
        std::fprintf(stderr, "replay %s (%zu bytes)\n", f.filename().c_str(), bytes.size());
        EXPECT_EQ(run(bytes.data(), bytes.size()), 0) << f;
    }
}

}  // namespace airlock::fuzz
