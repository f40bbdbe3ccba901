// SPDX-License-Identifier: Apache-2.0
#pragma once
// src/platform/enclave_internal.hh: the platforms behind enclave::create.
//
// enclave::create (src/platform/enclave.cc) checks what every platform
// needs and dispatches to one of these constructors; each returns a started
// enclave or the reason it could not start.
//
// Also the liveness check both platforms run on a host thread of their own.
//
// Thread contract: called on the host thread that calls enclave::create;
// a liveness_check belongs to the one thread that runs it.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "airlock/async/executor.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/ring/region.hh"
#include "airlock/ring/shared_memory.hh"
#include "airlock/rpc/endpoint_base.hh"

namespace airlock::platform::detail {

// enclave_config::untrusted_memory rounded up to whole 4096-byte pages.
[[nodiscard]] inline std::size_t untrusted_memory_bytes(const enclave_config& config) noexcept {
    return (config.untrusted_memory + 4095) / 4096 * 4096;
}

// Pins enclave thread `i` to config.cpus[i % size] (best effort: a CPU that
// does not exist leaves it where it is); no-op when cpus is empty.
void pin_enclave_thread(const enclave_config& config, std::size_t i) noexcept;

// A channel's enclave side is stalled when calls wait unread in its
// host→enclave ring and, for stall_timeout_ns, the enclave has neither read
// from that ring nor written to its enclave→host ring. An idle enclave
// (nothing unread) is never stalled. The indices are read from shared
// memory once per check and only compared: a hostile enclave can at worst
// look alive or stalled.
class liveness_check {
  public:
    struct stall {
        std::size_t channel;
        std::uint64_t for_ns;  // how long it made no progress
    };
    explicit liveness_check(std::size_t channels) : channels_(channels) {}
    // Checks every channel of `region` at `now`; the first found stalled
    // for `bound` or longer, if any.
    [[nodiscard]] std::optional<stall> check(const ring::region& region, std::uint64_t now,
                                             std::uint64_t bound) noexcept {
        for (std::size_t i = 0; i < channels_.size(); ++i) {
            const ring::ring_view in = region.ring(host_to_enclave_ring(i));
            const ring::ring_view out = region.ring(enclave_to_host_ring(i));
            const std::uint64_t written = ring::shared::load_acquire(in.control->tail);
            const std::uint64_t read = ring::shared::load_acquire(in.control->head);
            const std::uint64_t produced = ring::shared::load_acquire(out.control->tail);
            channel& c = channels_[i];
            if (written == read || read != c.read || produced != c.produced || c.since == 0) {
                c = {read, produced, now};  // idle, or progress: the clock restarts
                continue;
            }
            if (now - c.since >= bound) return stall{i, now - c.since};
        }
        return std::nullopt;
    }

  private:
    struct channel {
        std::uint64_t read = 0;      // host→enclave head at the last progress
        std::uint64_t produced = 0;  // enclave→host tail at the last progress
        std::uint64_t since = 0;     // when it was last seen to progress (0: never looked)
    };
    std::vector<channel> channels_;
};

// src/platform/sim_enclave.cc: enclave threads in the host process.
[[nodiscard]] expected<std::unique_ptr<enclave>> create_sim_enclave(const enclave_config& config,
                                                                    program_entry entry);
// src/platform/process_enclave.cc: a forked, sealed enclave process.
[[nodiscard]] expected<std::unique_ptr<enclave>> create_process_enclave(
    const enclave_config& config, program_entry entry);

// Fails a host channel's endpoint on the channel's own thread, once: the
// platform finds the failure (a dead or stalled enclave) on another thread.
// Declare it before the channel's executor: an item still queued when the
// executor dies must outlive it.
class endpoint_failure {
  public:
    // Posts to `ex` the failure of `ep` with `reason`; later calls do nothing.
    // Called under the enclave's mutex.
    void post(async::executor& ex, rpc::endpoint_base& ep, errc reason) noexcept {
        if (posted_) return;
        posted_ = true;
        item_.endpoint = &ep;
        item_.reason = reason;
        ex.post(item_);
    }

