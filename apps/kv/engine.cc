// SPDX-License-Identifier: Apache-2.0
// memcached's text protocol over a byte buffer (engine.hh): line framing,
// the classic commands and stats. The meta commands are in meta.cc.

#include "engine.hh"

#include <algorithm>
#include <cstring>

namespace airlock::kv {

namespace {
// memcached closes a connection whose line has no '\n' after this many bytes
// (unless it is a get/gets line).
constexpr std::size_t max_plain_line = 2048;

bool eq(std::string_view a, const char* b) noexcept {
    return a == std::string_view(b);
}

void append_u64(std::string& out, std::uint64_t v) {
    char buf[24];
    out.append(buf, format_u64(v, buf));
}
}  // namespace

engine::engine(const engine_config& cfg, server_info info)
    : cfg_(cfg), info_(std::move(info)), store_(cfg.store) {}

counters& engine::register_thread() {
    std::lock_guard lock(threads_mutex_);
    threads_.push_back(std::make_unique<counters>());
    return *threads_.back();
}

connection::connection(engine& e, counters& c) : eng_(e), ctr_(c) {
    eng_.curr_connections.fetch_add(1, std::memory_order_relaxed);  // a statistic only
    eng_.total_connections.fetch_add(1, std::memory_order_relaxed);
}

connection::~connection() {
    eng_.curr_connections.fetch_sub(1, std::memory_order_relaxed);
}

void connection::consumed(std::size_t n) noexcept {
    out_pos_ += std::min(n, out_.size() - out_pos_);
    counters::bump(ctr_.bytes_written, n);
    if (out_pos_ == out_.size()) {
        out_.clear();
        out_pos_ = 0;
        held_.clear();
    }
}

void connection::receive(std::string_view in) {
    if (close_now_) return;
    counters::bump(ctr_.bytes_read, in.size());
    if (in_pos_ == in_.size()) {
        in_.clear();
        in_pos_ = 0;
    }
    in_.append(in);
    run();
}

void connection::reply(std::string_view s) {
    if (noreply_) {
        noreply_ = false;
        return;
    }
    out_.append(s);
    out_.append("\r\n", 2);
}

void connection::set_noreply_maybe(const token_list& t) noexcept {
    if (t.count >= 2 && eq(t.word[t.count - 2], "noreply")) noreply_ = true;
}

void connection::run() {
    while (!close_now_ && !close_after_write_) {
        const std::size_t avail = in_.size() - in_pos_;
        if (state_ == state::value) {
            const std::size_t want = pending_->data_length - pending_filled_;
            const std::size_t n = std::min(want, avail);
            std::memcpy(pending_->value_data() + pending_filled_, in_.data() + in_pos_, n);
            pending_filled_ += n;
            in_pos_ += n;
            if (pending_filled_ < pending_->data_length) break;
            state_ = state::command;
            finish_value();
            continue;
        }
        if (state_ == state::swallow) {
            const std::size_t n = std::min(swallow_left_, avail);
            swallow_left_ -= n;
            in_pos_ += n;
            if (swallow_left_ != 0) break;
            state_ = state::command;
            continue;
        }
        if (avail == 0) break;
        if (output().size() >= eng_.config().output_limit) break;  // back-pressure
        const char* start = in_.data() + in_pos_;
        const void* nl = std::memchr(start, '\n', avail);
        if (nl == nullptr) {
            if (avail > max_plain_line) {
                std::size_t sp = 0;
                while (sp < avail && start[sp] == ' ')
                    ++sp;
                const std::string_view rest(start + sp, avail - sp);
                const bool multiget =
                    sp <= 100 && (rest.starts_with("get ") || rest.starts_with("gets "));
                if (!multiget || avail > eng_.config().max_get_line) {
                    counters::bump(ctr_.conn_closed_by_protocol);
                    close_now_ = true;
                }
            }
            break;
        }
        std::size_t len = static_cast<std::size_t>(static_cast<const char*>(nl) - start);
        in_pos_ += len + 1;
        if (len > 1 && start[len - 1] == '\r') --len;
        noreply_ = false;
        process_line(std::string_view(start, len));
    }
    if (in_pos_ == in_.size()) {
        in_.clear();
        in_pos_ = 0;
    } else if (in_pos_ > 65536 && in_pos_ * 2 > in_.size()) {
        in_.erase(0, in_pos_);  // keep the buffer from growing with what was used
        in_pos_ = 0;
    }
}

void connection::process_line(std::string_view line) {
    token_list t;
    tokenize(line, t);
    const std::size_t n = t.count;
    const std::string_view cmd = t.word[0];
    if (n < 2 || cmd.size() < 2) return reply("ERROR");
    if (cmd[0] == 'm' && cmd.size() == 2) {
        switch (cmd[1]) {
            case 'g':
                return meta_get(t);
            case 's':
                return meta_set(t);
            case 'd':
                return meta_delete(t);
            case 'n':
                held_.clear();  // mn makes memcached write its replies out
                return reply("MN");
            case 'a':
                return meta_arithmetic(t);
            case 'e':
                return meta_debug(t);
            default:
                return reply("ERROR");
        }
    }
    auto want_or = [&](std::size_t a, std::size_t b) {
        if (n != a && n != b) {
            reply("ERROR");
            return false;
        }
        return true;
    };
    if (cmd[0] == 'g') {
        if (n < 3) return reply("ERROR");
        if (eq(cmd, "get")) return cmd_get(t, false, false, line);
        if (eq(cmd, "gets")) return cmd_get(t, true, false, line);
        if (eq(cmd, "gat")) return cmd_get(t, false, true, line);
        if (eq(cmd, "gats")) return cmd_get(t, true, true, line);
        return reply("ERROR");
    }
    if (eq(cmd, "set")) return want_or(6, 7) ? cmd_update(t, store_mode::set, false) : void();
    if (eq(cmd, "stats")) return cmd_stats(t);
    if (eq(cmd, "add")) return want_or(6, 7) ? cmd_update(t, store_mode::add, false) : void();
    if (eq(cmd, "append")) return want_or(6, 7) ? cmd_update(t, store_mode::append, false) : void();
    if (eq(cmd, "cas")) return want_or(7, 8) ? cmd_update(t, store_mode::cas, true) : void();
    if (eq(cmd, "incr")) return want_or(4, 5) ? cmd_delta(t, true) : void();
    if (eq(cmd, "decr")) return want_or(4, 5) ? cmd_delta(t, false) : void();
    if (eq(cmd, "delete")) {
        if (n < 3 || n > 5) return reply("ERROR");
        return cmd_delete(t);
    }
    if (eq(cmd, "touch")) return want_or(4, 5) ? cmd_touch(t) : void();
    if (eq(cmd, "replace"))
        return want_or(6, 7) ? cmd_update(t, store_mode::replace, false) : void();
    if (eq(cmd, "prepend"))
        return want_or(6, 7) ? cmd_update(t, store_mode::prepend, false) : void();
    if (eq(cmd, "bget")) return cmd_get(t, false, false, line);
    if (eq(cmd, "flush_all")) {
        if (n < 2 || n > 4) return reply("ERROR");
        return cmd_flush_all(t);
    }
    if (eq(cmd, "version")) {
        std::string v = "VERSION ";
        v += eng_.info().version;
        return reply(v);
    }
    if (eq(cmd, "quit")) {
        close_after_write_ = true;
        return;
    }
    if (eq(cmd, "verbosity")) return want_or(3, 4) ? cmd_verbosity(t) : void();
    if (n >= 2 && t.word[n - 2].starts_with("HTTP/")) {
        counters::bump(ctr_.conn_closed_by_protocol);
        close_now_ = true;
        return;
    }
    reply("ERROR");
}

void connection::cmd_get(token_list& t, bool cas, bool touch, std::string_view line) {
    const std::int64_t now = eng_.now();
    std::int64_t touch_at = 0;
    std::size_t k = 1;
    if (touch) {
        std::int32_t exptime = 0;
        if (!parse_i32(t.word[1], exptime)) return reply("CLIENT_ERROR invalid exptime argument");
        touch_at = store::absolute_expiry(exptime, now);
        k = 2;
    }
    (void)line;
    const std::size_t mark = out_.size();
    bool value_failed = false;
    for (;;) {
        for (; t.word[k].size() != 0; ++k) {
            const std::string_view key = t.word[k];
            if (key.size() > max_key_length) {
                out_.resize(mark);  // memcached culls the replies of this command
                return reply("CLIENT_ERROR bad command line format");
            }
            const lookup r = eng_.store().get(
                key, now,
                [&](const item& it) {
                    out_.append("VALUE ", 6);
                    out_.append(it.key());
                    out_.push_back(' ');
                    append_u64(out_, it.flags);
                    out_.push_back(' ');
                    append_u64(out_, it.data_length - 2);
                    if (cas) {
                        out_.push_back(' ');
                        append_u64(out_, it.cas);
                    }
                    out_.append("\r\n", 2);
                    if (!eng_.store().append_value(it, out_)) value_failed = true;
                },
                touch ? &touch_at : nullptr);
            if (touch) {
                counters::bump(ctr_.cmd_touch);
                counters::bump(r == lookup::hit ? ctr_.touch_hits : ctr_.touch_misses);
            } else {
                counters::bump(ctr_.cmd_get);
                counters::bump(r == lookup::hit ? ctr_.get_hits : ctr_.get_misses);
                if (r == lookup::expired) counters::bump(ctr_.get_expired);
                if (r == lookup::flushed) counters::bump(ctr_.get_flushed);
            }
            if (value_failed) {
                // The value space failed (its backing store was changed):
                // nothing of this command's replies goes out.
                out_.resize(mark);
                return reply("SERVER_ERROR value storage failed");
            }
        }
        if (!t.has_rest) break;
        const std::string_view rest = t.rest;
        tokenize(rest, t);
        k = 0;
    }
    out_.append("END\r\n", 5);
    // memcached writes its replies out after every get, releasing the items
    // they held (which decides whether incr/decr works in place).
    held_.clear();
}

void connection::cmd_update(const token_list& t, store_mode mode, bool cas) {
    set_noreply_maybe(t);
    const std::string_view key = t.word[1];
    if (key.size() > max_key_length) return reply("CLIENT_ERROR bad command line format");
    std::uint32_t flags = 0;
    std::int32_t exptime = 0;
    std::int32_t vlen = 0;
    if (!(parse_u32(t.word[2], flags) && parse_i32(t.word[3], exptime) &&
          parse_i32(t.word[4], vlen)))
        return reply("CLIENT_ERROR bad command line format");
    std::uint64_t compare = 0;
    if (cas && !parse_u64(t.word[5], compare)) return reply("CLIENT_ERROR bad command line format");
    if (vlen < 0 || vlen > INT32_MAX - 2) return reply("CLIENT_ERROR bad command line format");
    const std::int64_t now = eng_.now();
    store& st = eng_.store();
    item_ptr it = st.allocate(key, flags, store::absolute_expiry(exptime, now),
                              static_cast<std::size_t>(vlen));
    if (!it) {
        if (!st.item_size_ok(key.size(), flags, static_cast<std::size_t>(vlen))) {
            counters::bump(ctr_.store_too_large);
            reply("SERVER_ERROR object too large for cache");
        } else {
            counters::bump(ctr_.store_no_memory);
            reply("SERVER_ERROR out of memory storing object");
        }
        state_ = state::swallow;
        swallow_left_ = static_cast<std::size_t>(vlen) + 2;
        // A failed set must not leave the old value readable.
        if (mode == store_mode::set) (void)st.remove(key, now);
        return;
    }
    pending_ = std::move(it);
    pending_filled_ = 0;
    pending_mode_ = mode;
    pending_compare_ = compare;
    pending_meta_ = false;
    state_ = state::value;
}

void connection::finish_value() {
    item_ptr it = std::move(pending_);
    const std::string_view v = it->value_crlf();
    const bool valid = v[v.size() - 2] == '\r' && v[v.size() - 1] == '\n';
    counters::bump(ctr_.cmd_set);
    if (!valid) {
        if (pending_meta_) noreply_ = false;
        return reply("CLIENT_ERROR bad data chunk");
    }
    std::uint64_t cas = 0;
    if (pending_meta_) pending_key_.assign(it->key());
    const store_result r = eng_.store().put(pending_mode_, it, pending_compare_, eng_.now(), &cas);
    if (pending_mode_ == store_mode::cas) {
        if (r == store_result::stored)
            counters::bump(ctr_.cas_hits);
        else if (r == store_result::exists)
            counters::bump(ctr_.cas_badval);
        else if (r == store_result::not_found)
            counters::bump(ctr_.cas_misses);
    }
    if (pending_meta_) return finish_meta_set(r, cas);
    switch (r) {
        case store_result::stored:
            return reply("STORED");
        case store_result::exists:
            return reply("EXISTS");
        case store_result::not_found:
            return reply("NOT_FOUND");
        case store_result::not_stored:
            return reply("NOT_STORED");
        case store_result::too_large:
            return reply("SERVER_ERROR object too large for cache");
        case store_result::no_memory:
            return reply("SERVER_ERROR out of memory storing object");
        case store_result::fault:
            return reply("SERVER_ERROR value storage failed");
    }
}

void connection::cmd_touch(const token_list& t) {
    set_noreply_maybe(t);
    const std::string_view key = t.word[1];
    if (key.size() > max_key_length) return reply("CLIENT_ERROR bad command line format");
    std::int32_t exptime = 0;
    if (!parse_i32(t.word[2], exptime)) return reply("CLIENT_ERROR invalid exptime argument");
    const std::int64_t now = eng_.now();
    const std::int64_t at = store::absolute_expiry(exptime, now);
    const lookup r = eng_.store().get(
        key, now, [](const item&) {}, &at);
    counters::bump(ctr_.cmd_touch);
    if (r == lookup::hit) {
        counters::bump(ctr_.touch_hits);
        return reply("TOUCHED");
    }
    counters::bump(ctr_.touch_misses);
    reply("NOT_FOUND");
}

void connection::cmd_delta(const token_list& t, bool incr) {
    set_noreply_maybe(t);
    const std::string_view key = t.word[1];
    if (key.size() > max_key_length) return reply("CLIENT_ERROR bad command line format");
    std::uint64_t by = 0;
    if (!parse_u64(t.word[2], by)) return reply("CLIENT_ERROR invalid numeric delta argument");
    char buf[24];
    std::size_t len = 0;
    switch (eng_.store().delta(key, incr, by, eng_.now(), buf, &len, nullptr, 0, false, 0, 0,
                               nullptr, held_)) {
        case delta_result::ok:
            counters::bump(incr ? ctr_.incr_hits : ctr_.decr_hits);
            return reply(std::string_view(buf, len));
        case delta_result::non_numeric:
            return reply("CLIENT_ERROR cannot increment or decrement non-numeric value");
        case delta_result::no_memory:
            return reply("SERVER_ERROR out of memory");
        case delta_result::fault:
            return reply("SERVER_ERROR value storage failed");
        case delta_result::not_found:
        case delta_result::exists:
            counters::bump(incr ? ctr_.incr_misses : ctr_.decr_misses);
            return reply("NOT_FOUND");
    }
}

void connection::cmd_delete(const token_list& t) {
    const std::size_t n = t.count;
    if (n > 3) {
        const bool hold_is_zero = eq(t.word[2], "0");
        set_noreply_maybe(t);
        const bool valid =
            (n == 4 && (hold_is_zero || noreply_)) || (n == 5 && hold_is_zero && noreply_);
        if (!valid)
            return reply("CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]");
    }
    const std::string_view key = t.word[1];
    if (key.size() > max_key_length) return reply("CLIENT_ERROR bad command line format");
    if (eng_.store().remove(key, eng_.now()) == store_result::stored) {
        counters::bump(ctr_.delete_hits);
        return reply("DELETED");
    }
    counters::bump(ctr_.delete_misses);
    reply("NOT_FOUND");
}

void connection::cmd_flush_all(const token_list& t) {
    set_noreply_maybe(t);
    counters::bump(ctr_.cmd_flush);
    std::int32_t delay = 0;
    if (t.count != (noreply_ ? 3u : 2u)) {
        if (!parse_i32(t.word[1], delay)) return reply("CLIENT_ERROR invalid exptime argument");
    }
    eng_.store().flush(eng_.now(), delay);
    reply("OK");
}

void connection::cmd_verbosity(const token_list& t) {
    set_noreply_maybe(t);
    std::uint32_t level = 0;
    if (!parse_u32(t.word[1], level)) return reply("CLIENT_ERROR bad command line format");
    eng_.verbosity.store(level > 2 ? 2 : level, std::memory_order_relaxed);  // a setting only
    reply("OK");
}

void connection::cmd_stats(const token_list& t) {
    const std::string_view sub = t.count == 2 ? std::string_view{} : t.word[1];
    if (!eng_.stats(sub, out_)) {
        // memcached answers an unknown "stats <x>" through get_stats: not found.
        reply("ERROR");
    }
}

}  // namespace airlock::kv
