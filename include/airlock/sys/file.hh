// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/file.hh: a file owned by enclave code, and the path calls.
//
// `sys::file` is a handle of a sys client (client.hh) with an offset the
// enclave keeps: `read` and `write` are preads and pwrites at that offset,
// advanced by what the host says it moved (checked against what was asked).
// Files opened with O_APPEND write at the end. The path calls (stat,
// unlink, rename, mkdir, rmdir) are free functions of a client.
//
// Writes go behind (client_options::file_write_behind_bytes): `write`,
// `pwrite`, `writev` and `pwritev` return once their bytes are queued (at
// most that many unflushed, then they wait for room) and the host writes
// them in the order they were made. Every other call on the file (reads,
// `stat`, `truncate`, `fsync`) first waits until the queue went, so it sees
// the writes; the path calls do not. An error of a write behind is kept:
// the next call on the file returns it, and so do `flush`, `fsync` and
// `close`. The destructor closes without waiting, once the queue went;
// `close` flushes and waits.
//
// Thread contract: enclave side, the client's executor thread; do not move
// a file while one of its calls is in flight.

#include <fcntl.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "airlock/async/task.hh"
#include "airlock/sys/client.hh"

namespace airlock::sys {

using stat_info = wire::stat_record;

namespace detail {
class file_writes;
}

class file {
  public:
    file() noexcept = default;
    file(file&& o) noexcept
        : client_(std::move(o.client_)),
          handle_(o.handle_),
          offset_(o.offset_),
          append_(o.append_),
          writes_(std::move(o.writes_)) {
        o.handle_ = 0;
    }
    file& operator=(file&& o) noexcept;
    ~file();

    // Opens `path` with open(2) flags and mode (O_CLOEXEC is added).
    [[nodiscard]] static async::task<result<file>> open(client& c, std::string_view path, int flags,
                                                        unsigned mode = 0644);

    [[nodiscard]] bool is_open() const noexcept;
    [[nodiscard]] std::uint64_t offset() const noexcept { return offset_; }
    void seek(std::uint64_t offset) noexcept { offset_ = offset; }

    // Up to min(into.size(), wire::max_io) bytes at the offset; 0 at the end.
    [[nodiscard]] async::task<result<std::size_t>> read(std::span<std::byte> into);
    [[nodiscard]] async::task<result<std::size_t>> write(std::span<const std::byte> bytes);
    [[nodiscard]] async::task<result<std::size_t>> pread(std::span<std::byte> into,
                                                         std::uint64_t offset);
    [[nodiscard]] async::task<result<std::size_t>> pwrite(std::span<const std::byte> bytes,
                                                          std::uint64_t offset);
    // readv, writev, preadv, pwritev: one read filling `into`'s buffers in
    // order, one write of `bytes`' buffers in order (at the end for O_APPEND
    // files); at most wire::max_io bytes in all (the rest is left, a short
    // call as POSIX allows). readv and writev move the offset.
    [[nodiscard]] async::task<result<std::size_t>> readv(
        std::span<const std::span<std::byte>> into);
    [[nodiscard]] async::task<result<std::size_t>> writev(
        std::span<const std::span<const std::byte>> bytes);
    [[nodiscard]] async::task<result<std::size_t>> preadv(
        std::span<const std::span<std::byte>> into, std::uint64_t offset);
    [[nodiscard]] async::task<result<std::size_t>> pwritev(
        std::span<const std::span<const std::byte>> bytes, std::uint64_t offset);
    // Writes every byte at the offset (several writes when needed).
    [[nodiscard]] async::task<result<void>> write_all(std::span<const std::byte> bytes);
    // Waits until every queued write went; the kept error if one did not.
    [[nodiscard]] async::task<result<void>> flush();
    // Bytes queued and not yet written.
    [[nodiscard]] std::size_t unflushed() const noexcept;
    // Flushes, then fsync(2) (fdatasync with data_only).
    [[nodiscard]] async::task<result<void>> fsync(bool data_only = false);
    [[nodiscard]] async::task<result<void>> truncate(std::uint64_t length);
    [[nodiscard]] async::task<result<stat_info>> stat();
    // Flushes, closes and waits; the kept error comes first.
    [[nodiscard]] async::task<result<void>> close();

  private:
    file(client_ref c, handle h, bool append) noexcept
        : client_(std::move(c)), handle_(h), append_(append) {}
    // Closes without waiting (once the queue went).
    void close_detached() noexcept;
    // The writes went (or the kept error); every call but a write begins here.
    async::task<result<void>> settle();
    // A write of `parts` at `offset`, queued behind when the file writes behind.
    async::task<result<std::size_t>> write_at(std::span<const std::span<const std::byte>> parts,
                                              std::uint64_t offset);
    client_ref client_;
    handle handle_ = 0;
    std::uint64_t offset_ = 0;
    bool append_ = false;
    std::shared_ptr<detail::file_writes> writes_;  // null: writes wait for the host
};

[[nodiscard]] async::task<result<stat_info>> stat(client& c, std::string_view path);
[[nodiscard]] async::task<result<void>> unlink(client& c, std::string_view path);
[[nodiscard]] async::task<result<void>> rename(client& c, std::string_view from,
                                               std::string_view to);
[[nodiscard]] async::task<result<void>> mkdir(client& c, std::string_view path,
                                              unsigned mode = 0755);
[[nodiscard]] async::task<result<void>> rmdir(client& c, std::string_view path);

// One name in a folder ("." and ".." left out); `type` is the DT_* value.
struct dir_entry {
    std::string name;
    std::uint8_t type = 0;
};
// The names in folder `path`, in the host's order, fetched wire::max_io
// bytes at a time; at most `max_entries` (sys_bad_result beyond: a host
// that never ends the listing).
[[nodiscard]] async::task<result<std::vector<dir_entry>>> list_dir(
    client& c, std::string_view path, std::size_t max_entries = 1'000'000);

}  // namespace airlock::sys
