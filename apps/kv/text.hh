// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/kv/text.hh: the lexical rules of memcached's text protocol.
//
// `tokenize` splits a command line the way memcached 1.6 does (on spaces
// only, at most `max_tokens` - 1 words, the rest of the line left in the
// last word's tail), and the `parse_*` functions accept exactly the numbers
// memcached's safe_strto* helpers accept (leading white space, a sign, a
// following white space or end; out-of-range is a failure), so the same
// bad input gets the same error line. Pure functions over caller memory: no
// allocation, no system call.
//
// Thread contract: pure functions; any thread.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace airlock::kv {

// Longest key memcached accepts in the text protocol.
inline constexpr std::size_t max_key_length = 250;
// memcached's MAX_TOKENS: a command line is split into at most 24 words,
// the last one being the terminal word (empty, or the unsplit rest).
inline constexpr std::size_t max_tokens = 24;

// `token_list` holds the words of one command line. `count` includes the
// terminal word, as memcached's `ntokens` does; `rest` is the unsplit tail
// when the line had more words than fit (empty otherwise).
struct token_list {
    std::string_view word[max_tokens];
    std::size_t count = 0;
    std::string_view rest;
    bool has_rest = false;
};

// Splits `line` (without its line ending; cut at the first NUL byte as
// memcached's strlen does) into at most `limit` - 1 words plus a terminal.
void tokenize(std::string_view line, token_list& out, std::size_t limit = max_tokens) noexcept;

// C isspace in the "C" locale.
[[nodiscard]] constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// memcached's safe_strtoull: strtoull, then the next byte must be white
// space or the end; "-" numbers that wrap to a negative int64 are refused.
[[nodiscard]] bool parse_u64(std::string_view s, std::uint64_t& out) noexcept;
// memcached's safe_strtoul on LP64 (a 64-bit strtoul truncated to 32 bits).
[[nodiscard]] bool parse_u32(std::string_view s, std::uint32_t& out) noexcept;
// memcached's safe_strtol: a 64-bit strtol truncated to 32 bits (so
// 3000000000 reads as a negative number, as it does in memcached 1.6.18).
[[nodiscard]] bool parse_i32(std::string_view s, std::int32_t& out) noexcept;
// strtoul(s, NULL, 10) clamped to 32 bits, for `verbosity` (never fails).
[[nodiscard]] std::uint64_t parse_u64_lenient(std::string_view s) noexcept;

// Decimal text of `v` into `buf` (at least 20 bytes); returns its length.
std::size_t format_u64(std::uint64_t v, char* buf) noexcept;

}  // namespace airlock::kv
