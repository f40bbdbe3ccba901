// SPDX-License-Identifier: Apache-2.0
// Files and path calls of enclave code (file.hh).
#include "airlock/sys/file.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "airlock/sys/socket.hh"
#include "file_writes.hh"

namespace airlock::sys {

namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
    return std::as_bytes(std::span(s.data(), s.size()));
}

async::task<result<void>> simple_path(client& c, wire::op kind, std::string_view path,
                                      std::uint64_t arg0) {
    if (path.empty() || path.size() > wire::max_path) co_return fail(errc::invalid_argument);
    request r{.op = kind};
    r.args[0] = arg0;
    r.payload = bytes_of(path);
    co_return done(co_await c.call(r));
}

}  // namespace

file& file::operator=(file&& o) noexcept {
    if (this != &o) {
        close_detached();
        client_ = std::move(o.client_);
        handle_ = o.handle_;
        offset_ = o.offset_;
        append_ = o.append_;
        writes_ = std::move(o.writes_);
        o.handle_ = 0;
    }
    return *this;
}

file::~file() {
    close_detached();
}

void file::close_detached() noexcept {
    // A write still in flight: its pump closes the handle after the queue.
    if (writes_ && is_open() && writes_->detach_if_busy()) {
        client_ = client_ref();
        handle_ = 0;
    } else {
        detail::close_detached(client_, handle_, handle_kind::file);
    }
    writes_.reset();
}

bool file::is_open() const noexcept {
    return client_ && client_->valid(handle_, handle_kind::file);
}

std::size_t file::unflushed() const noexcept {
    return writes_ ? writes_->unflushed() : 0;
}

async::task<result<file>> file::open(client& c, std::string_view path, int flags, unsigned mode) {
    if (path.empty() || path.size() > wire::max_path) co_return fail(errc::invalid_argument);
    client_ref ref(c);
    auto h = c.make_handle(handle_kind::file);
    if (!h) co_return unexpected(h.error());
    request r{.op = wire::op::open, .target = *h, .makes = *h};
    r.args[0] = static_cast<std::uint32_t>(flags);
    r.args[1] = mode;
    r.payload = bytes_of(path);
    auto o = co_await c.call(r);
    if (!o) co_return unexpected(o.error());  // the client retires *h
    file f(std::move(ref), *h, (flags & O_APPEND) != 0);
    // The transition transport answers every call at once: nothing to
    // write behind.
    const client_options& opt = c.options();
    if (opt.file_write_behind_bytes != 0 && opt.transport == transport::ring) {
        try {
            f.writes_ = std::make_shared<detail::file_writes>(f.client_, *h, f.append_,
                                                              opt.file_write_behind_bytes);
        } catch (...) {
            // No memory for the queue: this file's writes wait for the host.
        }
    }
    co_return f;
}

async::task<result<void>> file::settle() {
    std::shared_ptr<detail::file_writes> w = writes_;  // lives through the waits
    if (!w) co_return result<void>{};
    while (!w->flushed() && !w->failure()) {
        w->written.reset();
        if (!co_await w->written.wait()) co_return fail(errc::cancelled);
    }
    if (w->failure()) co_return unexpected(*w->failure());
    co_return result<void>{};
}

async::task<result<void>> file::flush() {
    if (!is_open()) co_return fail(errc::sys_bad_handle);
    co_return co_await settle();
}

