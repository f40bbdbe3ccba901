// SPDX-License-Identifier: Apache-2.0
// Description: every file of the committed seed corpus (fuzz/corpus/suvm)
// runs through the suvm fuzz driver without breaking a guarantee; built in
// every build, with any compiler.
#include "corpus_replay.hh"
#include "suvm_fuzz_driver.hh"

#ifndef AIRLOCK_FUZZ_CORPUS_DIR
#error "AIRLOCK_FUZZ_CORPUS_DIR must name fuzz/corpus/suvm"
#endif

TEST(suvm_fuzz_replay, every_corpus_file) {
    airlock::fuzz::replay_corpus(AIRLOCK_FUZZ_CORPUS_DIR, 16, run_suvm_fuzz_input);
}
