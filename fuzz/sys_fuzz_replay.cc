// SPDX-License-Identifier: Apache-2.0
// Description: every file of the committed sys seed corpus (fuzz/corpus/sys)
// runs through the sys fuzz driver (a fake host answering a real sys client
// with crafted completion streams) without breaking a guarantee; built in
// every build, with any compiler, so the corpus is a regression test
// without libFuzzer.
#include "corpus_replay.hh"
#include "sys_fuzz_driver.hh"

#ifndef AIRLOCK_FUZZ_CORPUS_DIR
#error "AIRLOCK_FUZZ_CORPUS_DIR must name fuzz/corpus/sys"
#endif

TEST(sys_fuzz_replay, every_corpus_file) {
    airlock::fuzz::replay_corpus(AIRLOCK_FUZZ_CORPUS_DIR, 8, run_sys_fuzz_input);
}
