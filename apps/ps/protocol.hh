// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/ps/protocol.hh: the parameter server's wire protocol.
//
// Every message is a frame of little-endian fields:
//   u32 length   bytes after this field (so a frame is 4 + length bytes)
//   u16 op       pull = 1, push = 2, stats = 3
//   u16 status   requests: 0 (reserved); replies: 0 or an airlock::errc value
//                (an error reply has no payload; its op is 0 when the server
//                could not read the request's op: a length too short or long)
//   u32 count    ids in the request (a reply repeats it; on ps_unknown_id it
//                is the index of the first unknown id)
//   payload      pull request: count x u64 id
//                push request: count x (u64 id, dimension x f32 gradient)
//                pull reply:   count x dimension x f32 (in request order)
//                push reply:   nothing
//                stats reply:  u64 requests, u64 ids, u64 errors, u64 trusted_ns
// A count of 1 is the single form of pull and push, a larger count the
// batched form; at most the server's `max_batch` ids per request. Replies
// come in request order on each connection.
//
// Thread contract: pure functions over caller-owned buffers; any thread.
// No system calls (the enclave side encodes and decodes with these).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "airlock/base/error.hh"
#include "airlock/base/expected.hh"

namespace airlock::ps {

enum class op : std::uint16_t { pull = 1, push = 2, stats = 3 };

// The fixed part of every frame: length, op, status, count.
inline constexpr std::size_t header_bytes = 12;
// Bytes of a push payload per id: the id and its gradient.
[[nodiscard]] constexpr std::size_t push_entry_bytes(std::uint32_t dimension) noexcept {
    return 8 + std::size_t{4} * dimension;
}
// The largest frame a server with these limits accepts or sends.
[[nodiscard]] constexpr std::size_t max_frame_bytes(std::uint32_t dimension,
                                                    std::uint32_t max_batch) noexcept {
    return header_bytes + std::size_t{max_batch} * push_entry_bytes(dimension);
}

// A frame's header, decoded into private memory.
struct frame_header {
    std::uint32_t length = 0;  // bytes after the length field
    std::uint16_t op = 0;
    std::uint16_t status = 0;
    std::uint32_t count = 0;
    [[nodiscard]] std::size_t frame_bytes() const noexcept { return 4 + std::size_t{length}; }
};

// The stats reply: counters of the data requests (pull and push) served.
struct server_stats {
    std::uint64_t requests = 0;    // pull and push requests answered ok
    std::uint64_t ids = 0;         // ids those requests carried
    std::uint64_t errors = 0;      // requests answered with an error
    std::uint64_t trusted_ns = 0;  // time the server thread spent serving (not waiting)
};

namespace detail {
template <class T>
void put(std::vector<std::byte>& out, T v) {
    const std::size_t at = out.size();
    out.resize(at + sizeof v);
    std::memcpy(out.data() + at, &v, sizeof v);
}
template <class T>
[[nodiscard]] T get(const std::byte* p) noexcept {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
}  // namespace detail

// Appends a header with the given fields; `length` counts the payload too.
void put_header(std::vector<std::byte>& out, op o, std::uint16_t status, std::uint32_t count,
                std::size_t payload_bytes);

// Reads the header at the start of `bytes`; nullopt if fewer than
// header_bytes are there. Checks nothing else.
[[nodiscard]] std::optional<frame_header> peek_header(std::span<const std::byte> bytes) noexcept;

// --- client side: requests and replies --------------------------------------

void encode_pull(std::vector<std::byte>& out, std::span<const std::uint64_t> ids);
// Precondition: gradients.size() == ids.size() * dimension.
void encode_push(std::vector<std::byte>& out, std::span<const std::uint64_t> ids,
                 std::span<const float> gradients, std::uint32_t dimension);
void encode_stats(std::vector<std::byte>& out);

// A reply frame, checked against the request it answers.
struct reply_view {
    frame_header header;
    std::span<const std::byte> payload;
    [[nodiscard]] errc status() const noexcept { return static_cast<errc>(header.status); }
};
// Decodes the complete reply frame `frame` to a request of `request_op` with
// `count` ids: ps_bad_response if the op differs, or an ok reply's payload
// is not what that request must get back.
[[nodiscard]] expected<reply_view> check_reply(std::span<const std::byte> frame, op request_op,
                                               std::uint32_t count, std::uint32_t dimension);
// The counters of an ok stats reply.
[[nodiscard]] expected<server_stats> decode_stats(const reply_view& reply);

}  // namespace airlock::ps
