# Hostile-input tests of the ring layer: one file per HOSTILE-INPUTS.md item
# or group, label `hostile`. docs/trust-model.md maps each item to its test.
# Those that start a thread (a flipper, a scribbler, a watchdog) are also
# labelled stress, so that they run under TSan.
airlock_add_test(hostile_tail LAYER ring SOURCES hostile_tail.cc LABELS hostile)
airlock_add_test(hostile_own_index LAYER ring SOURCES hostile_own_index.cc LABELS hostile)
airlock_add_test(hostile_region_image LAYER ring SOURCES hostile_region_image.cc LABELS hostile)
airlock_add_test(hostile_record_header LAYER ring SOURCES hostile_record_header.cc LABELS hostile)
airlock_add_test(hostile_flood LAYER ring SOURCES hostile_flood.cc counting_allocator.cc LABELS hostile stress)
airlock_add_test(hostile_double_fetch LAYER ring SOURCES hostile_double_fetch.cc LABELS hostile stress)
airlock_add_test(hostile_full_ring LAYER ring SOURCES hostile_full_ring.cc LABELS hostile)
airlock_add_test(hostile_doorbell LAYER ring SOURCES hostile_doorbell.cc LABELS hostile)
airlock_add_test(hostile_layout LAYER ring SOURCES hostile_layout.cc LABELS hostile)
airlock_add_test(hostile_leftovers LAYER ring SOURCES hostile_leftovers.cc LABELS hostile)
airlock_add_test(hostile_producer_side LAYER ring SOURCES hostile_producer_side.cc LABELS hostile)
airlock_add_test(hostile_fragments LAYER ring SOURCES hostile_fragments.cc LABELS hostile)
airlock_add_test(hostile_scribbler LAYER ring SOURCES hostile_scribbler.cc LABELS hostile stress)

# The fuzz corpus replay: every file of fuzz/corpus/ring through the ring fuzz
# driver, in every build and with any compiler (the libFuzzer target itself
# is fuzz/CMakeLists.txt, AIRLOCK_BUILD_FUZZ=ON).
airlock_add_test(fuzz_replay LAYER ring
                 SOURCES ${PROJECT_SOURCE_DIR}/fuzz/ring_fuzz_replay.cc
                         ${PROJECT_SOURCE_DIR}/fuzz/ring_fuzz_driver.cc
                 LABELS fuzz)
target_compile_definitions(test_ring_fuzz_replay
                           PRIVATE AIRLOCK_FUZZ_CORPUS_DIR="${PROJECT_SOURCE_DIR}/fuzz/corpus/ring")
airlock_add_test(hostile_slow_trickle LAYER ring SOURCES hostile_slow_trickle.cc LABELS hostile)
airlock_add_test(hostile_fan_in_trickle LAYER ring SOURCES hostile_fan_in_trickle.cc counting_allocator.cc LABELS hostile)
