# SPDX-License-Identifier: Apache-2.0
# The rpc fuzz corpus replay: every file of fuzz/corpus/rpc through the rpc
# fuzz driver, in every build and with any compiler (the libFuzzer target
# itself is fuzz/CMakeLists.txt, AIRLOCK_BUILD_FUZZ=ON). rpc_fuzz_alloc.cc
# replaces the global operator new to watch allocation sizes.
airlock_add_test(fuzz_replay LAYER rpc
                 SOURCES ${PROJECT_SOURCE_DIR}/fuzz/rpc_fuzz_replay.cc
                         ${PROJECT_SOURCE_DIR}/fuzz/rpc_fuzz_driver.cc
                         ${PROJECT_SOURCE_DIR}/fuzz/rpc_fuzz_alloc.cc
                 LABELS fuzz)
target_compile_definitions(test_rpc_fuzz_replay
                           PRIVATE AIRLOCK_FUZZ_CORPUS_DIR="${PROJECT_SOURCE_DIR}/fuzz/corpus/rpc")
