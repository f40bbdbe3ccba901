// SPDX-License-Identifier: Apache-2.0
// Description: every file of the committed seed corpus (fuzz/corpus/ring,
// including the regression inputs the fuzzer once crashed on) runs through
// the ring fuzz driver without breaking a guarantee; built in every build,
// with any compiler, so the corpus is a regression test without libFuzzer.
// Every file but the seed-image-* ones (made to be refused) carries a region
// image that attaches, so a corpus left behind by a change of the wire
// format fails here instead of testing nothing.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "corpus_replay.hh"
#include "ring_fuzz_driver.hh"

#ifndef AIRLOCK_FUZZ_CORPUS_DIR
#error "AIRLOCK_FUZZ_CORPUS_DIR must name fuzz/corpus/ring"
#endif

TEST(ring_fuzz_replay, every_corpus_file) {
    airlock::fuzz::replay_corpus(AIRLOCK_FUZZ_CORPUS_DIR, 20, run_ring_fuzz_input);
}

TEST(ring_fuzz_replay, every_corpus_image_attaches_but_the_refused_ones) {
    for (const auto& e : std::filesystem::directory_iterator(AIRLOCK_FUZZ_CORPUS_DIR)) {
        const std::string name = e.path().filename().string();
        std::ifstream in(e.path(), std::ios::binary);
        const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in),
                                              std::istreambuf_iterator<char>()};
        EXPECT_EQ(ring_fuzz_input_attaches(bytes.data(), bytes.size()),
                  name.rfind("seed-image-", 0) != 0 || name == "seed-image-with-records")
            << name;
    }
}
