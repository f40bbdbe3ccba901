// SPDX-License-Identifier: Apache-2.0
// Listeners of enclave code, and their accepts posted ahead (listener.hh).
#include "airlock/sys/listener.hh"

#include <array>
#include <deque>
#include <optional>

#include "airlock/async/event.hh"
#include "stream.hh"

namespace airlock::sys {

namespace detail {

// `acceptor` is what a listener points at: its client and handle, the
// accepts posted ahead and the connections (or errors) they brought, in the
// order they came. Shared, like a stream, by the listener and by the accept
// coroutines it spawns, so an accept answered after the listener is gone
// finds live memory (and closes the connection nobody will take).
class acceptor : public std::enable_shared_from_this<acceptor> {
  public:
    acceptor(client_ref c, handle h, std::size_t ahead) noexcept
        : client_(std::move(c)), handle_(h), ahead_(ahead) {}
    acceptor(const acceptor&) = delete;
    acceptor& operator=(const acceptor&) = delete;
    ~acceptor() { detach(); }

    struct accepted {
        result<std::shared_ptr<stream>> socket;
        std::optional<address> peer;
    };

    [[nodiscard]] bool is_open() const noexcept {
        return client_ && client_->valid(handle_, handle_kind::listener);
    }
    [[nodiscard]] const client_ref& owner() const noexcept { return client_; }
    [[nodiscard]] handle id() const noexcept { return handle_; }
    [[nodiscard]] std::size_t ahead() const noexcept { return ahead_; }
    std::deque<accepted> ready;  // at most ahead_ entries
    async::async_event arrived;  // set when an accept posted ahead answers

    // Posts accepts until ahead_ are in flight or waiting (each takes one of
    // the client's eager requests). True when one is in flight afterwards.
    bool accept_ahead() noexcept {
        // At most ahead_ tries: an accept that fails at once (no request
        // slot) leaves an error entry, never a loop.
        for (std::size_t i = 0; i < ahead_ && in_flight_ + ready.size() < ahead_; ++i) {
            if (!is_open() || !client_->try_take_eager()) break;
            ++in_flight_;
            client_->executor().spawn_now(accept_one(shared_from_this()));
        }
        return in_flight_ != 0;
    }

    // The listener is gone or closing: connections not taken are closed;
    // accepts in flight end when the host closes the listener (closed here
    // unless `keep_handle`, when the caller closes it and waits).
    void detach(bool keep_handle = false) noexcept {
        detached_ = true;
        for (accepted& a : ready)
            if (a.socket && *a.socket) (*a.socket)->detach();
        ready.clear();
        if (!keep_handle && client_ && handle_ != 0 &&
            client_->valid(handle_, handle_kind::listener)) {
            (void)client_->post({.op = wire::op::close, .target = handle_});
            client_->retire(handle_);
        }
        arrived.set();  // a waiting accept learns it
    }

  private:
    static async::task<void> accept_one(std::shared_ptr<acceptor> self) {
        acceptor& a = *self;
        std::optional<accepted> got;
        auto h = a.client_->make_handle(handle_kind::socket);
        if (!h) {
            got.emplace(accepted{unexpected(h.error()), std::nullopt});
        } else {
            std::array<std::byte, wire::max_sockaddr> buf{};
            request r{.op = wire::op::accept, .target = a.handle_, .makes = *h};
            r.args[0] = *h;
            r.into = buf;
            auto o = co_await a.client_->call(r);  // a failure retires *h
            if (!o) {
                got.emplace(accepted{unexpected(o.error()), std::nullopt});
            } else if (a.detached_) {
                // Nobody will take it: close the host's descriptor.
                (void)a.client_->post({.op = wire::op::close, .target = *h});
                a.client_->retire(*h);
            } else {
                auto s = stream::make(a.client_, *h);  // receives ahead at once
                if (!s) {
                    got.emplace(accepted{fail(errc::enclave_memory_exhausted), std::nullopt});
                } else {
                    auto peer = address::from_bytes({buf.data(), o->bytes});
                    got.emplace(accepted{std::move(s), peer ? std::optional(*peer) : std::nullopt});
                }
            }
        }
        --a.in_flight_;
        a.client_->give_back_eager();
        if (a.detached_ || !got) co_return;
        a.ready.push_back(std::move(*got));
        a.arrived.set();
    }

