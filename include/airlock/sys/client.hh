// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/client.hh: the enclave's end of a sys link.
//
// `sys::client` turns sys calls into requests on a service link and routes
// the host's completions back to the coroutines awaiting them. It is a
// source of the enclave thread's executor: each round it takes completions,
// checks each against the request it answers (Iago: the request id must be
// in flight with that generation; a byte count at most what was asked, and
// exactly the bytes that came; an errno from the call's list; an address,
// stat record or directory listing well formed), copies the data into the
// caller's own buffer, and resumes the caller. A completion that breaks its
// contract faults the link for good, with a reason: every waiting call and
// every later one fails with errc::sys_faulted (the reason in fault()), and
// nothing the host wrote is used. A service that stops says so in the
// link's state word (wire::service_state): once the completions it wrote
// before are taken, every waiting call and every later one fails with
// errc::sys_service_stopped (fault() is then that code).
//
// Handles (of files, sockets, listeners) are made here: a slot index and a
// generation, bumped at close, so a stale handle fails inside the enclave
// with sys_bad_handle and the host never supplies a descriptor.
//
// Requests and in-flight calls are bounded (client_options); a full request
// ring queues requests in their slots (back-pressure, nothing lost).
//
// Owning types (sys/socket.hh, listener.hh, file.hh) hold a `client_ref`;
// the client lives until the last is gone, and `shut_down` (at thread end)
// detaches it from the executor: later calls fail with sys_closed.
//
// Thread contract: enclave side; the executor's thread only. No system
// calls (ringing the service's doorbell uses the platform's hooks).

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "airlock/async/cancel_point.hh"
#include "airlock/async/executor.hh"
#include "airlock/async/resumption.hh"
#include "airlock/async/task.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/ring/spsc_ring.hh"
#include "airlock/sys/error.hh"
#include "airlock/sys/protocol.hh"

namespace airlock::sys {

// How requests reach the host: through the link's rings to the io_uring
// service (the default), or by one synchronous modelled transition each
// (sys/transition.hh: the baseline).
enum class transport : std::uint8_t { ring, transition };

// Eager receives and write-behind of the stream sockets a client makes
// (socket.hh). Each bound is per socket; 0 turns the behaviour off.
struct stream_options {
    // A connected socket keeps one receive posted into a buffer of this many
    // bytes (allocated with the socket), so recv usually finds its bytes
    // already in the enclave.
    std::size_t receive_ahead_bytes = 8 * 1024;
    // send and writev return once their bytes are queued, up to this many
    // unflushed bytes; a send finding the queue full waits for room.
    std::size_t write_behind_bytes = 64 * 1024;
};

struct client_options {
    std::size_t max_requests = 4096;  // calls in flight at once
    std::size_t max_handles = 8192;   // open files, sockets and listeners
    // Requests posted ahead of the program (sockets' eager receives,
    // listeners' eager accepts) hold at most this many of max_requests, and
    // never more than half: the rest stay for the program's own calls. A
    // socket or listener that finds none left works on demand.
    std::size_t max_eager_requests = 2048;
    stream_options streams{};
    // A file's writes return once queued, up to this many unflushed bytes
    // per file (file.hh); 0: writes wait for the host.
    std::size_t file_write_behind_bytes = 64 * 1024;
    sys::transport transport = sys::transport::ring;
    std::uint64_t transition_cycles = platform::modelled_transition::default_cycles_per_call;
    // Where the transition transport's system calls are made: false, on this
    // thread (a transition_host; the enclave thread may make them, `sim`);
    // true, on a host thread of the service while this thread waits for the
    // answer, blocked (a sealed platform: `process`). attach() sets it on a
    // sealed platform.
    bool transition_on_host = false;
};

class transition_host;

// A handle: slot index (low 32 bits) and generation (high 32, never 0).
using handle = std::uint64_t;

enum class handle_kind : std::uint8_t { none, file, socket, listener };

// One request to send.
struct request {
    wire::op op{};
    handle target = 0;
    std::uint64_t args[4] = {0, 0, 0, 0};
    std::span<const std::byte> payload{};   // bytes after the header words
    std::span<const std::byte> payload2{};  // more bytes, appended (rename's second path)
    std::span<std::byte> into{};            // where the reply's data goes
    // Gathered bytes, appended after payload2 in order (writev), and
    // scattered room for the reply's data, filled in order instead of `into`
    // (readv). The caller's span arrays outlive the await.
    std::span<const std::span<const std::byte>> gather{};
    std::span<const std::span<std::byte>> scatter{};
    std::uint64_t asked = 0;  // most bytes the result may count
    // The handle this call makes (listen, accept, connect, open, udp_bind),
    // or 0. The client owns it until the call succeeds: it retires it when
    // the call fails, and when the caller gave up (cancelled, or its frame
    // destroyed) it keeps the handle until the host answers, then sends its
    // close if the host made the descriptor, so a late success never leaves
    // a host fd open and the handle is never reused while the host may still
    // install it.
    handle makes = 0;
};

// What a successful completion said, after its checks.
struct outcome {
    std::uint64_t value = 0;  // the non-negative result
    std::uint64_t aux = 0;
    std::size_t bytes = 0;  // data bytes copied into request::into
};

class client;

// `call_operation` is what `co_await client.call(request)` awaits: the
// request is sent when the await begins; the coroutine resumes with the
// checked outcome, or an error. Not movable (the client points at it).
// Destroyed while waiting, it abandons the request: the completion that
// comes later is checked and dropped, never written into the freed buffer.
class [[nodiscard("co_await it")]] call_operation {
  public:
    call_operation(client & c, const request& r) noexcept : client_(c), request_(r) {}
    call_operation(const call_operation&) = delete;
    call_operation& operator=(const call_operation&) = delete;
    ~call_operation();

