# The layer graph of Airlock, declared in one place (DESIGN.md, "Layers").
# Each line creates the static library airlock_<layer> (alias airlock::<layer>)
# from src/<layer>/*.cc; DEPENDS is its dependency list and the only one:
# tools/check_layers.py reads this file and fails the build when a file in
# include/airlock/<layer>/ or src/<layer>/ includes a layer not reachable here.
airlock_layer(base)
airlock_layer(ring DEPENDS base)
airlock_layer(async DEPENDS ring)
airlock_layer(rpc DEPENDS async)
airlock_layer(platform DEPENDS rpc)
airlock_layer(sys DEPENDS platform)
airlock_layer(suvm DEPENDS platform)
