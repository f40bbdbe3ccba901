// SPDX-License-Identifier: Apache-2.0
// The enclave's end of a sys link (client.hh).
#include "airlock/sys/client.hh"

#include <algorithm>
#include <cstring>
#include <memory>

#include "airlock/sys/transition.hh"
#include "contract.hh"

namespace airlock::sys {

namespace {

constexpr std::uint32_t end_of_list = ~std::uint32_t{0};

// The modelled ocall is paid in TSC cycles; its clock only converts to ns
// for reports, so a nominal rate spares the enclave the calibration (a
// 30 ms busy wait reading the host's clock).
constexpr platform::tsc_clock nominal_clock{1.0};

void put_word(std::byte* at, std::uint64_t w) noexcept {
    std::memcpy(at, &w, 8);
}
std::uint64_t get_word(const std::byte* at) noexcept {
    std::uint64_t w;
    std::memcpy(&w, at, 8);
    return w;
}

// Copies a checked reply's data (at most the request's room) into the
// caller's buffer, or across its scattered buffers in order.
void scatter(const request& r, std::span<const std::byte> data) noexcept {
    if (r.scatter.empty()) {
        std::memcpy(r.into.data(), data.data(), data.size());
        return;
    }
    for (const auto& d : r.scatter) {
        if (data.empty()) return;
        const std::size_t n = std::min(d.size(), data.size());
        if (n != 0) std::memcpy(d.data(), data.data(), n);
        data = data.subspan(n);
    }
}

}  // namespace

// --- call_operation -----------------------------------------------------------

call_operation::~call_operation() {
    if (slot_ != no_slot) client_.slots_[slot_].waiter = nullptr;  // abandon: drop the reply
}

bool call_operation::await_ready() noexcept {
    auto s = client_.submit(request_, this);
    if (!s) {
        result_ = unexpected(s.error());
        return true;
    }
    if (!done_) slot_ = *s;
    return done_;  // the transition transport answers before any suspension
}

bool call_operation::arm(const async::cancellation_token& token) noexcept {
    if (cancel_.arm(*client_.ex_, token, &call_operation::on_cancel, this)) return true;
    abandon();
    result_ = unexpected(error{errc::cancelled, 0});
    done_ = true;
    return false;
}

void call_operation::on_cancel(void* self) noexcept {
    auto* op = static_cast<call_operation*>(self);
    if (op->done_) return;
    op->abandon();
    op->finish(unexpected(error{errc::cancelled, 0}));
}

// The request stays in flight, its slot held until the host answers (then
// the answer is checked and dropped): the slot is never reused while the
// host may still complete it.
void call_operation::abandon() noexcept {
    if (slot_ != no_slot) client_.slots_[slot_].waiter = nullptr;
    slot_ = no_slot;
}

void call_operation::finish(result<outcome> r) noexcept {
    cancel_.disarm();
    slot_ = no_slot;
    result_ = std::move(r);
    done_ = true;
    if (handle_) client_.ex_->enqueue(resumption_, handle_);
}

// --- client -----------------------------------------------------------------------

client::client(async::executor& ex, const platform::service_link& link, ring::wait_hooks& hooks,
               client_options options)
    : ex_(&ex),
      options_(options),
      eager_limit_(std::min(options.max_eager_requests, options.max_requests / 2)),
      link_(link),
      hooks_(&hooks),
      out_(link.to_service, {.hooks = &hooks, .peer_bell = link.service_bell}),
      in_(link.from_service,
          {{.hooks = &hooks, .peer_bell = link.service_bell}, wire::max_message}),
      slots_(options.max_requests),
      encoded_(options.max_requests),
      handles_(options.max_handles) {
    AIRLOCK_CHECK(options.max_requests > 0 && options.max_requests < end_of_list &&
                      options.max_handles > 0 && options.max_handles < end_of_list,
                  "sys client limits out of range");
    for (std::size_t i = 0; i < slots_.size(); ++i)
        slots_[i].next_free =
            i + 1 < slots_.size() ? static_cast<std::uint32_t>(i + 1) : end_of_list;
    for (std::size_t i = 0; i < handles_.size(); ++i)
        handles_[i].next_free =
            i + 1 < handles_.size() ? static_cast<std::uint32_t>(i + 1) : end_of_list;
    send_queue_.reserve(options.max_requests);
    // The transition transport is no source of the executor: in this thread
    // it never reads the link (it must not take completions meant for a
    // ring client of the same link); by the host's thread it reads its
    // completions only while its thread waits in a call.
    if (options.transport == transport::ring)
        ex_->add_source(*this);
    else if (options.transition_on_host)
        ocall_ = std::make_unique<platform::modelled_transition>(options.transition_cycles,
                                                                 nominal_clock);
    else
        transition_ =
            std::make_unique<transition_host>(options.transition_cycles, options.max_handles);
}

client::~client() {
    shut_down();
}

namespace {
// The clients attach() made on this thread, by link: one consumer per ring.
thread_local std::vector<client*> attached;
}  // namespace

client& client::attach(platform::enclave_thread& thread, std::size_t link_index,
                       client_options options) {
    AIRLOCK_CHECK(link_index < thread.links.size() && thread.keep_alive != nullptr,
                  "no such service link on this enclave thread");
    for (client* existing : attached)
        if (existing->link_.to_service.control == thread.links[link_index].to_service.control &&
            !existing->closed_)
            return *existing;
    if (thread.sealed) options.transition_on_host = true;  // no system call in this thread
    auto* c =
        new client(thread.executor, thread.links[link_index], thread.executor.hooks(), options);
    attached.push_back(c);
    c->add_ref();
    // The thread's end shuts the client down; owners still holding it free it.
    thread.keep_alive->push_back(std::shared_ptr<void>(c, [](void* p) {
        auto* self = static_cast<client*>(p);
        self->shut_down();
        self->release_ref();
    }));
    return *c;
}

void client::shut_down() noexcept {
    if (closed_) return;
    closed_ = true;
    std::erase(attached, this);
    if (options_.transport == transport::ring) ex_->remove_source(*this);
    // The waiting frames are the program's; they end with the executor.
    for (slot& s : slots_)
        if (s.waiter != nullptr) {
            s.waiter->slot_ = call_operation::no_slot;
            s.waiter = nullptr;
        }
}

result<handle> client::make_handle(handle_kind kind) noexcept {
    if (closed_) return fail(errc::sys_closed);
    if (fault_ != errc::ok) return fail(failed_with());
    if (free_handle_ == end_of_list) return fail(errc::sys_busy);
    const std::uint32_t i = free_handle_;
    handle_entry& h = handles_[i];
    free_handle_ = h.next_free;
    h.kind = kind;
    ++open_handles_;
    return static_cast<handle>(i) | static_cast<handle>(h.generation) << 32;
}

bool client::valid(handle h, handle_kind kind) const noexcept {
    const auto i = static_cast<std::uint32_t>(h);
    return i < handles_.size() && handles_[i].generation == static_cast<std::uint32_t>(h >> 32) &&
           handles_[i].kind == kind && kind != handle_kind::none;
}

void client::retire(handle h) noexcept {
    const auto i = static_cast<std::uint32_t>(h);
    if (i >= handles_.size() || handles_[i].generation != static_cast<std::uint32_t>(h >> 32) ||
        handles_[i].kind == handle_kind::none)
        return;
    handle_entry& e = handles_[i];
    e.kind = handle_kind::none;
    if (++e.generation == 0) e.generation = 1;
    e.next_free = free_handle_;
    free_handle_ = i;
    --open_handles_;
}

bool client::post(const request& r) noexcept {
    return submit(r, nullptr).has_value();
}

result<std::uint32_t> client::submit(const request& r, call_operation* waiter) noexcept {
    // Nothing reached the host: the handle the call would make is retired now.
    auto refuse = [&](errc code) -> result<std::uint32_t> {
        if (r.makes != 0) retire(r.makes);
        return fail(code);
    };
    if (closed_) return refuse(errc::sys_closed);
    if (fault_ != errc::ok) return refuse(failed_with());
    std::size_t gathered = 0, room = r.into.size();
    for (const auto& g : r.gather)
        gathered += std::min(g.size(), wire::max_message);  // capped: no overflow
    if (!r.scatter.empty()) {
        room = 0;
        for (const auto& d : r.scatter)
            room += std::min(d.size(), wire::max_message);
    }
    if (gathered > wire::max_message) return refuse(errc::invalid_argument);
    const std::size_t bytes =
        wire::request_header_bytes + r.payload.size() + r.payload2.size() + gathered;
    if (bytes > wire::max_message) return refuse(errc::invalid_argument);
    if (free_slot_ == end_of_list) return refuse(errc::sys_busy);
    const std::uint32_t index = free_slot_;
    slot& s = slots_[index];
    free_slot_ = s.next_free;
    s.state = slot_state::queued;
    s.op = r.op;
    s.asked = r.asked;
    s.room = room;
    s.makes = r.makes;
    s.waiter = nullptr;  // set once queued: a fault while sending must not resume it yet
    ++in_flight_;

    // Encode once into the slot's buffer (kept while the ring is full).
    std::vector<std::byte>& m = encoded_[index];
    try {
        m.resize(bytes);
    } catch (...) {
        free_slot(index);
        return refuse(errc::enclave_memory_exhausted);
    }
    put_word(m.data(), static_cast<std::uint64_t>(index) | static_cast<std::uint64_t>(s.generation)
                                                               << 32);
    put_word(m.data() + 8, r.target);
    for (std::size_t i = 0; i < 4; ++i)
        put_word(m.data() + 16 + 8 * i, r.args[i]);
    if (!r.payload.empty())
        std::memcpy(m.data() + wire::request_header_bytes, r.payload.data(), r.payload.size());
    std::byte* at = m.data() + wire::request_header_bytes + r.payload.size();
    if (!r.payload2.empty()) std::memcpy(at, r.payload2.data(), r.payload2.size());
    at += r.payload2.size();
    for (const auto& g : r.gather) {
        if (!g.empty()) std::memcpy(at, g.data(), g.size());
        at += g.size();
    }
    if (transition_) {
        // One synchronous transition: the completion is checked like any.
        s.state = slot_state::pending;
        s.waiter = waiter;
        std::vector<std::byte> reply;
        try {
            reply = transition_->call(static_cast<std::uint16_t>(r.op), m);
        } catch (...) {
            s.waiter = nullptr;
            free_slot(index);
            return refuse(errc::enclave_memory_exhausted);
        }
        on_completion(reply);
        if (fault_ != errc::ok && waiter != nullptr && !waiter->done_) return fail(failed_with());
        return index;
    }
    if (ocall_) {
        s.state = slot_state::pending;
        s.waiter = waiter;
        ocall(index);
        if (fault_ != errc::ok && waiter != nullptr && !waiter->done_) return fail(failed_with());
        return index;
    }
    send_queue_.push_back(index);
    flush_queued();
    if (fault_ != errc::ok) return fail(failed_with());
    s.waiter = waiter;
    return index;
}

void client::ocall(std::uint32_t index) noexcept {
    const std::uint32_t generation = slots_[index].generation;
    auto answered = [&] {
        return slots_[index].state != slot_state::pending || slots_[index].generation != generation;
    };
    const ring::wait_policy policy{.hooks = hooks_};
    ocall_->call([&] {
        // The whole request, as fragments when it is larger than a record.
        ring::outgoing_message m(
            static_cast<std::uint16_t>(static_cast<std::uint16_t>(slots_[index].op) |
                                       wire::transition_flag),
            encoded_[index]);
        for (;;) {
            auto sent = out_.try_send(m);
            if (sent) break;
            if (sent.error() != errc::ring_full) {
                fail_link(sent.error(), "the request ring faulted");
                return;
            }
            if (service_stopped()) {
                fail_link(errc::sys_service_stopped, "the host's sys service stopped");
                return;
            }
            (void)ring::wait_until([&] { return out_.has_space(64) || service_stopped(); },
                                   *link_.enclave_bell, policy);
        }
        // Only this thread's one request is in flight: its completion is the
        // next message, checked like any (another faults the link).
        while (!answered() && fault_ == errc::ok) {
            // Read before the ring: what the service wrote before it
            // stopped is taken first.
            const bool stopped = service_stopped();
            auto c = in_.try_receive();
            if (c) {
                if (c->tag != wire::completion_tag) {
                    fail_link(errc::sys_bad_result, "a message that is not a completion");
                    break;
                }
                on_completion(c->bytes);
                continue;
            }
            if (c.error() != errc::ring_empty) {
                fail_link(c.error(), "the completion ring faulted");
                break;
            }
            if (stopped) {
                fail_link(errc::sys_service_stopped, "the host's sys service stopped");
                break;
            }
            in_.publish();
            (void)ring::wait_until(
                [&] { return in_.has_data() || in_.faulted() || service_stopped(); },
                *link_.enclave_bell, policy);
        }
        in_.publish();
    });
}

// Sends queued requests in order while the ring has room. A message larger
// than one record goes as fragments, possibly over several polls.
void client::flush_queued() noexcept {
    while (send_queue_head_ < send_queue_.size()) {
        const std::uint32_t index = send_queue_[send_queue_head_];
        if (!partial_)
            partial_.emplace(static_cast<std::uint16_t>(slots_[index].op),
                             std::span<const std::byte>(encoded_[index]));
        auto sent = out_.try_send(*partial_);
        if (!sent) {
            if (sent.error() == errc::ring_full) return;  // back-pressure: the next poll retries
            fail_link(sent.error(), "the request ring faulted");
            return;
        }
        partial_.reset();
        ++send_queue_head_;
        slot& s = slots_[index];
        if (s.state == slot_state::queued) s.state = slot_state::pending;
    }
    send_queue_.clear();
    send_queue_head_ = 0;
}

bool client::has_work() noexcept {
    if (closed_ || fault_ != errc::ok) return false;
    return in_.has_data() || in_.faulted() || service_stopped() ||
           (send_queue_head_ < send_queue_.size() && out_.has_space(64));
}

bool client::service_stopped() const noexcept {
    return ring::shared::load_acquire(link_.words[wire::service_state].word) ==
           wire::service_stopped;
}

std::size_t client::poll(std::size_t budget) noexcept {
    if (closed_ || fault_ != errc::ok) return 0;
    // Read before the completions: every completion the service wrote
    // before it said it stopped is then taken first.
    const bool stopped = service_stopped();
    std::size_t work = 0;
    if (send_queue_head_ < send_queue_.size()) flush_queued();
    for (; work < budget && fault_ == errc::ok; ++work) {
        auto m = in_.try_receive();
        if (!m) {
            if (m.error() != errc::ring_empty)
                fail_link(m.error(), "the completion ring faulted");
            else if (stopped)
                fail_link(errc::sys_service_stopped, "the host's sys service stopped");
            break;
        }
        if (m->tag != wire::completion_tag) {
            fail_link(errc::sys_bad_result, "a message that is not a completion");
            break;
        }
        on_completion(m->bytes);
    }
    in_.publish();
    return work;
}

void client::on_completion(std::span<const std::byte> bytes) noexcept {
    if (bytes.size() < wire::completion_header_bytes) {
        fail_link(errc::sys_bad_result, "a completion shorter than its header");
        return;
    }
    const std::uint64_t id = get_word(bytes.data());
    const auto result = static_cast<std::int64_t>(get_word(bytes.data() + 8));
    const std::uint64_t aux = get_word(bytes.data() + 16);
    const auto data = bytes.subspan(wire::completion_header_bytes);
    const auto index = static_cast<std::uint32_t>(id);
    if (index >= slots_.size() ||
        slots_[index].generation != static_cast<std::uint32_t>(id >> 32) ||
        slots_[index].state != slot_state::pending) {
        fail_link(errc::sys_unknown_request,
                  "a completion for a request that is not in flight (unknown, stale or finished)");
        return;
    }
    slot& s = slots_[index];
    const std::size_t room = s.waiter != nullptr ? s.room : wire::max_message;
    const auto v = detail::check_completion(s.op, s.asked, room, result, aux, data);
    if (v.code != errc::ok) {
        fail_link(v.code, v.reason);
        return;
    }
    call_operation* w = s.waiter;
    const handle made = s.makes;
    free_slot(index);
    if (made != 0 && (w == nullptr || result < 0)) {
        // The call that made `made` failed, or its caller gave up. A host
        // that made the descriptor for a caller that is gone gets its close
        // (the slot just freed leaves room to send it), sent before the
        // handle is retired, so the host closes it before the handle can be
        // made again.
        if (w == nullptr && result >= 0) (void)post({.op = wire::op::close, .target = made});
        retire(made);
    }
    if (w == nullptr) return;  // abandoned or posted: checked and dropped
    if (result < 0) {
        w->finish(unexpected(error::from_errno(static_cast<int>(-result))));
        return;
    }
    if (!data.empty()) scatter(w->request_, data);
    w->finish(outcome{static_cast<std::uint64_t>(result), aux, data.size()});
}

void client::free_slot(std::uint32_t index) noexcept {
    slot& s = slots_[index];
    s.state = slot_state::free;
    s.waiter = nullptr;
    s.room = 0;
    s.makes = 0;
    if (++s.generation == 0) s.generation = 1;
    s.next_free = free_slot_;
    free_slot_ = index;
    --in_flight_;
}

void client::fail_link(errc code, std::string reason) noexcept {
    if (fault_ != errc::ok) return;
    fault_ = code;
    try {
        fault_reason_ = std::move(reason);
    } catch (...) {
    }
    // Every waiting call learns it now; the requests are never reused. The
    // handles they would have made are retired (the host's table goes with
    // the service).
    for (slot& s : slots_) {
        if (s.state != slot_state::free && s.makes != 0) {
            retire(s.makes);
            s.makes = 0;
        }
        if (s.waiter == nullptr) continue;
        call_operation* w = s.waiter;
        s.waiter = nullptr;
        w->finish(unexpected(error{failed_with(), 0}));
    }
}

}  // namespace airlock::sys