  private:
    struct item : async::work_item {
        item() noexcept : work_item(&run_it) {}
        static void run_it(work_item& self) noexcept {
            auto& i = static_cast<item&>(self);
            i.endpoint->fail(i.reason);
        }
        rpc::endpoint_base* endpoint = nullptr;
        errc reason = errc::ok;
    };
    item item_;
    bool posted_ = false;
};

// The host side of channel `i` of an enclave of type `Owner`: its executor,
// its endpoint, and the failure the enclave posts to it from another thread.
// The owner keeps its open channels in a host_channel_book, for the
// failures and for what a closed channel leaves to its next opening.
template <class Owner>
class owned_host_channel final : public host_channel {
  public:
    // `resume`: what the channel's last host side left, or null.
    owned_host_channel(Owner& owner, const ring::region& region, std::size_t i,
                       ring::wait_hooks& hooks, const rpc::endpoint_options& rpc_options,
                       async::executor_options executor_options, rpc::endpoint_handover* resume)
        : owner_(owner),
          index_(i),
          executor_(region.doorbell(host_bell(i)), hooks, executor_options),
          endpoint_(executor_, region.ring(host_to_enclave_ring(i)),
                    region.ring(enclave_to_host_ring(i)), host_wiring(region, i, hooks),
                    rpc_options, resume) {}
    ~owned_host_channel() override { owner_.forget(*this, endpoint_.hand_over()); }
    owned_host_channel(const owned_host_channel&) = delete;
    owned_host_channel& operator=(const owned_host_channel&) = delete;

    async::executor& executor() noexcept override { return executor_; }
    rpc::endpoint<rpc::side::host>& endpoint() noexcept override { return endpoint_; }
    [[nodiscard]] std::size_t index() const noexcept { return index_; }

    // The enclave died or stalled: fail the endpoint on its own thread.
    // Called under the owner's mutex; only the first call counts.
    void post_failure(errc reason) noexcept { failure_.post(executor_, endpoint_, reason); }

  private:
    Owner& owner_;
    std::size_t index_;
    endpoint_failure failure_;  // before the executor
    async::executor executor_;
    rpc::endpoint<rpc::side::host> endpoint_;
};

// An enclave's book of its host channels, kept under the enclave's mutex:
// which are open or opening (at most one host channel per channel), which
// are open (the enclave posts its failure to each), and what each closed
// one left (rpc::endpoint_handover), so that a channel opened again, on any
// thread, goes on where the last one stopped.
template <class Channel>
class host_channel_book {
  public:
    explicit host_channel_book(std::size_t channels) : taken_(channels), left_(channels) {}

    // Opens channel `i`: `make(resume)` builds its host channel from what
    // the last one left (null the first time), then `opened(channel)` runs
    // with it registered. `mutex` (the owner's) guards the book; it is
    // held around the bookkeeping and `opened`, not around `make`. If
    // `make` throws, the channel is free again and what was left is kept
    // (the endpoint takes it only once nothing can fail).
    template <class Make, class Opened>
    std::unique_ptr<Channel> open(std::mutex& mutex, std::size_t i, Make&& make, Opened&& opened) {
        std::optional<rpc::endpoint_handover> left;
        {
            std::lock_guard lock(mutex);
            AIRLOCK_CHECK(i < taken_.size(), "no such channel");
            AIRLOCK_CHECK(!taken_[i], "a channel is open once at a time");
            taken_[i] = true;
            left = std::exchange(left_[i], std::nullopt);
        }
        std::unique_ptr<Channel> ch;
        try {
            ch = make(left ? &*left : nullptr);
        } catch (...) {
            std::lock_guard lock(mutex);
            taken_[i] = false;
            left_[i] = std::move(left);
            throw;
        }
        std::lock_guard lock(mutex);
        open_.push_back(ch.get());
        opened(*ch);
        return ch;
    }
    // `ch` closes, leaving `left` for the channel's next opening.
    void closed(Channel& ch, rpc::endpoint_handover&& left) noexcept {
        std::erase(open_, &ch);
        left_[ch.index()].emplace(std::move(left));
        taken_[ch.index()] = false;
    }
    [[nodiscard]] std::span<Channel* const> open() const noexcept { return open_; }

  private:
    std::vector<Channel*> open_;
    std::vector<bool> taken_;
    std::vector<std::optional<rpc::endpoint_handover>> left_;
};

}  // namespace airlock::platform::detail