async::task<result<std::size_t>> file::write_at(std::span<const std::span<const std::byte>> parts,
                                                std::uint64_t offset) {
    std::shared_ptr<detail::file_writes> w = writes_;
    if (!is_open()) co_return fail(errc::sys_bad_handle);
    std::vector<std::span<const std::byte>> keep;
    std::size_t total = 0;
    if (w) {
        if (w->failure()) co_return unexpected(*w->failure());
        (void)detail::first_bytes(parts, wire::max_io, keep, total);
        if (total == 0) co_return 0;
        while (w->room() == 0) {
            w->written.reset();
            if (!co_await w->written.wait()) co_return fail(errc::cancelled);
            if (!is_open()) co_return fail(errc::sys_bad_handle);
            if (w->failure()) co_return unexpected(*w->failure());
        }
        const auto first =
            detail::first_bytes(parts, std::min(wire::max_io, w->room()), keep, total);
        if (auto q = w->queue(first, offset); !q) co_return unexpected(q.error());
        co_return total;
    }
    request r{.op = append_ ? wire::op::append : wire::op::write};
    r.gather = detail::first_bytes(parts, wire::max_io, keep, total);
    r.args[1] = offset;
    r.asked = total;
    auto o = co_await detail::call_on(client_, handle_, handle_kind::file, r);
    if (!o) co_return unexpected(o.error());
    co_return static_cast<std::size_t>(o->value);
}

async::task<result<std::size_t>> file::pread(std::span<std::byte> into, std::uint64_t offset) {
    if (auto s = co_await settle(); !s) co_return unexpected(s.error());
    into = into.first(std::min(into.size(), wire::max_io));
    request r{.op = wire::op::read};
    r.args[0] = into.size();
    r.args[1] = offset;
    r.asked = into.size();
    r.into = into;
    auto o = co_await detail::call_on(client_, handle_, handle_kind::file, r);
    if (!o) co_return unexpected(o.error());
    co_return o->bytes;
}

async::task<result<std::size_t>> file::pwrite(std::span<const std::byte> bytes,
                                              std::uint64_t offset) {
    const std::span<const std::byte> parts[1] = {bytes};
    co_return co_await write_at(parts, offset);
}

async::task<result<std::size_t>> file::preadv(std::span<const std::span<std::byte>> into,
                                              std::uint64_t offset) {
    if (auto s = co_await settle(); !s) co_return unexpected(s.error());
    std::vector<std::span<std::byte>> keep;
    std::size_t total = 0;
    request r{.op = wire::op::read};
    r.scatter = detail::first_bytes(into, wire::max_io, keep, total);
    r.args[0] = total;
    r.args[1] = offset;
    r.asked = total;
    auto o = co_await detail::call_on(client_, handle_, handle_kind::file, r);
    if (!o) co_return unexpected(o.error());
    co_return o->bytes;
}

async::task<result<std::size_t>> file::pwritev(std::span<const std::span<const std::byte>> bytes,
                                               std::uint64_t offset) {
    co_return co_await write_at(bytes, offset);
}

async::task<result<std::size_t>> file::readv(std::span<const std::span<std::byte>> into) {
    auto n = co_await preadv(into, offset_);
    if (n) offset_ += *n;
    co_return n;
}

async::task<result<std::size_t>> file::writev(std::span<const std::span<const std::byte>> bytes) {
    auto n = co_await pwritev(bytes, offset_);
    if (n) offset_ += *n;
    co_return n;
}

async::task<result<std::size_t>> file::read(std::span<std::byte> into) {
    auto n = co_await pread(into, offset_);
    if (n) offset_ += *n;
    co_return n;
}

async::task<result<std::size_t>> file::write(std::span<const std::byte> bytes) {
    auto n = co_await pwrite(bytes, offset_);
    if (n) offset_ += *n;
    co_return n;
}

async::task<result<void>> file::write_all(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        auto n = co_await write(bytes);
        if (!n) co_return unexpected(n.error());
        if (*n == 0) co_return unexpected(error::from_errno(EIO));
        bytes = bytes.subspan(*n);
    }
    co_return result<void>{};
}

async::task<result<void>> file::fsync(bool data_only) {
    if (auto s = co_await settle(); !s) co_return s;
    request r{.op = wire::op::fsync};
    r.args[0] = data_only ? 1 : 0;
    co_return done(co_await detail::call_on(client_, handle_, handle_kind::file, r));
}

