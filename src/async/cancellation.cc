// SPDX-License-Identifier: Apache-2.0
// The shared state of cancellation sources and tokens: reference counts, the
// registration list under a spin lock, and running callbacks.
#include "airlock/async/cancellation.hh"

#include <thread>

#include "airlock/async/frame_pool.hh"
#include "airlock/base/check.hh"

namespace airlock::async {
namespace detail {

namespace {
// A per-thread address tells the requesting thread apart without a system call.
thread_local constinit char tls_cancel_marker = 0;

// Spins on a word another thread is about to change, yielding the CPU now
// and then: the other thread holds the lock for a few pointer writes, or
// runs one callback, and may have been descheduled meanwhile.
template <class Done>
void spin_until(Done&& done) noexcept {
    for (unsigned i = 0; !done(); ++i) {
        if (i < 64) {
            __builtin_ia32_pause();
        } else {
            std::this_thread::yield();
            i = 0;
        }
    }
}
}  // namespace

// Pooled like a coroutine frame: freed on whatever thread drops the last
// reference (frame_pool::deallocate takes remote frees).
class stop_state : public pooled_frame {
  public:
    // The creating source holds one reference and counts as one source.
    std::atomic<std::uint32_t> refs{1};
    std::atomic<std::uint32_t> sources{1};
    std::atomic<bool> requested{false};

    void lock() noexcept {
        while (locked_.exchange(true, std::memory_order_acquire))
            spin_until([this] { return !locked_.load(std::memory_order_relaxed); });
    }
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

    // Under the lock.
    void link(cancellation_registration& r) noexcept {
        r.prev_ = tail_;
        r.next_ = nullptr;
        if (tail_ != nullptr)
            tail_->next_ = &r;
        else
            head_ = &r;
        tail_ = &r;
        r.linked_.store(true, std::memory_order_release);
    }
    void unlink(cancellation_registration& r) noexcept {
        if (r.prev_ != nullptr)
            r.prev_->next_ = r.next_;
        else
            head_ = r.next_;
        if (r.next_ != nullptr)
            r.next_->prev_ = r.prev_;
        else
            tail_ = r.prev_;
        r.prev_ = r.next_ = nullptr;
        r.linked_.store(false, std::memory_order_release);
    }
    [[nodiscard]] cancellation_registration* head() const noexcept { return head_; }

    // The thread running the callbacks of the request (set before the first).
    std::atomic<const char*> runner{nullptr};

