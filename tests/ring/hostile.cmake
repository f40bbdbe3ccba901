# Hostile-input tests of the ring layer: one file per HOSTILE-INPUTS.md item
# or group, label `hostile`. docs/trust-model.md maps each item to its test.
airlock_add_test(hostile_tail LAYER ring SOURCES hostile_tail.cc LABELS hostile)
airlock_add_test(hostile_own_index LAYER ring SOURCES hostile_own_index.cc LABELS hostile)
airlock_add_test(hostile_region_image LAYER ring SOURCES hostile_region_image.cc LABELS hostile)
airlock_add_test(hostile_record_header LAYER ring SOURCES hostile_record_header.cc LABELS hostile)
airlock_add_test(hostile_flood LAYER ring SOURCES hostile_flood.cc LABELS hostile)
