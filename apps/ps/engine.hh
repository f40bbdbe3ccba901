// SPDX-License-Identifier: Apache-2.0
#pragma once
// apps/ps/engine.hh: the parameter server's logic, bytes in, bytes out.
//
// `engine` owns nothing but scratch space: it parses the requests of each
// connection (`session`) from the bytes a transport hands it, applies them to
// the `model` and appends the replies to an output buffer. It makes no
// system call and knows no socket, so the same engine serves the native
// server, the servers whose I/O crosses a modelled enclave boundary, and any
// transport Airlock's `sys` layer provides. Input is hostile: every length,
// op, count and id is checked before use (protocol.hh lists the errors);
// a bad frame gets an error reply and the connection goes on, except a
// length above the largest frame, after which the connection must close
// (its input cannot be resynchronised without reading it all). A model in a
// suvm space that faulted answers every pull and push with the space's
// error (model.hh).
//
// Thread contract: an engine, its model and its sessions belong to one
// thread. Serving allocates only when a session first buffers a partial
// frame or an output buffer first grows; both stay bounded by max_frame().

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ps/model.hh"
#include "ps/protocol.hh"

namespace airlock::ps {

struct engine_options {
    float learning_rate = 0.01f;     // the SGD step of every push
    std::uint32_t max_batch = 1024;  // ids per request; more is ps_batch_too_large
};

// One connection's parsing state: the start of a frame not yet complete.
class session {
  public:
    // True once the engine asked for the connection to close.
    [[nodiscard]] bool closing() const noexcept { return closing_; }
    // Bytes of an incomplete frame held back (< max_frame()).
    [[nodiscard]] std::size_t buffered() const noexcept { return partial_.size(); }

  private:
    friend class engine;
    std::vector<std::byte> partial_;
    bool closing_ = false;
};

class engine {
  public:
    // Serves `m`, which must outlive the engine. Precondition (checked):
    // options.max_batch >= 1.
    engine(model& m, engine_options options);

    // Consumes `in`, the next bytes of connection `s`, and appends a reply
    // for each request completed by them to `out`. Returns false when the
    // connection must close once `out` is sent (s.closing() is then true and
    // later input is ignored).
    bool on_bytes(session& s, std::span<const std::byte> in, std::vector<std::byte>& out);

    // Adds time the server thread spent serving, reported by stats replies.
    void add_trusted_ns(std::uint64_t ns) noexcept { stats_.trusted_ns += ns; }
    // Or sets it, where the server thread's own clock keeps the total.
    void set_trusted_ns(std::uint64_t ns) noexcept { stats_.trusted_ns = ns; }
    [[nodiscard]] const server_stats& stats() const noexcept { return stats_; }
    [[nodiscard]] std::size_t max_frame() const noexcept { return max_frame_; }
    [[nodiscard]] const engine_options& options() const noexcept { return options_; }

  private:
    // Answers the complete frame `frame` (4 + its length bytes).
    void serve_frame(std::span<const std::byte> frame, std::vector<std::byte>& out);
    void serve_pull(const frame_header& h, std::span<const std::byte> payload,
                    std::vector<std::byte>& out);
    void serve_push(const frame_header& h, std::span<const std::byte> payload,
                    std::vector<std::byte>& out);
    void reply_error(std::vector<std::byte>& out, std::uint16_t o, errc e, std::uint32_t count);
    // Looks up `count` ids spaced `stride` bytes apart into found_; the index
    // of the first unknown id, or count when all are held.
    std::uint32_t find_all(std::span<const std::byte> payload, std::uint32_t count,
                           std::size_t stride);

    model& model_;
    engine_options options_;
    std::size_t max_frame_;
    server_stats stats_{};
    std::vector<model::row> found_;  // max_batch rows of the request being served
    std::vector<float> gradient_;    // one aligned gradient
};

}  // namespace airlock::ps
