// SPDX-License-Identifier: Apache-2.0
// Readiness for the transition transport (poll.hh).
#include "airlock/sys/poll.hh"

#include <cstring>
#include <vector>

namespace airlock::sys {

namespace {

void put_word(std::byte* at, std::uint64_t w) noexcept {
    std::memcpy(at, &w, 8);
}
std::uint64_t get_word(const std::byte* at) noexcept {
    std::uint64_t w;
    std::memcpy(&w, at, 8);
    return w;
}

}  // namespace

async::task<result<std::size_t>> poll(client& c, std::span<poll_entry> entries,
                                      std::chrono::milliseconds timeout) {
    if (c.options().transport != transport::transition) co_return fail(errc::sys_unsupported);
    if (entries.size() > wire::max_poll_entries) co_return fail(errc::invalid_argument);
    // A handle the enclave knows is not open needs no host to say so.
    std::size_t invalid = 0;
    for (poll_entry& e : entries) {
        const bool open =
            c.valid(e.target, handle_kind::socket) || c.valid(e.target, handle_kind::listener);
        e.revents = open ? 0 : wire::poll_nval;
        invalid += open ? 0 : 1;
    }
    if (invalid != 0) co_return invalid;
    std::vector<std::byte> asked(entries.size() * 16);
    for (std::size_t i = 0; i < entries.size(); ++i) {
        put_word(asked.data() + 16 * i, entries[i].target);
        put_word(asked.data() + 16 * i + 8, entries[i].events & (wire::poll_in | wire::poll_out));
    }
    std::vector<std::byte> reply(entries.size() * 8);
    const std::int64_t ms = timeout.count() < 0 ? -1 : static_cast<std::int64_t>(timeout.count());
    request r{.op = wire::op::poll,
              .args = {entries.size(), static_cast<std::uint64_t>(ms), 0, 0},
              .payload = asked,
              .into = reply,
              .asked = entries.size()};
    auto done = co_await c.call(r);
    if (!done) co_return unexpected(done.error());
    // The completion was checked (sizes, known events, the count); events
    // not asked for, other than the three poll(2) always reports, are dropped.
    std::size_t ready = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::uint64_t always = wire::poll_err | wire::poll_hup | wire::poll_nval;
        entries[i].revents = get_word(reply.data() + 8 * i) & (entries[i].events | always);
        ready += entries[i].revents != 0 ? 1 : 0;
    }
    co_return ready;
}

}  // namespace airlock::sys
