// SPDX-License-Identifier: Apache-2.0
// The `sim` platform: the enclave runs on threads of the host process.
//
// Everything the enclave side does goes through the same path it would on
// hardware: it attaches the region with its own trusted geometry, keeps
// private copies, and talks only through the rings. What sim cannot enforce
// (no syscalls, no host pointers) the `process` platform does.
//
// A monitor thread runs the liveness check (enclave_internal.hh) as the
// process platform's does: an enclave thread that stops making progress on
// waiting calls fails every open channel with peer_stalled. It cannot be
// stopped or killed (it is a thread of this process): the destructor still
// waits for it.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <latch>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "airlock/platform/enclave.hh"
#include "airlock/platform/futex_wait.hh"
#include "enclave_internal.hh"
#include "log_internal.hh"

namespace airlock::platform {

namespace {

// Untrusted memory for the region, page-aligned.
struct region_memory {
    explicit region_memory(std::size_t n)
        : size(n), data(static_cast<std::byte*>(::operator new (n, std::align_val_t{4096}))) {
        std::memset(data, 0, size);
    }
    ~region_memory() { ::operator delete (data, std::align_val_t{4096}); }
    region_memory(const region_memory&) = delete;
    region_memory& operator=(const region_memory&) = delete;
    std::size_t size;
    std::byte* data;
};

class sim_enclave;

using sim_host_channel = detail::owned_host_channel<sim_enclave>;

class sim_enclave final : public enclave {
  public:
    sim_enclave(const enclave_config& config, std::size_t region_size)
        : config_(config),
          geometry_(channel_geometry(config.enclave_threads, config.ring_capacity,
                                     config.service_links, config.service_ring_capacity,
                                     config.pool_bytes)),
          region_size_(region_size),
          memory_(region_size + detail::untrusted_memory_bytes(config)),
          transition_(config.transition_cycles),
          executors_(config.enclave_threads, nullptr) {}

    ~sim_enclave() override {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        monitor_wake_.notify_all();
        if (monitor_.joinable()) monitor_.join();
        for (async::executor* ex : executors_)
            if (ex != nullptr) ex->request_stop();  // thread-safe entry point
        for (std::thread& t : threads_)
            t.join();
        if (context_ != nullptr) entry_.destroy(context_);  // after every thread that uses it
        drain_.reset();  // the last records, after the threads that wrote them
    }

    expected<void> start(detail::program_entry entry) {
        entry_ = std::move(entry);
        auto formatted = ring::region::format({memory_.data, region_size_}, geometry_);
        if (!formatted) return unexpected(formatted.error());
        host_region_ = std::move(*formatted);
        drain_.emplace(host_region_, log_ring(config_.enclave_threads, 0), config_.enclave_threads);
        // The context, built once before any program runs (on sim, by the
        // thread that calls create: the enclave is this process).
        if (entry_.build != nullptr) {
            errc error = errc::enclave_context_failed;
            context_ = entry_.build(entry_.settings, error);
            if (context_ == nullptr) return unexpected(error);
        }
        std::latch ready(static_cast<std::ptrdiff_t>(config_.enclave_threads));
        for (std::size_t i = 0; i < config_.enclave_threads; ++i)
            threads_.emplace_back([this, i, &ready] { enclave_main(i, ready); });
        ready.wait();
        for (errc e : start_errors_)
            if (e != errc::ok) return unexpected(e);
        if (config_.stall_timeout_ns != 0) monitor_ = std::thread([this] { monitor(); });
        return {};
    }

    platform_kind kind() const noexcept override { return platform_kind::sim; }
    std::size_t channels() const noexcept override { return config_.enclave_threads; }
    std::unique_ptr<host_channel> open_channel(std::size_t i,
                                               async::executor_options options) override {
        return channels_.open(
            mutex_, i,
            [&](rpc::endpoint_handover* resume) {
                return std::make_unique<sim_host_channel>(*this, host_region_, i, hooks(),
                                                          config_.rpc, options, resume);
            },
            [&](sim_host_channel& ch) {
                if (stalled_) ch.post_failure(errc::peer_stalled);
            });
    }
    errc failure() const noexcept override { return failure_.load(std::memory_order_acquire); }
    std::string diagnostic() const override {
        std::lock_guard lock(mutex_);
        return diagnostic_;
    }
    void forget(sim_host_channel& ch, rpc::endpoint_handover&& left) noexcept {
        std::lock_guard lock(mutex_);
        channels_.closed(ch, std::move(left));
    }
    ring::wait_hooks& hooks() noexcept override { return futex_wait_hooks::instance(); }
    const modelled_transition& transition() const noexcept override { return transition_; }
    const void* region_base() const noexcept override { return memory_.data; }
    const ring::region_geometry& geometry() const noexcept override { return geometry_; }
    service_link link(std::size_t thread, std::size_t l) const override {
        AIRLOCK_CHECK(thread < channels() && l < config_.service_links, "no such service link");
        return link_view(host_region_, config_.enclave_threads, config_.service_links, thread, l);
    }
    std::span<std::byte> untrusted_memory() const noexcept override {
        return {memory_.data + region_size_, memory_.size - region_size_};
    }

