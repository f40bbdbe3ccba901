// SPDX-License-Identifier: Apache-2.0
// Requesting cancellation and detaching registrations: the slow path.
#include "airlock/async/cancellation.hh"

namespace airlock::async {

cancellation_source::~cancellation_source() {
    while (head_ != nullptr)
        head_->deregister();
}

bool cancellation_source::request_cancellation() noexcept {
    if (requested_) return false;
    requested_ = true;
    // Unlink each registration before its callback runs, so that the
    // callback may destroy it, deregister others or register new ones (a new
    // one is refused: requested_ is already set).
    while (cancellation_registration* r = head_) {
        const cancellation_registration::callback fn = r->fn_;
        void* const context = r->context_;
        r->deregister();
        fn(context);
    }
    return true;
}

std::size_t cancellation_source::registrations() const noexcept {
    std::size_t n = 0;
    for (const cancellation_registration* r = head_; r != nullptr; r = r->next_)
        ++n;
    return n;
}

cancellation_registration::cancellation_registration(cancellation_token token, callback fn,
                                                     void* context) noexcept {
    if (!try_register(token, fn, context) && token.is_cancellation_requested()) fn(context);
}

}  // namespace airlock::async
