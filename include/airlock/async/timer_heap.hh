// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/async/timer_heap.hh: the executor's armed timers (internal).
//
// Defines `detail::timer_node`, an intrusive timer that lives inside the
// awaitable or object that armed it (a sleep, a deadline), and
// `detail::timer_heap`, a binary min-heap of node pointers ordered by
// (deadline, arming order), so timers with equal deadlines fire in the order
// they were armed. Each node knows its heap index: disarming one (cancelled,
// or its frame destroyed) is O(log n). The heap's array grows only when more
// timers are armed at once than ever before; at steady state arming
// allocates nothing.
//
// Thread contract: owner thread of the executor only. No atomics.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace airlock::async::detail {

struct timer_node {
    using function = void (*)(timer_node& self) noexcept;
    static constexpr std::size_t not_armed = std::numeric_limits<std::size_t>::max();

    std::uint64_t deadline_ns = 0;
    std::uint64_t sequence = 0;     // arming order: ties fire first-armed first
    std::size_t index = not_armed;  // position in the heap, or not_armed
    function fire = nullptr;        // called once when due, after removal
    [[nodiscard]] bool armed() const noexcept { return index != not_armed; }
};

class timer_heap {
  public:
    void reserve(std::size_t n) { nodes_.reserve(n); }
    [[nodiscard]] bool empty() const noexcept { return nodes_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }
    // Precondition: !empty().
    [[nodiscard]] timer_node& top() const noexcept { return *nodes_.front(); }

    void push(timer_node& node) {
        node.sequence = next_sequence_++;
        node.index = nodes_.size();
        nodes_.push_back(&node);
        sift_up(node.index);
    }

    // Removes an armed node (any position).
    void remove(timer_node& node) noexcept {
        const std::size_t i = node.index;
        node.index = timer_node::not_armed;
        timer_node* last = nodes_.back();
        nodes_.pop_back();
        if (last == &node) return;
        place(i, last);
        sift_down(i);
        sift_up(last->index);
    }

    // Removes every node without firing it (executor teardown).
    void clear() noexcept {
        for (timer_node* n : nodes_)
            n->index = timer_node::not_armed;
        nodes_.clear();
    }

  private:
    static bool before(const timer_node* a, const timer_node* b) noexcept {
        return a->deadline_ns != b->deadline_ns ? a->deadline_ns < b->deadline_ns
                                                : a->sequence < b->sequence;
    }
    void place(std::size_t i, timer_node* n) noexcept {
        nodes_[i] = n;
        n->index = i;
    }
    void sift_up(std::size_t i) noexcept {
        timer_node* n = nodes_[i];
        while (i > 0) {
            const std::size_t parent = (i - 1) / 2;
            if (!before(n, nodes_[parent])) break;
            place(i, nodes_[parent]);
            i = parent;
        }
        place(i, n);
    }
    void sift_down(std::size_t i) noexcept {
        timer_node* n = nodes_[i];
        const std::size_t count = nodes_.size();
        for (;;) {
            std::size_t child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && before(nodes_[child + 1], nodes_[child])) ++child;
            if (!before(nodes_[child], n)) break;
            place(i, nodes_[child]);
            i = child;
        }
        place(i, n);
    }

    std::vector<timer_node*> nodes_;
    std::uint64_t next_sequence_ = 0;
};

}  // namespace airlock::async::detail