async::task<result<void>> file::truncate(std::uint64_t length) {
    if (auto s = co_await settle(); !s) co_return s;
    request r{.op = wire::op::ftruncate};
    r.args[0] = length;
    co_return done(co_await detail::call_on(client_, handle_, handle_kind::file, r));
}

async::task<result<stat_info>> file::stat() {
    if (auto settled = co_await settle(); !settled) co_return unexpected(settled.error());
    stat_info s;
    request r{.op = wire::op::fstat};
    r.into = std::as_writable_bytes(std::span(&s, 1));
    auto o = co_await detail::call_on(client_, handle_, handle_kind::file, r);
    if (!o) co_return unexpected(o.error());
    co_return s;
}

async::task<result<void>> file::close() {
    if (!is_open()) co_return fail(errc::sys_bad_handle);
    auto settled = co_await settle();
    if (!settled && settled.error().code == errc::cancelled) co_return settled;  // still open
    client_ref c = std::move(client_);
    const handle h = handle_;
    handle_ = 0;
    writes_.reset();
    auto closed = co_await detail::close_and_wait(std::move(c), h, handle_kind::file);
    if (!settled) co_return settled;  // the kept error comes first
    co_return closed;
}

async::task<result<stat_info>> stat(client& c, std::string_view path) {
    if (path.empty() || path.size() > wire::max_path) co_return fail(errc::invalid_argument);
    stat_info s;
    request r{.op = wire::op::stat};
    r.payload = bytes_of(path);
    r.into = std::as_writable_bytes(std::span(&s, 1));
    auto o = co_await c.call(r);
    if (!o) co_return unexpected(o.error());
    co_return s;
}

async::task<result<void>> unlink(client& c, std::string_view path) {
    return simple_path(c, wire::op::unlink, path, 0);
}
async::task<result<void>> mkdir(client& c, std::string_view path, unsigned mode) {
    return simple_path(c, wire::op::mkdir, path, mode);
}
async::task<result<void>> rmdir(client& c, std::string_view path) {
    return simple_path(c, wire::op::rmdir, path, 0);
}

async::task<result<void>> rename(client& c, std::string_view from, std::string_view to) {
    if (from.empty() || to.empty() || from.size() > wire::max_path || to.size() > wire::max_path)
        co_return fail(errc::invalid_argument);
    request r{.op = wire::op::rename};
    r.args[0] = from.size();
    r.payload = bytes_of(from);
    r.payload2 = bytes_of(to);
    co_return done(co_await c.call(r));
}

async::task<result<std::vector<dir_entry>>> list_dir(client& c, std::string_view path,
                                                     std::size_t max_entries) {
    if (path.empty() || path.size() > wire::max_path) co_return fail(errc::invalid_argument);
    std::vector<dir_entry> entries;
    std::vector<std::byte> buf(wire::max_io);
    std::uint64_t cookie = 0;
    do {
        request r{.op = wire::op::list_dir};
        r.args[0] = buf.size();
        r.args[1] = cookie;
        r.asked = buf.size();
        r.payload = bytes_of(path);
        r.into = buf;
        auto o = co_await c.call(r);
        if (!o) co_return unexpected(o.error());
        // The listing passed the link's checks (contract.cc): walk it.
        std::size_t at = 0;
        while (at < o->bytes) {
            std::uint64_t type = 0, len = 0;
            std::memcpy(&type, buf.data() + at, 8);
            std::memcpy(&len, buf.data() + at + 8, 8);
            if (entries.size() == max_entries) co_return fail(errc::sys_bad_result);
            entries.push_back(
                {std::string(reinterpret_cast<const char*>(buf.data() + at + 16), len),
                 static_cast<std::uint8_t>(type)});
            at += wire::dir_entry_header_bytes + (len + 7) / 8 * 8;
        }
        if (o->aux != 0 && o->value == 0) co_return fail(errc::sys_bad_result);  // no progress
        cookie = o->aux;
    } while (cookie != 0);
    co_return entries;
}

}  // namespace airlock::sys
