// SPDX-License-Identifier: Apache-2.0
// Description: every file of the committed seed corpus (fuzz/corpus/ring,
// including the regression inputs the fuzzer once crashed on) runs through
// the ring fuzz driver without breaking a guarantee; built in every build,
// with any compiler, so the corpus is a regression test without libFuzzer.
#include "corpus_replay.hh"
#include "ring_fuzz_driver.hh"

#ifndef AIRLOCK_FUZZ_CORPUS_DIR
#error "AIRLOCK_FUZZ_CORPUS_DIR must name fuzz/corpus/ring"
#endif

TEST(ring_fuzz_replay, every_corpus_file) {
    airlock::fuzz::replay_corpus(AIRLOCK_FUZZ_CORPUS_DIR, 20, run_ring_fuzz_input);
}
