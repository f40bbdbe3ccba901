# SPDX-License-Identifier: Apache-2.0
# The sys fuzz corpus replay: every file of fuzz/corpus/sys through the sys
# fuzz driver, in every build and with any compiler (the libFuzzer target
# itself is fuzz/CMakeLists.txt, AIRLOCK_BUILD_FUZZ=ON).
airlock_add_test(fuzz_replay LAYER sys
                 SOURCES ${PROJECT_SOURCE_DIR}/fuzz/sys_fuzz_replay.cc
                         ${PROJECT_SOURCE_DIR}/fuzz/sys_fuzz_driver.cc
                 LABELS fuzz)
target_compile_definitions(test_sys_fuzz_replay
                           PRIVATE AIRLOCK_FUZZ_CORPUS_DIR="${PROJECT_SOURCE_DIR}/fuzz/corpus/sys")