    client_ref client_;
    handle handle_ = 0;
    std::size_t ahead_ = 0;
    std::size_t in_flight_ = 0;
    bool detached_ = false;
};

}  // namespace detail

listener::~listener() {
    if (acceptor_) acceptor_->detach();
}

listener& listener::operator=(listener&& o) noexcept {
    if (this != &o) {
        if (acceptor_) acceptor_->detach();
        acceptor_ = std::move(o.acceptor_);
    }
    return *this;
}

bool listener::is_open() const noexcept {
    return acceptor_ && acceptor_->is_open();
}

handle listener::native_handle() const noexcept {
    return acceptor_ ? acceptor_->id() : 0;
}

std::size_t listener::accepted_ahead() const noexcept {
    return acceptor_ ? acceptor_->ready.size() : 0;
}

async::task<result<listener>> listener::listen(client& c, address at, listen_options options) {
    client_ref ref(c);
    auto h = c.make_handle(handle_kind::listener);
    if (!h) co_return unexpected(h.error());
    request r{.op = wire::op::listen, .target = *h, .makes = *h};
    r.args[0] = options.backlog;
    r.args[1] = (options.reuse_address ? wire::listen_reuse_address : 0) |
                (options.v6_only ? wire::listen_v6_only : 0) |
                (options.reuse_port ? wire::listen_reuse_port : 0) |
                (options.no_delay ? wire::listen_no_delay : 0);
    r.payload = at.bytes();
    auto o = co_await c.call(r);
    if (!o) co_return unexpected(o.error());  // the client retires *h
    std::shared_ptr<detail::acceptor> a;
    try {
        a = std::make_shared<detail::acceptor>(ref, *h, options.accepts_ahead);
    } catch (...) {
        (void)c.post({.op = wire::op::close, .target = *h});
        c.retire(*h);
        co_return fail(errc::enclave_memory_exhausted);
    }
    (void)a->accept_ahead();
    co_return listener(std::move(a));
}

async::task<result<socket>> listener::accept(address* peer) {
    std::shared_ptr<detail::acceptor> a = acceptor_;  // lives through the waits
    if (!a || !a->is_open()) co_return fail(errc::sys_bad_handle);
    while (a->ahead() != 0) {
        if (!a->ready.empty()) {
            auto got = std::move(a->ready.front());
            a->ready.pop_front();
            (void)a->accept_ahead();  // keep the count posted
            if (!got.socket) co_return unexpected(got.socket.error());
            if (peer != nullptr && got.peer) *peer = *got.peer;
            co_return socket(std::move(*got.socket));
        }
        if (!a->accept_ahead()) break;  // none can be posted ahead: accept on demand
        a->arrived.reset();
        if (!co_await a->arrived.wait()) co_return fail(errc::cancelled);
        if (!a->is_open()) co_return fail(errc::sys_bad_handle);
    }
    const client_ref& c = a->owner();
    auto h = c->make_handle(handle_kind::socket);
    if (!h) co_return unexpected(h.error());
    std::array<std::byte, wire::max_sockaddr> buf{};
    request r{.op = wire::op::accept, .target = a->id(), .makes = *h};
    r.args[0] = *h;
    r.into = buf;
    auto o = co_await c->call(r);
    if (!o) co_return unexpected(o.error());  // the client retires *h
    if (peer != nullptr) {
        auto addr = address::from_bytes({buf.data(), o->bytes});
        if (addr) *peer = *addr;
    }
    auto s = detail::stream::make(c, *h);
    if (!s) co_return fail(errc::enclave_memory_exhausted);
    co_return socket(std::move(s));
}

async::task<result<address>> listener::local_address() {
    std::shared_ptr<detail::acceptor> a = acceptor_;
    if (!a) co_return fail(errc::sys_bad_handle);
    co_return co_await detail::address_of(a->owner(), a->id(), handle_kind::listener,
                                          wire::op::local_address);
}

async::task<result<void>> listener::close() {
    std::shared_ptr<detail::acceptor> a = std::move(acceptor_);
    if (!a || !a->is_open()) co_return fail(errc::sys_bad_handle);
    a->detach(/*keep_handle=*/true);
    co_return co_await detail::close_and_wait(a->owner(), a->id(), handle_kind::listener);
}

}  // namespace airlock::sys
