// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/inbox.hh: the executor's cross-thread inbox.
//
// Defines `work_item`, an intrusive node carrying a callback that an
// executor runs on its own thread, and `detail::mpsc_inbox`, the lock-free
// multi-producer single-consumer list the executor receives them through.
// Producers push with a CAS loop (lock-free, no allocation: the node is
// theirs); the single consumer takes the whole list with one exchange and
// reverses it, so items run in the order their pushes took effect. Taking
// everything at once means no ABA: a node is never popped while a producer
// reads it. The executor keeps what it took in a private FIFO
// (`detail::work_queue`), from which an item can still be withdrawn by its
// owner on the executor's thread (a posted wake-up whose awaitable is
// destroyed first).
//
// Thread contract: `push` from any number of threads of the same side;
// `take_all` and `maybe_nonempty` from the owner thread only.
// Memory ordering: push is a release CAS, take_all an acquire exchange: what
// a producer wrote before posting (including the node itself) is visible to
// the callback that runs on the owner.

#include <atomic>

namespace airlock::async {

// `work_item` is a callback an executor runs once, on its thread. The poster
// owns the node and keeps it alive, unchanged, until `run` (or `discard`)
// has been called, or until it withdraws it (executor::withdraw); the
// executor never frees it.
struct work_item {
    using function = void (*)(work_item& self) noexcept;

    work_item() noexcept = default;
    explicit work_item(function fn, function on_discard = nullptr) noexcept
        : run(fn), discard(on_discard) {}

    function run = nullptr;
    // Called instead of `run` when the executor is destroyed with the item
    // still queued (null: nothing to undo).
    function discard = nullptr;
    work_item* next = nullptr;  // the inbox's link; the poster must not touch it
};

namespace detail {

class mpsc_inbox {
  public:
    // Any thread. Returns true when the inbox was empty before (the consumer
    // may be idle: the caller rings its doorbell either way).
    bool push(work_item& item) noexcept {
        work_item* head = head_.load(std::memory_order_relaxed);
        do {
            item.next = head;
            // release: publishes the node and everything written before post.
        } while (!head_.compare_exchange_weak(head, &item, std::memory_order_release,
                                              std::memory_order_relaxed));
        return head == nullptr;
    }

    // Owner thread: every item pushed so far, oldest first (null if none).
    [[nodiscard]] work_item* take_all() noexcept {
        if (head_.load(std::memory_order_relaxed) == nullptr) return nullptr;
        // acquire: pairs with the release CAS of each push taken here.
        work_item* lifo = head_.exchange(nullptr, std::memory_order_acquire);
        work_item* fifo = nullptr;
        while (lifo != nullptr) {
            work_item* next = lifo->next;
            lifo->next = fifo;
            fifo = lifo;
            lifo = next;
        }
        return fifo;
    }

    // Owner thread, idle check: a hint that take_all would find something.
    [[nodiscard]] bool maybe_nonempty() const noexcept {
        // acquire: cheap on the architectures Airlock runs on; the doorbell
        // handshake (ring/wait.hh) orders it against the poster's fence.
        return head_.load(std::memory_order_acquire) != nullptr;
    }

  private:
    std::atomic<work_item*> head_{nullptr};
};

// The owner's private FIFO of items taken from the inbox and not yet run.
class work_queue {
  public:
    [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
    // Appends a list linked through `next`, oldest first.
    void append(work_item* list) noexcept {
        if (list == nullptr) return;
        if (tail_ != nullptr)
            tail_->next = list;
        else
            head_ = list;
        while (list->next != nullptr)
            list = list->next;
        tail_ = list;
    }
    // The oldest item, unlinked; null when empty.
    work_item* pop() noexcept {
        work_item* item = head_;
        if (item == nullptr) return nullptr;
        head_ = item->next;
        if (head_ == nullptr) tail_ = nullptr;
        item->next = nullptr;
        return item;
    }
    // Unlinks `item`; false when it is not here. Linear: a rare path.
    bool remove(work_item& item) noexcept {
        work_item* prev = nullptr;
        for (work_item* at = head_; at != nullptr; prev = at, at = at->next) {
            if (at != &item) continue;
            (prev != nullptr ? prev->next : head_) = at->next;
            if (tail_ == at) tail_ = prev;
            at->next = nullptr;
            return true;
        }
        return false;
    }

  private:
    work_item* head_ = nullptr;
    work_item* tail_ = nullptr;
};

}  // namespace detail
}  // namespace airlock::async
