// SPDX-License-Identifier: Apache-2.0
// host_worker_pool: N host threads draining one bounded queue.
#include "airlock/platform/host_worker_pool.hh"

namespace airlock::platform {

host_worker_pool::host_worker_pool(std::size_t threads, std::size_t queue_capacity)
    : capacity_(queue_capacity == 0 ? 1 : queue_capacity) {
    if (threads == 0) threads = 1;
    workers_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i)
        workers_.emplace_back([this] { work(); });
}

host_worker_pool::~host_worker_pool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_)
        t.join();
}

bool host_worker_pool::try_submit(std::function<void()> job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= capacity_) return false;
        queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

void host_worker_pool::work() noexcept {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and the queue drained
            job = std::move(queue_.front());
            queue_.pop_front();
        }
        job();
    }
}

}  // namespace airlock::platform