  private:
    std::atomic<bool> locked_{false};
    cancellation_registration* head_ = nullptr;
    cancellation_registration* tail_ = nullptr;
};

void retain(stop_state* s) noexcept {
    // relaxed: a new reference is made from an existing one.
    s->refs.fetch_add(1, std::memory_order_relaxed);
}

void release(stop_state* s) noexcept {
    // acq_rel: the last owner sees every other owner's writes before freeing.
    if (s->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete s;
}

bool stop_requested(const stop_state* s) noexcept {
    // acquire: pairs with the requester's exchange.
    return s->requested.load(std::memory_order_acquire);
}

bool stop_possible(const stop_state* s) noexcept {
    return stop_requested(s) || s->sources.load(std::memory_order_acquire) != 0;
}

}  // namespace detail

// ============================================================================
// cancellation_source

cancellation_source::cancellation_source() : state_(new detail::stop_state) {}

cancellation_source::cancellation_source(const cancellation_source& other) noexcept
    : state_(other.state_) {
    detail::retain(state_);
    state_->sources.fetch_add(1, std::memory_order_relaxed);
}

cancellation_source& cancellation_source::operator=(const cancellation_source& other) noexcept {
    if (this != &other) {
        cancellation_source copy(other);
        std::swap(state_, copy.state_);
    }
    return *this;
}

cancellation_source::~cancellation_source() {
    detail::stop_state* s = state_;
    if (s->sources.fetch_sub(1, std::memory_order_acq_rel) == 1 && !detail::stop_requested(s)) {
        // Nothing can cancel any more: detach the registrations, which would
        // otherwise wait for ever.
        s->lock();
        while (cancellation_registration* r = s->head())
            s->unlink(*r);
        s->unlock();
    }
    detail::release(s);
}

cancellation_token cancellation_source::token() const noexcept {
    detail::retain(state_);
    return cancellation_token(state_);
}

bool cancellation_source::request_cancellation() noexcept {
    detail::stop_state* s = state_;
    // acq_rel: the first requester publishes what it wrote before; the others return.
    if (s->requested.exchange(true, std::memory_order_acq_rel)) return false;
    s->runner.store(&detail::tls_cancel_marker, std::memory_order_relaxed);
    for (;;) {
        s->lock();
        cancellation_registration* r = s->head();
        if (r == nullptr) {
            s->unlock();
            break;
        }
        // Unlinked before it runs, so the callback may destroy it,
        // deregister others or register new ones (refused: requested is set).
        s->unlink(*r);
        r->done_.store(false, std::memory_order_relaxed);
        bool destroyed = false;
        r->destroyed_ = &destroyed;
        const cancellation_registration::callback fn = r->fn_;
        void* const context = r->context_;
        s->unlock();
        fn(context);
        if (!destroyed) {
            r->destroyed_ = nullptr;
            // release: a deregistering thread waiting on done_ sees the callback's effects.
            r->done_.store(true, std::memory_order_release);
        }
    }
    return true;
}

std::size_t cancellation_source::registrations() const noexcept {
    std::size_t n = 0;
    state_->lock();
    for (const cancellation_registration* r = state_->head(); r != nullptr; r = r->next_)
        ++n;
    state_->unlock();
    return n;
}

// ============================================================================
// cancellation_registration

cancellation_registration::cancellation_registration(const cancellation_token& token, callback fn,
                                                     void* context) noexcept {
    if (!try_register(token, fn, context) && token.is_cancellation_requested()) fn(context);
}

bool cancellation_registration::try_register(const cancellation_token& token, callback fn,
                                             void* context) noexcept {
    AIRLOCK_CHECK(state_ == nullptr, "a registration registered twice");
    detail::stop_state* s = token.state_;
    if (s == nullptr) return false;
    s->lock();
    if (detail::stop_requested(s) || s->sources.load(std::memory_order_relaxed) == 0) {
        s->unlock();
        return false;
    }
    fn_ = fn;
    context_ = context;
    done_.store(true, std::memory_order_relaxed);
    detail::retain(s);
    state_ = s;
    s->link(*this);
    s->unlock();
    return true;
}

void cancellation_registration::deregister_slow() noexcept {
    detail::stop_state* s = state_;
    s->lock();
    const bool was_linked = linked_.load(std::memory_order_relaxed);
    if (was_linked) s->unlink(*this);
    s->unlock();
    if (!was_linked && !done_.load(std::memory_order_acquire)) {
        if (s->runner.load(std::memory_order_relaxed) == &detail::tls_cancel_marker) {
            // Inside the callback itself (or another of the same request, on
            // this thread): tell the requester not to touch this node again.
            if (destroyed_ != nullptr) *destroyed_ = true;
        } else {
            // Running on another thread: wait until it has returned.
            detail::spin_until([this] { return done_.load(std::memory_order_acquire); });
        }
    }
    state_ = nullptr;
    detail::release(s);
}

// ============================================================================
// Bridges

linked_cancellation_source::linked_cancellation_source(const cancellation_token& parent,
                                                       const cancellation_token& second_parent,
                                                       std::stop_token std_parent)
    : parent_(parent, &forward, &source_),
      second_parent_(second_parent, &forward, &source_),
      std_parent_(std::move(std_parent), std_forward{&source_}) {}

void linked_cancellation_source::forward(void* source) noexcept {
    (void)static_cast<cancellation_source*>(source)->request_cancellation();
}

std_stop_bridge::std_stop_bridge(const cancellation_token& token) noexcept
    : registration_(token, &forward, &source_) {}

void std_stop_bridge::forward(void* source) noexcept {
    (void)static_cast<std::stop_source*>(source)->request_stop();
}

}  // namespace airlock::async
