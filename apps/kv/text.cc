// SPDX-License-Identifier: Apache-2.0
// The lexical rules of memcached's text protocol (text.hh).

#include "text.hh"

#include <climits>

namespace airlock::kv {

void tokenize(std::string_view line, token_list& out, std::size_t limit) noexcept {
    if (limit > max_tokens) limit = max_tokens;
    const std::size_t nul = line.find('\0');
    if (nul != std::string_view::npos) line = line.substr(0, nul);
    out.count = 0;
    out.has_rest = false;
    out.rest = {};
    std::size_t s = 0;
    std::size_t e = 0;
    for (; e < line.size(); ++e) {
        if (line[e] != ' ') continue;
        if (s != e) {
            out.word[out.count++] = line.substr(s, e - s);
            if (out.count == limit - 1) {
                s = e + 1;
                e = s;
                break;
            }
        }
        s = e + 1;
    }
    if (out.count < limit - 1 && s < line.size()) {
        out.word[out.count++] = line.substr(s);
        e = line.size();
    }
    // The terminal word: empty, and marks whether anything was left unsplit.
    if (e < line.size()) {
        out.has_rest = true;
        out.rest = line.substr(e);
    }
    out.word[out.count++] = std::string_view{};
}

namespace {

// strtoull/strtol's grammar: white space, an optional sign, decimal digits.
// Returns the magnitude (saturated flag on overflow), the sign and where it
// stopped; `digits` false when there were none (endptr == str).
struct scanned {
    std::uint64_t magnitude = 0;
    bool negative = false;
    bool overflow = false;
    bool digits = false;
    std::size_t end = 0;
};

scanned scan(std::string_view s) noexcept {
    scanned r;
    std::size_t i = 0;
    while (i < s.size() && is_space(s[i]))
        ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        r.negative = s[i] == '-';
        ++i;
    }
    const std::size_t first = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        const auto d = static_cast<std::uint64_t>(s[i] - '0');
        if (r.magnitude > (UINT64_MAX - d) / 10) r.overflow = true;
        r.magnitude = r.magnitude * 10 + d;
        ++i;
    }
    r.digits = i > first;
    r.end = r.digits ? i : 0;
    return r;
}

bool ends_well(std::string_view s, const scanned& r) noexcept {
    return r.digits && (r.end == s.size() || is_space(s[r.end]));
}

}  // namespace

bool parse_u64(std::string_view s, std::uint64_t& out) noexcept {
    out = 0;
    const scanned r = scan(s);
    if (r.overflow || !r.digits || !ends_well(s, r)) return false;
    const std::uint64_t v = r.negative ? (~r.magnitude + 1) : r.magnitude;
    if (static_cast<std::int64_t>(v) < 0 && r.negative) return false;
    out = v;
    return true;
}

bool parse_u32(std::string_view s, std::uint32_t& out) noexcept {
    std::uint64_t v = 0;
    out = 0;
    if (!parse_u64(s, v)) return false;
    out = static_cast<std::uint32_t>(v);
    return true;
}

bool parse_i32(std::string_view s, std::int32_t& out) noexcept {
    out = 0;
    const scanned r = scan(s);
    if (!r.digits) return false;
    // strtol saturates and sets ERANGE beyond the int64 range.
    if (r.negative ? r.magnitude > (std::uint64_t{1} << 63) : r.magnitude > INT64_MAX) return false;
    if (r.overflow) return false;
    const std::int64_t v = r.negative ? static_cast<std::int64_t>(~r.magnitude + 1)
                                      : static_cast<std::int64_t>(r.magnitude);
    if (!ends_well(s, r)) return false;
    out = static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint64_t>(v)));
    return true;
}

std::uint64_t parse_u64_lenient(std::string_view s) noexcept {
    const scanned r = scan(s);
    if (!r.digits) return 0;
    if (r.overflow) return UINT64_MAX;
    return r.negative ? ~r.magnitude + 1 : r.magnitude;
}

std::size_t format_u64(std::uint64_t v, char* buf) noexcept {
    char tmp[20];
    std::size_t n = 0;
    do {
        tmp[n++] = static_cast<char>('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (std::size_t i = 0; i < n; ++i)
        buf[i] = tmp[n - 1 - i];
    return n;
}

}  // namespace airlock::kv