    bool await_ready() noexcept;
    // A cancellation point: when the awaiting task's token is cancelled (a
    // deadline, a scope closing) the call resumes with errc::cancelled and
    // its request is abandoned; a completion that comes later is checked and
    // dropped. This is how a caller bounds a wait on a host that stalls.
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        handle_ = h;
        const async::detail::task_context* context = async::detail::context_of(h);
        return context == nullptr || arm(context->token);
    }
    result<outcome> await_resume() noexcept {
        return std::move(result_);
    }

  private:
    friend class client;
    // False when the token is already cancelled (the call is then done).
    bool arm(const async::cancellation_token& token) noexcept;
    static void on_cancel(void* self) noexcept;
    void abandon() noexcept;
    void finish(result<outcome> r) noexcept;
    client& client_;
    bool done_ = false;  // finished before it suspended (the transition transport)
    request request_;
    result<outcome> result_{};
    std::coroutine_handle<> handle_;
    async::resumption resumption_;
    async::detail::cancel_point cancel_;
    std::uint32_t slot_ = no_slot;
    static constexpr std::uint32_t no_slot = ~std::uint32_t{0};
};

class client final : private async::source {
  public:
    // Attaches to `link` and polls it on `ex`. Prefer `attach(thread)`.
    client(async::executor& ex, const platform::service_link& link, ring::wait_hooks& hooks,
           client_options options = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // The client of this enclave thread's service link `link_index`, made
    // on first use and kept until the thread stops (enclave_thread::keep_alive);
    // later calls return the same client (their options are ignored), so
    // every part of a program shares one consumer of the link.
    static client& attach(platform::enclave_thread& thread, std::size_t link_index = 0,
                          client_options options = {});

    // Sends `r` and awaits its checked outcome.
    [[nodiscard]] call_operation call(const request& r) noexcept { return {*this, r}; }
    // Sends `r` and forgets it (a close from a destructor). False when it
    // could not even be queued.
    bool post(const request& r) noexcept;

    // --- handles ----------------------------------------------------------
    // A fresh handle of `kind`, or sys_busy.
    [[nodiscard]] result<handle> make_handle(handle_kind kind) noexcept;
    // True while `h` is open and of `kind`.
    [[nodiscard]] bool valid(handle h, handle_kind kind) const noexcept;
    // Retires `h` at once (its generation moves on); sends nothing.
    void retire(handle h) noexcept;

    // --- state ------------------------------------------------------------
    [[nodiscard]] errc fault() const noexcept { return fault_; }
    [[nodiscard]] const std::string& fault_reason() const noexcept { return fault_reason_; }
    [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }
    [[nodiscard]] std::size_t open_handles() const noexcept { return open_handles_; }
    [[nodiscard]] const platform::service_link& link() const noexcept { return link_; }
    [[nodiscard]] async::executor& executor() const noexcept { return *ex_; }
    [[nodiscard]] const client_options& options() const noexcept { return options_; }

    // --- requests posted ahead (eager receives and accepts) ---------------
    // Takes one of the eager requests (max_eager_requests); false when none
    // is left, the link failed, or the transport is the transition (whose
    // calls block the thread: nothing can be posted ahead).
    [[nodiscard]] bool try_take_eager() noexcept {
        if (closed_ || fault_ != errc::ok || options_.transport == transport::transition ||
            eager_in_flight_ >= eager_limit_)
            return false;
        ++eager_in_flight_;
        return true;
    }
    void give_back_eager() noexcept { --eager_in_flight_; }
    [[nodiscard]] std::size_t eager_in_flight() const noexcept { return eager_in_flight_; }
    // Detaches from the executor and fails nothing further: later calls
    // return sys_closed. Waiting calls are left to their frames' end.
    void shut_down() noexcept;

    // --- reference counting (owner thread) --------------------------------
    void add_ref() noexcept { ++refs_; }
    void release_ref() noexcept {
        if (--refs_ == 0 && closed_) delete this;
    }

  private:
    friend class call_operation;
    friend class clock;  // rings the service for a fresh clock with hooks_
    enum class slot_state : std::uint8_t { free, queued, pending, abandoned };
    struct slot {
        std::uint32_t generation = 1;
        slot_state state = slot_state::free;
        std::uint32_t next_free = 0;
        wire::op op{};
        std::uint64_t asked = 0;
        std::size_t room = 0;  // the reply data's room: into's size or scatter's total
        handle makes = 0;
        call_operation* waiter = nullptr;
    };
    struct handle_entry {
        std::uint32_t generation = 1;
        handle_kind kind = handle_kind::none;
        std::uint32_t next_free = 0;
    };

    std::size_t poll(std::size_t budget) noexcept override;
    bool has_work() noexcept override;

    // Takes a slot and sends (or queues) `r`; returns the slot or an error.
    result<std::uint32_t> submit(const request& r, call_operation* waiter) noexcept;
    bool try_send(std::uint32_t index) noexcept;
    // The transition transport on a sealed platform: pays the modelled
    // transition, sends slot `index`'s request and blocks the thread (no
    // other coroutine runs) until its checked completion came, the link
    // failed or the service stopped.
    void ocall(std::uint32_t index) noexcept;
    void flush_queued() noexcept;
    void on_completion(std::span<const std::byte> bytes) noexcept;
    void free_slot(std::uint32_t index) noexcept;
    void fail_link(errc code, std::string reason) noexcept;
    // True once the service has said on the link that it stopped.
    [[nodiscard]] bool service_stopped() const noexcept;
    // What calls fail with once the link has failed.
    [[nodiscard]] errc failed_with() const noexcept {
        return fault_ == errc::sys_service_stopped ? errc::sys_service_stopped : errc::sys_faulted;
    }

    async::executor* ex_;
    client_options options_;
    std::size_t eager_limit_ = 0;
    std::size_t eager_in_flight_ = 0;
    platform::service_link link_;
    ring::wait_hooks* hooks_;
    ring::ring_producer out_;
    ring::ring_consumer in_;
    std::vector<slot> slots_;
    std::vector<std::vector<std::byte>> encoded_;    // a queued request's bytes, per slot
    std::vector<std::uint32_t> send_queue_;          // slots waiting for ring space, oldest first
    std::optional<ring::outgoing_message> partial_;  // the head of the queue, partly sent
    std::size_t send_queue_head_ = 0;
    std::uint32_t free_slot_ = 0;
    std::size_t in_flight_ = 0;
    std::vector<handle_entry> handles_;
    std::uint32_t free_handle_ = 0;
    std::size_t open_handles_ = 0;
    errc fault_ = errc::ok;
    std::string fault_reason_;
    bool closed_ = false;
    bool unpublished_ = false;
    std::size_t refs_ = 0;
    std::unique_ptr<transition_host> transition_;  // the transition transport in this thread
    std::unique_ptr<platform::modelled_transition> ocall_;  // ... or by the host's thread
};

// `client_ref` keeps a client alive (intrusive, owner thread only).
class client_ref {
  public:
    client_ref() noexcept = default;
    explicit client_ref(client& c) noexcept : c_(&c) { c_->add_ref(); }
    client_ref(const client_ref& o) noexcept : c_(o.c_) {
        if (c_ != nullptr) c_->add_ref();
    }
    client_ref(client_ref&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
    client_ref& operator=(client_ref o) noexcept {
        std::swap(c_, o.c_);
        return *this;
    }
    ~client_ref() {
        if (c_ != nullptr) c_->release_ref();
    }
    [[nodiscard]] client* get() const noexcept { return c_; }
    client* operator->() const noexcept { return c_; }
    client& operator*() const noexcept { return *c_; }
    explicit operator bool() const noexcept { return c_ != nullptr; }

  private:
    client* c_ = nullptr;
};

// Turns a completion's outcome into the value a call returns.
[[nodiscard]] inline result<void> done(const result<outcome>& r) {
    if (!r) return unexpected(r.error());
    return {};
}

}  // namespace airlock::sys
