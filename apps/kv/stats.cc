// SPDX-License-Identifier: Apache-2.0
// The replies of "stats", "stats settings", "stats items" and "stats slabs"
// (engine.hh). airlock-kv has no slab classes: its items are one class, 1.

#include <cinttypes>
#include <cstdio>

#include "engine.hh"

namespace airlock::kv {

namespace {
template <class T>
void stat(std::string& out, const char* name, T v) {
    char buf[64];
    int n = 0;
    if constexpr (std::is_same_v<T, const char*>) {
        out += "STAT ";
        out += name;
        out += ' ';
        out += v;
        out += "\r\n";
        return;
    } else if constexpr (std::is_floating_point_v<T>) {
        n = std::snprintf(buf, sizeof buf, "%.6f", v);
    } else if constexpr (std::is_signed_v<T>) {
        n = std::snprintf(buf, sizeof buf, "%" PRId64, static_cast<std::int64_t>(v));
    } else {
        n = std::snprintf(buf, sizeof buf, "%" PRIu64, static_cast<std::uint64_t>(v));
    }
    out += "STAT ";
    out += name;
    out += ' ';
    out.append(buf, static_cast<std::size_t>(n));
    out += "\r\n";
}
// Every field of `counters`, for summing the per-thread blocks.
constexpr std::atomic<std::uint64_t> counters::*all_counters[] = {
    &counters::cmd_get,
    &counters::cmd_set,
    &counters::cmd_flush,
    &counters::cmd_touch,
    &counters::cmd_meta,
    &counters::get_hits,
    &counters::get_misses,
    &counters::get_expired,
    &counters::get_flushed,
    &counters::delete_misses,
    &counters::delete_hits,
    &counters::incr_misses,
    &counters::incr_hits,
    &counters::decr_misses,
    &counters::decr_hits,
    &counters::cas_misses,
    &counters::cas_hits,
    &counters::cas_badval,
    &counters::touch_hits,
    &counters::touch_misses,
    &counters::store_too_large,
    &counters::store_no_memory,
    &counters::bytes_read,
    &counters::bytes_written,
    &counters::conn_closed_by_protocol};
}  // namespace

bool engine::stats(std::string_view sub, std::string& out) {
    const std::int64_t now = info_.clock();
    const store_counters sc = store_.counters();
    if (sub.empty()) {
        counters sum;
        {
            std::lock_guard lock(threads_mutex_);
            for (const auto& c : threads_) {
                for (const auto f : all_counters)
                    counters::bump(sum.*f, ((*c).*f).load(std::memory_order_relaxed));
            }
        }
        auto v = [](const std::atomic<std::uint64_t>& a) {
            return a.load(std::memory_order_relaxed);
        };
        stat(out, "pid", info_.pid);
        stat(out, "uptime", now - info_.started);
        stat(out, "time", now);
        stat(out, "version", info_.version.c_str());
        stat(out, "pointer_size", std::uint64_t{8 * sizeof(void*)});
        std::uint64_t user = 0, sys = 0;
        if (info_.cpu_time) info_.cpu_time(user, sys);
        stat(out, "rusage_user", static_cast<double>(user) / 1e6);
        stat(out, "rusage_system", static_cast<double>(sys) / 1e6);
        stat(out, "max_connections", std::uint64_t{info_.max_connections});
        // memcached does not count the listening socket's connection here either.
        stat(out, "curr_connections", curr_connections.load(std::memory_order_relaxed));
        stat(out, "total_connections", total_connections.load(std::memory_order_relaxed));
        stat(out, "rejected_connections", rejected_connections.load(std::memory_order_relaxed));
        stat(out, "cmd_get", v(sum.cmd_get));
        stat(out, "cmd_set", v(sum.cmd_set));
        stat(out, "cmd_flush", v(sum.cmd_flush));
        stat(out, "cmd_touch", v(sum.cmd_touch));
        stat(out, "cmd_meta", v(sum.cmd_meta));
        stat(out, "get_hits", v(sum.get_hits));
        stat(out, "get_misses", v(sum.get_misses));
        stat(out, "get_expired", v(sum.get_expired));
        stat(out, "get_flushed", v(sum.get_flushed));
        stat(out, "delete_misses", v(sum.delete_misses));
        stat(out, "delete_hits", v(sum.delete_hits));
        stat(out, "incr_misses", v(sum.incr_misses));
        stat(out, "incr_hits", v(sum.incr_hits));
        stat(out, "decr_misses", v(sum.decr_misses));
        stat(out, "decr_hits", v(sum.decr_hits));
        stat(out, "cas_misses", v(sum.cas_misses));
        stat(out, "cas_hits", v(sum.cas_hits));
        stat(out, "cas_badval", v(sum.cas_badval));
        stat(out, "touch_hits", v(sum.touch_hits));
        stat(out, "touch_misses", v(sum.touch_misses));
        stat(out, "store_too_large", v(sum.store_too_large));
        stat(out, "store_no_memory", v(sum.store_no_memory));
        stat(out, "bytes_read", v(sum.bytes_read));
        stat(out, "bytes_written", v(sum.bytes_written));
        stat(out, "limit_maxbytes", std::uint64_t{cfg_.store.memory_limit});
        stat(out, "threads", std::uint64_t{info_.threads});
        stat(out, "conn_yields", std::uint64_t{0});
        stat(out, "protocol_closes", v(sum.conn_closed_by_protocol));
        stat(out, "bytes", sc.bytes);
        stat(out, "curr_items", sc.curr_items);
        stat(out, "total_items", sc.total_items);
        stat(out, "expired_unfetched", sc.expired_unfetched);
        stat(out, "evicted_unfetched", sc.evicted_unfetched);
        stat(out, "evictions", sc.evictions);
        stat(out, "reclaimed", sc.reclaimed);
        stat(out, "store_shards", std::uint64_t{store_.shard_count()});
        stat(out, "platform", info_.platform.c_str());
        stat(out, "io", info_.io.c_str());
        if (info_.extra_stats) info_.extra_stats(out);
    } else if (sub == "settings") {
        stat(out, "maxbytes", std::uint64_t{cfg_.store.memory_limit});
        stat(out, "maxconns", std::uint64_t{info_.max_connections});
        stat(out, "verbosity", std::uint64_t{verbosity.load(std::memory_order_relaxed)});
        stat(out, "num_threads", std::uint64_t{info_.threads});
        stat(out, "evictions", "on");
        stat(out, "cas_enabled", "yes");
        stat(out, "item_size_max", std::uint64_t{cfg_.store.item_size_max});
        stat(out, "flush_enabled", "yes");
    } else if (sub == "items") {
        if (sc.curr_items != 0) {
            stat(out, "items:1:number", sc.curr_items);
            stat(out, "items:1:evicted", sc.evictions);
            stat(out, "items:1:evicted_unfetched", sc.evicted_unfetched);
            stat(out, "items:1:expired_unfetched", sc.expired_unfetched);
            stat(out, "items:1:reclaimed", sc.reclaimed);
        }
    } else if (sub == "slabs") {
        if (sc.curr_items != 0) {
            stat(out, "1:used_chunks", sc.curr_items);
            stat(out, "1:mem_requested", sc.bytes);
        }
        stat(out, "active_slabs", std::uint64_t{sc.curr_items != 0 ? 1u : 0u});
        stat(out, "total_malloced", sc.bytes);
    } else {
        return false;
    }
    out += "END\r\n";
    return true;
}

}  // namespace airlock::kv
