# Hostile-input tests of the ring layer: one file per HOSTILE-INPUTS.md item
# or group, label `hostile`.
