// SPDX-License-Identifier: Apache-2.0
// The meta commands mg, ms, md, ma, me (mn is answered in engine.cc), with
// memcached 1.6's flags and error lines. Not supported: base64 keys (b),
// stale items and win tokens (I marks nothing, R/W/X/Z are never sent).

#include <cstring>

#include "engine.hh"

namespace airlock::kv {

namespace {
constexpr std::size_t max_meta_tokens = 20;  // memcached's MFLAG_MAX_OPT_LENGTH
constexpr std::size_t max_opaque = 32;       // MFLAG_MAX_OPAQUE_LENGTH

struct meta_flags {
    bool vivify = false, value = false, no_reply = false, has_cas = false, new_ttl = false;
    bool no_update = false;
    char mode = 0;
    std::int64_t exptime = 0;  // absolute
    std::int64_t autoviv_exptime = 0;
    std::uint32_t client_flags = 0;
    std::uint64_t compare = 0;
    std::uint64_t delta = 1;
    std::uint64_t initial = 0;
};

// memcached's _meta_flag_preparse: returns the error line, or null.
const char* preparse(const token_list& t, std::size_t start, meta_flags& of, std::int64_t now) {
    bool seen[127] = {};
    const char* err = nullptr;
    const char* generic = "CLIENT_ERROR bad command line format";
    for (std::size_t i = start; t.word[i].size() != 0; ++i) {
        const auto o = static_cast<unsigned char>(t.word[i][0]);
        if (o >= 127 || seen[o]) return "CLIENT_ERROR duplicate flag";
        seen[o] = true;
        const std::string_view arg = t.word[i].substr(1);
        std::int32_t v = 0;
        switch (o) {
            case 'b':
                err = "CLIENT_ERROR error decoding key";
                break;
            case 'N':
                of.vivify = true;
                if (!parse_i32(arg, v))
                    err = "CLIENT_ERROR bad token in command line format";
                else
                    of.autoviv_exptime = store::absolute_expiry(v, now);
                break;
            case 'T':
                if (!parse_i32(arg, v))
                    err = "CLIENT_ERROR bad token in command line format";
                else {
                    of.exptime = store::absolute_expiry(v, now);
                    of.new_ttl = true;
                }
                break;
            case 'R':
                if (!parse_i32(arg, v)) err = "CLIENT_ERROR bad token in command line format";
                break;
            case 'O':
            case 'P':
            case 'L':
            case 'k':
            case 's':
            case 't':
            case 'c':
            case 'f':
            case 'l':
            case 'h':
            case 'I':
                break;
            case 'v':
                of.value = true;
                break;
            case 'u':
                of.no_update = true;
                break;
            case 'q':
                of.no_reply = true;
                break;
            case 'F':
                if (!parse_u32(arg, of.client_flags)) err = err ? err : generic;
                break;
            case 'C':
                if (!parse_u64(arg, of.compare))
                    err = "CLIENT_ERROR bad token in command line format";
                else
                    of.has_cas = true;
                break;
            case 'M':
                if (t.word[i].size() != 2)
                    err = "CLIENT_ERROR incorrect length for M token";
                else
                    of.mode = t.word[i][1];
                break;
            case 'J':
                if (!parse_u64(arg, of.initial)) err = "CLIENT_ERROR invalid numeric initial value";
                break;
            case 'D':
                if (!parse_u64(arg, of.delta)) err = "CLIENT_ERROR invalid numeric delta value";
                break;
            default:
                return "CLIENT_ERROR invalid flag";
        }
    }
    return err;
}

void append_u64(std::string& out, std::uint64_t v) {
    char buf[24];
    out.append(buf, format_u64(v, buf));
}
void append_i64(std::string& out, std::int64_t v) {
    if (v < 0) {
        out.push_back('-');
        append_u64(out, ~static_cast<std::uint64_t>(v) + 1);
    } else {
        append_u64(out, static_cast<std::uint64_t>(v));
    }
}
void flag(std::string& out, char c) {
    out.push_back(' ');
    out.push_back(c);
}

// Appends the O and k return flags (all a miss or a failure reports).
// Returns false when an opaque is too long.
bool opaque_and_key(const token_list& t, std::size_t start, std::string_view key,
                    std::string& out) {
    for (std::size_t i = start; i + 1 < t.count; ++i) {
        const std::string_view w = t.word[i];
        if (w[0] == 'O') {
            if (w.size() > max_opaque) return false;
            out.push_back(' ');
            out.append(w);
        } else if (w[0] == 'k') {
            flag(out, 'k');
            out.append(key);
        }
    }
    return true;
}
}  // namespace

void connection::meta_get(const token_list& t) {
    if (t.count < 3) return reply("ERROR");
    counters::bump(ctr_.cmd_meta);
    const std::string_view key = t.word[1];
    if (key.size() > max_key_length) return reply_error("CLIENT_ERROR bad command line format");
    if (t.count > max_meta_tokens) return reply_error("CLIENT_ERROR options flags are too long");
    const std::int64_t now = eng_.now();
    meta_flags of;
    if (const char* err = preparse(t, 2, of, now)) return reply_error(err);
    noreply_ = of.no_reply;
    store& st = eng_.store();
    bool created = false;
    std::string line;
    bool opaque_error = false;
    bool value_failed = false;  // the value space failed: no reply with data
    auto emit = [&](const item& it) {
        if (of.value) {
            line = "VA ";
            append_u64(line, it.data_length - 2);
        } else {
            line = "HD";
        }
        for (std::size_t i = 2; i + 1 < t.count; ++i) {
            const std::string_view w = t.word[i];
            switch (w[0]) {
                case 's':
                    flag(line, 's');
                    append_u64(line, it.data_length - 2);
                    break;
                case 't':
                    flag(line, 't');
                    if (it.expires == 0)
                        line += "-1";
                    else
                        append_i64(line, it.expires - now);
                    break;
                case 'c':
                    flag(line, 'c');
                    append_u64(line, it.cas);
                    break;
                case 'f':
                    flag(line, 'f');
                    append_u64(line, it.flags);
                    break;
                case 'l':
                    flag(line, 'l');
                    append_i64(line, now - it.accessed);
                    break;
                case 'h':
                    flag(line, 'h');
                    line.push_back(it.fetched ? '1' : '0');
                    break;
                case 'O':
                    if (w.size() > max_opaque) opaque_error = true;
                    line.push_back(' ');
                    line.append(w);
                    break;
                case 'k':
                    flag(line, 'k');
                    line.append(it.key());
                    break;
                default:
                    break;
            }
        }
        if (created) line += " W";
        line += "\r\n";
        if (of.value && !st.append_value(it, line)) value_failed = true;
        held_.push_back(it.cas);
    };
    lookup r = st.get(key, now, emit, of.new_ttl ? &of.exptime : nullptr, !of.no_update);
    if (r != lookup::hit && of.vivify) {
        // N: create an empty item and hand this client the win token.
        item_ptr fresh = st.allocate(key, 0, of.autoviv_exptime, 0);
        if (fresh && st.put(store_mode::add, fresh, 0, now) == store_result::stored) {
            created = true;
            r = st.get(key, now, emit, of.new_ttl ? &of.exptime : nullptr, false);
        }
    }
    if (opaque_error) return reply_error("CLIENT_ERROR opaque token too long");
    if (value_failed) return reply_error("SERVER_ERROR value storage failed");
    if (r == lookup::hit) {
        counters::bump(ctr_.get_hits);
        out_.append(line);
        return;
    }
    counters::bump(ctr_.get_misses);
    line = "EN";
    if (!opaque_and_key(t, 2, key, line)) return reply_error("CLIENT_ERROR opaque token too long");
    if (noreply_) return;  // q: a miss says nothing
    line += "\r\n";
    out_.append(line);
}

void connection::meta_set(const token_list& t) {
    if (t.count < 3) return reply("ERROR");
    counters::bump(ctr_.cmd_meta);
    const std::string_view key = t.word[1];
    if (key.size() > max_key_length || t.count == 3)
        return reply_error("CLIENT_ERROR bad command line format");
    if (t.count > max_meta_tokens) return reply_error("CLIENT_ERROR options flags too long");
    std::int32_t vlen = 0;
    if (!parse_i32(t.word[2], vlen) || vlen < 0 || vlen > INT32_MAX - 2)
        return reply_error("CLIENT_ERROR bad command line format");
    const std::int64_t now = eng_.now();
    meta_flags of;
    const char* err = preparse(t, 3, of, now);
    auto fail = [&](const char* e) {
        swallow_left_ = static_cast<std::size_t>(vlen) + 2;
        state_ = state::swallow;
        reply_error(e);
    };
    if (err) return fail(err);
    noreply_ = of.no_reply;
    meta_return_.clear();
    for (std::size_t i = 3; i + 1 < t.count; ++i) {
        const std::string_view w = t.word[i];
        if (w[0] == 'O') {
            if (w.size() > max_opaque) err = "CLIENT_ERROR opaque token too long";
            meta_return_.push_back(' ');
            meta_return_.append(w);
        } else if (w[0] == 'k' || w[0] == 'c') {
            meta_return_.push_back(' ');
            meta_return_.push_back(w[0]);
        }
    }
    store_mode mode = store_mode::set;
    switch (of.mode) {
        case 0:
        case 'S':
            break;
        case 'E':
            mode = store_mode::add;
            break;
        case 'A':
            mode = store_mode::append;
            break;
        case 'P':
            mode = store_mode::prepend;
            break;
        case 'R':
            mode = store_mode::replace;
            break;
        default:
            return fail("CLIENT_ERROR invalid mode for ms M token");
    }
    if (of.has_cas && (mode == store_mode::set || mode == store_mode::replace))
        mode = store_mode::cas;
    if (err) return fail(err);
    store& st = eng_.store();
    item_ptr it = st.allocate(key, of.client_flags, of.exptime, static_cast<std::size_t>(vlen));
    if (!it) {
        const bool too_large =
            !st.item_size_ok(key.size(), of.client_flags, static_cast<std::size_t>(vlen));
        counters::bump(too_large ? ctr_.store_too_large : ctr_.store_no_memory);
        (void)st.remove(key, now);
        return fail(too_large ? "SERVER_ERROR object too large for cache"
                              : "SERVER_ERROR out of memory storing object");
    }
    pending_ = std::move(it);
    pending_filled_ = 0;
    pending_mode_ = mode;
    pending_compare_ = of.has_cas ? of.compare : 0;
    pending_meta_ = true;
    state_ = state::value;
}

void connection::finish_meta_set(store_result r, std::uint64_t cas) {
    std::string line;
    switch (r) {
        case store_result::stored:
            if (noreply_) {
                noreply_ = false;
                return;
            }
            line = "HD";
            break;
        case store_result::exists:
            line = "EX";
            break;
        case store_result::not_found:
            line = "NF";
            break;
        case store_result::not_stored:
            line = "NS";
            break;
        case store_result::fault:
            return reply_error("SERVER_ERROR value storage failed");
        default:
            return reply_error("SERVER_ERROR out of memory storing object");
    }
    // meta_return_ holds " O...", " k", " c" in the client's order.
    for (std::size_t i = 0; i < meta_return_.size();) {
        std::size_t end = meta_return_.find(' ', i + 1);
        if (end == std::string::npos) end = meta_return_.size();
        const std::string_view w(meta_return_.data() + i + 1, end - i - 1);
        if (w[0] == 'O') {
            line.push_back(' ');
            line.append(w);
        } else if (w[0] == 'k') {
            flag(line, 'k');
            line.append(pending_key_);
        } else if (w[0] == 'c') {
            flag(line, 'c');
            append_u64(line, cas);
        }
        i = end;
    }
    line += "\r\n";
    out_.append(line);
}

void connection::meta_delete(const token_list& t) {
    if (t.count < 3) return reply("ERROR");
    counters::bump(ctr_.cmd_meta);
    const std::string_view key = t.word[1];
    if (key.size() > max_key_length) return reply("CLIENT_ERROR bad command line format");
    if (t.count > max_meta_tokens) return reply("CLIENT_ERROR options flags too long");
    const std::int64_t now = eng_.now();
    meta_flags of;
    if (preparse(t, 2, of, now)) return reply_error("CLIENT_ERROR invalid or duplicate flag");
    noreply_ = of.no_reply;
    std::string flags;
    if (!opaque_and_key(t, 2, key, flags)) return reply_error("CLIENT_ERROR opaque token too long");
    const store_result r = eng_.store().remove(key, now, of.has_cas ? of.compare : 0);
    std::string line;
    if (r == store_result::stored) {
        counters::bump(ctr_.delete_hits);
        if (noreply_) {
            noreply_ = false;
            return;
        }
        line = "HD";
    } else if (r == store_result::exists) {
        line = "EX";
    } else {
        counters::bump(ctr_.delete_misses);
        line = "NF";
    }
    line += flags;
    line += "\r\n";
    out_.append(line);
}

void connection::meta_arithmetic(const token_list& t) {
    if (t.count < 3) return reply("ERROR");
    counters::bump(ctr_.cmd_meta);
    const std::string_view key = t.word[1];
    if (key.size() > max_key_length) return reply("CLIENT_ERROR bad command line format");
    if (t.count > max_meta_tokens) return reply("CLIENT_ERROR options flags too long");
    const std::int64_t now = eng_.now();
    meta_flags of;
    if (preparse(t, 2, of, now)) return reply_error("CLIENT_ERROR invalid or duplicate flag");
    noreply_ = of.no_reply;
    bool incr = true;
    switch (of.mode) {
        case 0:
        case 'I':
        case '+':
            break;
        case 'D':
        case '-':
            incr = false;
            break;
        default:
            return reply_error("CLIENT_ERROR invalid mode for ma M token");
    }
    store& st = eng_.store();
    char buf[24];
    std::size_t len = 0;
    std::uint64_t cas = 0;
    const delta_result r =
        st.delta(key, incr, of.delta, now, buf, &len, &cas, of.has_cas ? of.compare : 0, of.vivify,
                 of.initial, of.vivify ? of.autoviv_exptime : 0, nullptr, held_);
    std::string line;
    switch (r) {
        case delta_result::ok:
            break;
        case delta_result::non_numeric:
            return reply_error("CLIENT_ERROR cannot increment or decrement non-numeric value");
        case delta_result::no_memory:
            return reply_error("SERVER_ERROR out of memory");
        case delta_result::fault:
            return reply_error("SERVER_ERROR value storage failed");
        case delta_result::not_found:
            counters::bump(incr ? ctr_.incr_misses : ctr_.decr_misses);
            line = "NF";
            break;
        case delta_result::exists:
            line = "EX";
            break;
    }
    if (r != delta_result::ok) {
        if (!opaque_and_key(t, 2, key, line))
            return reply_error("CLIENT_ERROR opaque token too long");
        line += "\r\n";
        out_.append(line);
        return;
    }
    counters::bump(incr ? ctr_.incr_hits : ctr_.decr_hits);
    std::int64_t expires = 0;
    (void)st.get(
        key, now, [&](const item& it) { expires = it.expires; }, of.new_ttl ? &of.exptime : nullptr,
        false);
    if (of.value) {
        line = "VA ";
        append_u64(line, len);
    } else {
        line = "HD";
    }
    for (std::size_t i = 2; i + 1 < t.count; ++i) {
        const std::string_view w = t.word[i];
        switch (w[0]) {
            case 'c':
                flag(line, 'c');
                append_u64(line, cas);
                break;
            case 't':
                flag(line, 't');
                if (expires == 0)
                    line += "-1";
                else
                    append_i64(line, expires - now);
                break;
            case 'O':
                if (w.size() > max_opaque) return reply_error("CLIENT_ERROR opaque token too long");
                line.push_back(' ');
                line.append(w);
                break;
            case 'k':
                flag(line, 'k');
                line.append(key);
                break;
            default:
                break;
        }
    }
    if (noreply_) {
        noreply_ = false;
        return;
    }
    if (of.value) {
        line += "\r\n";
        line.append(buf, len);
    }
    line += "\r\n";
    out_.append(line);
}

void connection::meta_debug(const token_list& t) {
    counters::bump(ctr_.cmd_meta);
    if (t.count < 3 || t.word[1].size() > max_key_length)
        return reply("CLIENT_ERROR bad command line format");
    const std::int64_t now = eng_.now();
    std::string line;
    const lookup r = eng_.store().get(
        t.word[1], now,
        [&](const item& it) {
            line = "ME ";
            line.append(it.key());
            line += " exp=";
            // memcached prints now - expiry here (negative while live).
            if (it.expires == 0)
                line += "-1";
            else
                append_i64(line, now - it.expires);
            line += " la=";
            append_i64(line, now - it.accessed);
            line += " cas=";
            append_u64(line, it.cas);
            line += it.fetched ? " fetch=yes" : " fetch=no";
            line += " cls=1 size=";
            append_u64(line, 48 + 8 + it.key_length + 1 + (it.flags != 0 ? 4 : 0) + it.data_length);
            line += "\r\n";
        },
        nullptr, false);
    if (r != lookup::hit) return reply("EN");
    out_.append(line);
}

}  // namespace airlock::kv