  private:
    // The monitor thread: the liveness check four times per
    // stall_timeout_ns, until the destructor or a stall.
    void monitor() {
        const std::uint64_t period =
            std::clamp<std::uint64_t>(config_.stall_timeout_ns / 4, 1'000'000, 1'000'000'000);
        detail::liveness_check liveness(config_.enclave_threads);
        std::unique_lock lock(mutex_);
        for (;;) {
            if (monitor_wake_.wait_for(lock, std::chrono::nanoseconds(period),
                                       [this] { return stopping_; }))
                return;
            lock.unlock();
            const auto stall =
                liveness.check(host_region_, hooks().now_ns(), config_.stall_timeout_ns);
            lock.lock();
            if (!stall) continue;
            stalled_ = true;
            diagnostic_ = "stalled: channel " + std::to_string(stall->channel) +
                          " had calls unread for " + std::to_string(stall->for_ns / 1'000'000) +
                          " ms and the enclave made no progress on it";
            failure_.store(errc::peer_stalled, std::memory_order_release);
            for (sim_host_channel* ch : channels_.open())
                ch->post_failure(errc::peer_stalled);
            return;  // a stalled enclave stays stalled
        }
    }

    // The body of enclave thread i: attach with trusted geometry, build the
    // executor and endpoint, run the program, then serve until stopped.
    void enclave_main(std::size_t i, std::latch& ready) {
        detail::pin_enclave_thread(config_, i);
        auto region = ring::region::attach({memory_.data, region_size_}, geometry_);
        if (!region) {
            start_errors_[i] = region.error();
            ready.count_down();
            return;
        }
        async::executor ex(region->doorbell(enclave_bell(i)), hooks(), config_.executor);
        rpc::endpoint<rpc::side::enclave> ep(ex, region->ring(enclave_to_host_ring(i)),
                                             region->ring(host_to_enclave_ring(i)),
                                             enclave_wiring(*region, i, hooks()), config_.rpc);
        detail::enclave_logger logger(region->ring(log_ring(config_.enclave_threads, i)), i);
        std::vector<service_link> links;
        for (std::size_t l = 0; l < config_.service_links; ++l)
            links.push_back(
                link_view(*region, config_.enclave_threads, config_.service_links, i, l));
        std::vector<std::shared_ptr<void>> keep_alive;
        enclave_thread ctx{i, ex, ep, region->base(), links, &keep_alive, untrusted_memory()};
        ctx.sealed = false;  // the enclave thread may make system calls
        entry_.run(entry_.program, ctx, context_);
        executors_[i] = &ex;
        ready.count_down();
        ex.run();            // until the destructor's request_stop
        keep_alive.clear();  // before the executor, which they may use
    }

    enclave_config config_;
    ring::region_geometry geometry_;
    std::size_t region_size_;
    region_memory memory_;  // the region, then the untrusted memory
    ring::region host_region_;
    std::optional<detail::log_drain> drain_;
    modelled_transition transition_;
    std::vector<async::executor*> executors_;  // published before `ready`, read after it
    std::vector<errc> start_errors_ = std::vector<errc>(config_.enclave_threads, errc::ok);
    detail::program_entry entry_;
    void* context_ = nullptr;  // the program's context, when it has one
    std::vector<std::thread> threads_;

    std::thread monitor_;
    mutable std::mutex mutex_;  // guards everything below, with the monitor
    std::condition_variable monitor_wake_;
    bool stopping_ = false;
    bool stalled_ = false;
    std::string diagnostic_;
    detail::host_channel_book<sim_host_channel> channels_{config_.enclave_threads};
    std::atomic<errc> failure_{errc::ok};
};

}  // namespace

expected<std::unique_ptr<enclave>> detail::create_sim_enclave(const enclave_config& config,
                                                              program_entry entry) {
    auto size = ring::region::required_size(
        channel_geometry(config.enclave_threads, config.ring_capacity, config.service_links,
                         config.service_ring_capacity, config.pool_bytes));
    if (!size) return unexpected(size.error());
    auto e = std::make_unique<sim_enclave>(config, *size);
    if (auto started = e->start(std::move(entry)); !started) return unexpected(started.error());
    return std::unique_ptr<enclave>(std::move(e));
}

}  // namespace airlock::platform
