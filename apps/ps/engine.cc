// SPDX-License-Identifier: Apache-2.0
// apps/ps/engine.cc: parsing and serving requests (engine.hh).
#include "ps/engine.hh"

#include <cstring>

#include "airlock/base/check.hh"

namespace airlock::ps {

engine::engine(model& m, engine_options options)
    : model_(m),
      options_(options),
      max_frame_(max_frame_bytes(m.dimension(), options.max_batch)),
      found_(options.max_batch),
      gradient_(m.dimension()) {
    AIRLOCK_CHECK(options.max_batch >= 1, "engine: max_batch >= 1");
}

bool engine::on_bytes(session& s, std::span<const std::byte> in, std::vector<std::byte>& out) {
    if (s.closing_) return false;
    // Serve straight from `in` unless a partial frame is waiting for it.
    std::span<const std::byte> data = in;
    const bool buffered = !s.partial_.empty();
    if (buffered) {
        s.partial_.insert(s.partial_.end(), in.begin(), in.end());
        data = s.partial_;
    }
    std::size_t pos = 0;
    while (data.size() - pos >= 4) {
        const auto length = detail::get<std::uint32_t>(data.data() + pos);
        const std::size_t frame = 4 + std::size_t{length};
        if (frame > max_frame_) [[unlikely]] {
            reply_error(out, 0, errc::ps_frame_too_large, 0);
            s.closing_ = true;
            s.partial_.clear();
            return false;
        }
        if (data.size() - pos < frame) break;
        serve_frame(data.subspan(pos, frame), out);
        pos += frame;
    }
    if (buffered) {
        s.partial_.erase(s.partial_.begin(), s.partial_.begin() + static_cast<std::ptrdiff_t>(pos));
    } else {
        s.partial_.assign(data.begin() + static_cast<std::ptrdiff_t>(pos), data.end());
    }
    return true;
}

void engine::serve_frame(std::span<const std::byte> frame, std::vector<std::byte>& out) {
    const auto h = peek_header(frame);
    if (!h) [[unlikely]]
        return reply_error(out, 0, errc::ps_bad_length, 0);
    if (h->status != 0) [[unlikely]]
        return reply_error(out, h->op, errc::ps_bad_header, h->count);
    const std::span<const std::byte> payload = frame.subspan(header_bytes);
    switch (h->op) {
        case static_cast<std::uint16_t>(op::pull):
            return serve_pull(*h, payload, out);
        case static_cast<std::uint16_t>(op::push):
            return serve_push(*h, payload, out);
        case static_cast<std::uint16_t>(op::stats):
            if (h->count != 0 || !payload.empty()) [[unlikely]]
                return reply_error(out, h->op, errc::ps_bad_length, h->count);
            put_header(out, op::stats, 0, 0, sizeof(server_stats));
            detail::put(out, stats_.requests);
            detail::put(out, stats_.ids);
            detail::put(out, stats_.errors);
            detail::put(out, stats_.trusted_ns);
            return;
        default:
            return reply_error(out, h->op, errc::ps_unknown_op, h->count);
    }
}

std::uint32_t engine::find_all(std::span<const std::byte> payload, std::uint32_t count,
                               std::size_t stride) {
    for (std::uint32_t i = 0; i < count; ++i) {
        found_[i] = model_.find(detail::get<std::uint64_t>(payload.data() + i * stride));
        if (found_[i] == model::no_row) return i;
    }
    return count;
}

void engine::serve_pull(const frame_header& h, std::span<const std::byte> payload,
                        std::vector<std::byte>& out) {
    if (h.count > options_.max_batch) [[unlikely]]
        return reply_error(out, h.op, errc::ps_batch_too_large, h.count);
    if (payload.size() != std::size_t{h.count} * 8) [[unlikely]]
        return reply_error(out, h.op, errc::ps_bad_length, h.count);
    if (const std::uint32_t bad = find_all(payload, h.count, 8); bad != h.count) [[unlikely]]
        return reply_error(out, h.op, errc::ps_unknown_id, bad);
    const std::size_t vector_bytes = model_.vector_bytes();
    const std::size_t start = out.size();
    put_header(out, op::pull, 0, h.count, h.count * vector_bytes);
    std::size_t at = out.size();
    out.resize(at + h.count * vector_bytes);
    for (std::uint32_t i = 0; i < h.count; ++i, at += vector_bytes) {
        if (auto r = model_.read(found_[i], out.data() + at); !r) [[unlikely]] {
            // Only a paged model fails (its space faulted): the reply so far is dropped.
            out.resize(start);
            return reply_error(out, h.op, r.error(), i);
        }
    }
    ++stats_.requests;
    stats_.ids += h.count;
}

void engine::serve_push(const frame_header& h, std::span<const std::byte> payload,
                        std::vector<std::byte>& out) {
    const std::size_t entry = push_entry_bytes(model_.dimension());
    if (h.count > options_.max_batch) [[unlikely]]
        return reply_error(out, h.op, errc::ps_batch_too_large, h.count);
    if (payload.size() != h.count * entry) [[unlikely]]
        return reply_error(out, h.op, errc::ps_bad_length, h.count);
    // All ids are checked before any is updated: a request applies whole or not at all.
    if (const std::uint32_t bad = find_all(payload, h.count, entry); bad != h.count) [[unlikely]]
        return reply_error(out, h.op, errc::ps_unknown_id, bad);
    for (std::uint32_t i = 0; i < h.count; ++i) {
        // The gradient is copied out of the byte stream to aligned floats.
        std::memcpy(gradient_.data(), payload.data() + i * entry + 8, entry - 8);
        if (auto r = model_.sgd_step(found_[i], gradient_.data(), options_.learning_rate); !r)
            [[unlikely]]
            // Only a paged model fails, when its space faulted: the steps
            // before i were applied, but every later request fails too.
            return reply_error(out, h.op, r.error(), i);
    }
    put_header(out, op::push, 0, h.count, 0);
    ++stats_.requests;
    stats_.ids += h.count;
}

void engine::reply_error(std::vector<std::byte>& out, std::uint16_t o, errc e,
                         std::uint32_t count) {
    put_header(out, static_cast<op>(o), static_cast<std::uint16_t>(e), count, 0);
    ++stats_.errors;
}

}  // namespace airlock::ps
