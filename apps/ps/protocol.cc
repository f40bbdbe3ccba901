// SPDX-License-Identifier: Apache-2.0
// apps/ps/protocol.cc: encoding and checking frames (protocol.hh).
#include "ps/protocol.hh"

#include "airlock/base/check.hh"

namespace airlock::ps {

void put_header(std::vector<std::byte>& out, op o, std::uint16_t status, std::uint32_t count,
                std::size_t payload_bytes) {
    detail::put(out, static_cast<std::uint32_t>(header_bytes - 4 + payload_bytes));
    detail::put(out, static_cast<std::uint16_t>(o));
    detail::put(out, status);
    detail::put(out, count);
}

std::optional<frame_header> peek_header(std::span<const std::byte> bytes) noexcept {
    if (bytes.size() < header_bytes) return std::nullopt;
    frame_header h;
    h.length = detail::get<std::uint32_t>(bytes.data());
    h.op = detail::get<std::uint16_t>(bytes.data() + 4);
    h.status = detail::get<std::uint16_t>(bytes.data() + 6);
    h.count = detail::get<std::uint32_t>(bytes.data() + 8);
    return h;
}

void encode_pull(std::vector<std::byte>& out, std::span<const std::uint64_t> ids) {
    put_header(out, op::pull, 0, static_cast<std::uint32_t>(ids.size()), ids.size() * 8);
    for (const std::uint64_t id : ids)
        detail::put(out, id);
}

void encode_push(std::vector<std::byte>& out, std::span<const std::uint64_t> ids,
                 std::span<const float> gradients, std::uint32_t dimension) {
    AIRLOCK_CHECK(gradients.size() == ids.size() * dimension, "push: one gradient per id");
    put_header(out, op::push, 0, static_cast<std::uint32_t>(ids.size()),
               ids.size() * push_entry_bytes(dimension));
    for (std::size_t i = 0; i < ids.size(); ++i) {
        detail::put(out, ids[i]);
        const std::size_t at = out.size();
        out.resize(at + std::size_t{4} * dimension);
        std::memcpy(out.data() + at, gradients.data() + i * dimension, std::size_t{4} * dimension);
    }
}

void encode_stats(std::vector<std::byte>& out) {
    put_header(out, op::stats, 0, 0, 0);
}

expected<reply_view> check_reply(std::span<const std::byte> frame, op request_op,
                                 std::uint32_t count, std::uint32_t dimension) {
    const auto h = peek_header(frame);
    if (!h || h->frame_bytes() != frame.size()) return unexpected(errc::ps_bad_response);
    reply_view r{*h, frame.subspan(header_bytes)};
    // An error reply repeats the op, or carries 0 when the frame was too
    // short or too long for the server to read it; it has no payload.
    if (h->status != 0 && h->op == 0 && r.payload.empty()) return r;
    if (h->op != static_cast<std::uint16_t>(request_op)) return unexpected(errc::ps_bad_response);
    if (h->status != 0)
        return r.payload.empty() ? expected<reply_view>(r) : unexpected(errc::ps_bad_response);
    std::size_t want = 0;
    switch (request_op) {
        case op::pull:
            want = std::size_t{count} * dimension * 4;
            break;
        case op::push:
            want = 0;
            break;
        case op::stats:
            want = sizeof(server_stats);
            break;
    }
    if (h->count != count || r.payload.size() != want) return unexpected(errc::ps_bad_response);
    return r;
}

expected<server_stats> decode_stats(const reply_view& reply) {
    if (reply.header.op != static_cast<std::uint16_t>(op::stats) || reply.header.status != 0 ||
        reply.payload.size() != sizeof(server_stats))
        return unexpected(errc::ps_bad_response);
    server_stats s;
    s.requests = detail::get<std::uint64_t>(reply.payload.data());
    s.ids = detail::get<std::uint64_t>(reply.payload.data() + 8);
    s.errors = detail::get<std::uint64_t>(reply.payload.data() + 16);
    s.trusted_ns = detail::get<std::uint64_t>(reply.payload.data() + 24);
    return s;
}

}  // namespace airlock::ps
