// SPDX-License-Identifier: Apache-2.0
// The host's half of the transition baseline on a sealed platform
// (transition_server.hh).
#include "transition_server.hh"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "airlock/base/check.hh"
#include "airlock/ring/wait.hh"
#include "airlock/sys/protocol.hh"

namespace airlock::sys::detail {

transition_server::transition_server(const platform::service_link& view,
                                     ring::ring_consumer requests, ring::ring_producer completions,
                                     std::unique_ptr<host_table> fds, ring::wait_hooks& hooks,
                                     std::uint16_t first_tag, std::vector<std::byte> first)
    : view_(view),
      requests_(std::move(requests)),
      completions_(std::move(completions)),
      fds_(std::move(fds)),
      hooks_(&hooks),
      stop_fd_(::eventfd(0, EFD_CLOEXEC)) {
    AIRLOCK_CHECK(stop_fd_ >= 0, "eventfd for the transition server");
    thread_ = std::thread(
        [this, first_tag, m = std::move(first)]() mutable { run(first_tag, std::move(m)); });
}

transition_server::~transition_server() {
    stop_.store(true, std::memory_order_seq_cst);
    ring::full_fence();
    const std::uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);        // ends a blocking call's wait
    ring::ring_doorbell(*view_.service_bell, hooks_);  // and a wait for a request
    if (thread_.joinable()) thread_.join();
    ::close(stop_fd_);
}

void transition_server::run(std::uint16_t first_tag, std::vector<std::byte> first) {
    if (!serve(first_tag, first)) return;
    const ring::wait_policy policy{.hooks = hooks_};
    while (!stopping()) {
        auto m = requests_.try_receive();
        if (!m) {
            if (m.error() != errc::ring_empty) {
                // The enclave broke its ring: nothing more is read from it.
                (void)ring::wait_until([&] { return stopping(); }, *view_.service_bell, policy);
                return;
            }
            (void)ring::wait_until([&] { return stopping() || requests_.has_data(); },
                                   *view_.service_bell, policy);
            continue;
        }
        // The message stays valid until the next receive: served before it.
        if (!serve(m->tag, m->bytes)) return;
        requests_.publish();
    }
}

bool transition_server::serve(std::uint16_t tag, std::span<const std::byte> bytes) {
    host_request r;
    if (!decode_request(static_cast<std::uint16_t>(tag & ~wire::transition_flag), bytes, r))
        return true;  // not a request: nothing to answer
    host_result out = run_blocking(*fds_, r, stop_fd_);
    if (stopping()) return false;  // the answer of a stopped service is never sent
    const std::vector<std::byte> reply = encode_completion(r.id, out.result, out.aux, out.data);
    ring::outgoing_message m(wire::completion_tag, reply);
    const ring::wait_policy policy{.hooks = hooks_};
    for (;;) {
        auto sent = completions_.try_send(m);
        if (sent) break;
        if (sent.error() != errc::ring_full) return false;  // the ring faulted
        // The enclave takes completions while it waits, and rings the
        // service's bell when it frees room.
        (void)ring::wait_until([&] { return stopping() || completions_.has_space(64); },
                               *view_.service_bell, policy);
        if (stopping()) return false;
    }
    served_.fetch_add(1, std::memory_order_relaxed);
    return true;
}

}  // namespace airlock::sys::detail
