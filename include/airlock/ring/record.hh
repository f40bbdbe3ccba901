// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/ring/record.hh: what a ring consumer hands out.
//
// `record` and `record_run` are zero-copy views of payload still in the ring
// (ring_consumer::try_peek, try_peek_run): their headers were validated from
// one private snapshot, their payload is in hostile memory, so the only ways
// to read it copy it out once through the shared-memory accessor. `message`
// is a whole message already copied into private memory (try_receive).
//
// Thread contract: a view belongs to the consumer's thread and is valid until
// it is released (or, for `message`, until the next receive).

#include <cstddef>
#include <cstdint>
#include <span>

#include "airlock/base/check.hh"
#include "airlock/ring/layout.hh"
#include "airlock/ring/shared_memory.hh"

namespace airlock::ring {

class ring_consumer;

// `record` is one record in the ring: a message (alone, or one of a run) or
// a fragment of a streamed one.
class record {
  public:
    [[nodiscard]] std::uint16_t tag() const noexcept { return tag_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] wire::record_kind kind() const noexcept { return kind_; }
    // Copies payload bytes [offset, offset + dst.size()) into private memory;
    // offset is a multiple of 8; precondition: within size().
    void copy_to(std::span<std::byte> dst, std::size_t offset = 0) const noexcept {
        AIRLOCK_CHECK(offset % 8 == 0 && offset <= size_ && dst.size() <= size_ - offset,
                      "record read out of bounds");
        shared::copy_out(dst.data(), payload_ + offset / 8, dst.size());
    }
    // Reads payload word `index` once; precondition: index < ceil(size() / 8).
    [[nodiscard]] std::uint64_t read_word(std::size_t index) const noexcept {
        AIRLOCK_CHECK(index < (size_ + 7) / 8, "record word out of bounds");
        return shared::load_relaxed(payload_[index]);
    }

  private:
    friend class ring_consumer;
    friend class record_run;
    const shared_u64* payload_ = nullptr;
    std::uint64_t end_ = 0;  // private head after this record
    std::uint32_t size_ = 0;
    std::uint16_t tag_ = 0;
    wire::record_kind kind_ = wire::record_kind::message;
};

// `record_run` is `count()` consecutive messages of one size and tag, as the
// producer's runs put them in the ring (ring_consumer::try_peek_run); a
// record that is not a message (a fragment) comes as a run of one. Each
// message starts 8-byte aligned, `stride()` bytes after the one before.
class record_run {
  public:
    [[nodiscard]] std::uint16_t tag() const noexcept { return first_.tag_; }
    // Bytes of each message.
    [[nodiscard]] std::size_t size() const noexcept { return first_.size_; }
    [[nodiscard]] std::size_t count() const noexcept { return count_; }
    [[nodiscard]] wire::record_kind kind() const noexcept { return first_.kind_; }
    // Ring bytes from one message to the next: size() rounded up to 8.
    [[nodiscard]] std::size_t stride() const noexcept { return wire::round_up8(first_.size_); }
    // Copies every message, one after another with no gaps between them,
    // into private memory; precondition: dst.size() >= count() * size().
    // Messages whose size is a multiple of 8 lie in the ring just so: one
    // copy of all of them.
    void copy_to(std::span<std::byte> dst) const noexcept {
        const std::size_t n = first_.size_;
        AIRLOCK_CHECK(dst.size() / count_ >= n, "record run read out of bounds");
        if (n % 8 == 0) {
            shared::copy_out(dst.data(), first_.payload_, count_ * n);
            return;
        }
        for (std::size_t i = 0; i < count_; ++i)
            shared::copy_out(dst.data() + i * n, first_.payload_ + i * (stride() / 8), n);
    }
    // Message `index` of the run; precondition: index < count().
    [[nodiscard]] record message(std::size_t index) const noexcept {
        AIRLOCK_CHECK(index < count_, "record run index out of bounds");
        record r = first_;
        r.payload_ += index * (stride() / 8);
        r.end_ = first_.end_ + index * stride();
        return r;
    }

  private:
    friend class ring_consumer;
    explicit record_run(const record& first) noexcept : first_(first) {}
    // The private head after the last message.
    [[nodiscard]] std::uint64_t end() const noexcept {
        return first_.end_ + (count_ - 1) * stride();
    }
    record first_;           // the first message; its end_ is where the second starts
    std::size_t count_ = 1;  // at least 1
};

// `message` is a received message in private memory, valid until the next
// receive on the same consumer.
struct message {
    std::uint16_t tag = 0;
    std::span<const std::byte> bytes;
};

}  // namespace airlock::ring
