// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/kv/value_space.hh: an engine whose item values live in a suvm space
// (store_config::values) of `frames` cache frames, sized for the store's
// -m and -I as airlock-kv sizes it, for the --items-in suvm tests.
//
// Thread contract: the test's thread.

#include <cstddef>

#include "engine_fixture.hh"
#include "suvm/suvm_support.hh"

namespace kv_test {

struct value_space {
    value_space(std::size_t memory_limit, std::size_t item_size_max, std::size_t frames,
                bool no_prefetch = false)
        : space(options(memory_limit, item_size_max, frames, no_prefetch)),
          engine(config(memory_limit, item_size_max, space.s.get())) {}

    static airlock::suvm::space_options options(std::size_t memory_limit, std::size_t item_size_max,
                                                std::size_t frames, bool no_prefetch) {
        auto o = airlock::suvm::test::small_options(0, frames);
        if (no_prefetch) o.prefetch = false;
        o.size = airlock::kv::store::value_space_size(
            config(memory_limit, item_size_max, nullptr).store);
        return o;
    }
    static airlock::kv::engine_config config(std::size_t memory_limit, std::size_t item_size_max,
                                             airlock::suvm::space* values) {
        airlock::kv::engine_config cfg;
        cfg.store.memory_limit = memory_limit;
        cfg.store.item_size_max = item_size_max;
        cfg.store.values = values;
        return cfg;
    }

    airlock::suvm::test::paged space;  // before the engine, which uses it
    engine_fixture engine;
};

}  // namespace kv_test
