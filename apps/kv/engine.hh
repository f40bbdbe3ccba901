// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/kv/engine.hh: memcached's text protocol as bytes in, bytes out.
//
// `engine` is what all connections of one server share: the store, the
// settings, the clock and the counters. `connection` is one client: the
// front hands it the bytes it received (`receive`) and sends what it
// produced (`output`, then `consumed`); it never touches a socket, a clock
// or any other system service, so the same code runs in the native front
// and inside an enclave. Work per call is bounded: a connection stops
// taking commands while more than `output_limit` bytes of replies wait to
// be sent (the front calls `resume` after draining), keeps at most one
// command line (2048 bytes, or a long get line up to `max_get_line`) plus
// one value in memory, and closes on a line memcached would close on.
//
// Thread contract: an engine may be shared by any number of threads; a
// connection belongs to one thread at a time. `counters` are written only
// by their own thread and read by `stats` from any thread (relaxed atomics).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store.hh"
#include "text.hh"

namespace airlock::kv {

// Per-thread command counters; one writer, readers sum them (relaxed).
struct counters {
    std::atomic<std::uint64_t> cmd_get{0}, cmd_set{0}, cmd_flush{0}, cmd_touch{0}, cmd_meta{0},
        get_hits{0}, get_misses{0}, get_expired{0}, get_flushed{0}, delete_misses{0},
        delete_hits{0}, incr_misses{0}, incr_hits{0}, decr_misses{0}, decr_hits{0}, cas_misses{0},
        cas_hits{0}, cas_badval{0}, touch_hits{0}, touch_misses{0}, store_too_large{0},
        store_no_memory{0}, bytes_read{0}, bytes_written{0}, conn_closed_by_protocol{0};
    // Single writer: a relaxed load and store is enough and avoids a locked add.
    static void bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
};

// What the front knows and the engine may not ask the system for.
struct server_info {
    std::string version = "1.6.18";  // the memcached protocol version spoken
    std::uint64_t pid = 0;
    std::int64_t started = 0;  // Unix seconds
    std::uint32_t threads = 1;
    std::uint32_t max_connections = 1024;
    std::string platform = "native";
    std::string io = "native";
    // Unix seconds now; required.
    std::function<std::int64_t()> clock;
    // Process CPU time in microseconds (user, system); optional.
    std::function<void(std::uint64_t&, std::uint64_t&)> cpu_time;
    // Extra "STAT name value" lines (the enclave boundary's counters); optional.
    std::function<void(std::string&)> extra_stats;
};

struct engine_config {
    store_config store;
    std::size_t output_limit = 256u << 10;  // stop taking commands above this
    std::size_t max_get_line = 1u << 20;    // longest get/gets line kept
};

class engine {
  public:
    engine(const engine_config& cfg, server_info info);
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    [[nodiscard]] kv::store& store() noexcept { return store_; }
    [[nodiscard]] const engine_config& config() const noexcept { return cfg_; }
    [[nodiscard]] const server_info& info() const noexcept { return info_; }
    [[nodiscard]] std::int64_t now() const { return info_.clock(); }

    // A counter block for one thread (lives as long as the engine).
    [[nodiscard]] counters& register_thread();

    std::atomic<std::uint64_t> curr_connections{0};
    std::atomic<std::uint64_t> total_connections{0};
    std::atomic<std::uint64_t> rejected_connections{0};
    std::atomic<std::uint32_t> verbosity{0};

    // Appends the reply of "stats" / "stats <sub>"; false if unknown.
    bool stats(std::string_view sub, std::string& out);

  private:
    engine_config cfg_;
    server_info info_;
    kv::store store_;
    std::mutex threads_mutex_;  // registration only, never on the command path
    std::vector<std::unique_ptr<counters>> threads_;
};

class connection {
  public:
    connection(engine& e, counters& c);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Takes `in` (all of it) and runs every complete command it can.
    void receive(std::string_view in);
    // Runs buffered commands after output was drained below the limit.
    void resume() { run(); }

    // Bytes ready to send; call `consumed(n)` after sending n of them.
    [[nodiscard]] std::string_view output() const noexcept {
        return std::string_view(out_).substr(out_pos_);
    }
    void consumed(std::size_t n) noexcept;

    // The connection is to be closed once `output()` is sent (quit), or at
    // once (`closing_now`: a line memcached closes on).
    [[nodiscard]] bool closing() const noexcept { return close_after_write_ || close_now_; }
    [[nodiscard]] bool closing_now() const noexcept { return close_now_; }
    // False while replies above the limit wait: the front should stop reading.
    [[nodiscard]] bool wants_input() const noexcept {
        return !closing() && output().size() < eng_.config().output_limit;
    }
    // Commands are buffered that `resume` would run.
    [[nodiscard]] bool has_pending_input() const noexcept { return in_.size() > in_pos_; }

  private:
    enum class state { command, value, swallow };

    void run();
    void process_line(std::string_view line);
    void reply(std::string_view s);
    void reply_error(std::string_view s) {
        noreply_ = false;
        reply(s);
    }
    void set_noreply_maybe(const token_list& t) noexcept;

    void cmd_get(token_list& t, bool cas, bool touch, std::string_view line);
    void cmd_update(const token_list& t, store_mode mode, bool cas);
    void cmd_touch(const token_list& t);
    void cmd_delta(const token_list& t, bool incr);
    void cmd_delete(const token_list& t);
    void cmd_flush_all(const token_list& t);
    void cmd_verbosity(const token_list& t);
    void cmd_stats(const token_list& t);
    void finish_value();
    void finish_meta_set(store_result r, std::uint64_t cas);

    void meta_get(const token_list& t);
    void meta_set(const token_list& t);
    void meta_delete(const token_list& t);
    void meta_arithmetic(const token_list& t);
    void meta_debug(const token_list& t);

    engine& eng_;
    counters& ctr_;
    std::string in_;
    std::size_t in_pos_ = 0;
    std::string out_;
    std::size_t out_pos_ = 0;
    state state_ = state::command;
    bool noreply_ = false;
    bool close_after_write_ = false;
    bool close_now_ = false;
    // The value being read for a storage command.
    item_ptr pending_;
    std::size_t pending_filled_ = 0;
    store_mode pending_mode_ = store_mode::set;
    std::uint64_t pending_compare_ = 0;
    bool pending_meta_ = false;
    std::string meta_return_;  // ms: the return flags (O, k, c) in order
    std::string pending_key_;  // ms: the key, for the k return flag
    std::size_t swallow_left_ = 0;
    // CAS values of the items that memcached's unsent replies would still
    // hold (mg hits since the last flush point; see store::delta).
    std::vector<std::uint64_t> held_;
};

}  // namespace airlock::kv
