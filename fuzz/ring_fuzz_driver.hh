// SPDX-License-Identifier: Apache-2.0
#pragma once
// fuzz/ring_fuzz_driver.hh: the ring layer's fuzz driver, shared by the
// libFuzzer target (fuzz/ring_fuzz.cc), the corpus replay test that every
// build runs (fuzz/ring_fuzz_replay.cc) and the seed generator
// (fuzz/ring_corpus_gen.cc).
//
// An input is a region image followed by a stream of actions:
//
//   byte 0      geometry: which trusted region_geometry (mod geometry_count)
//   byte 1      flags: bit 0 wait hooks on the enclave endpoints; bits 1-2
//               the consumer's max_message (64, 4 KiB, 64 KiB, 1 MiB)
//   bytes 2-3   image length L, little-endian (clamped to the region size)
//   L bytes     the region's first L bytes; the rest of the region is zero
//   then        actions, each an op byte (mod op::count) and its arguments,
//               little-endian; a truncated argument reads as zero
//
// Ring 0 carries host -> enclave (the enclave consumes), ring 1 enclave ->
// host (the enclave produces). Actions are calls on the enclave endpoints,
// calls on honest host endpoints, and hostile writes. While the image is a
// freshly formatted region and no hostile write has touched a word the
// enclave or the honest host relies on, the driver also checks that every
// message arrives intact, in order, and that nothing faults.
//
// Thread contract: single-threaded; run_ring_fuzz_input is reentrant.

#include <cstddef>
#include <cstdint>

namespace airlock::fuzz {

inline constexpr std::uint8_t geometry_count = 4;

// The action codes; arguments in brackets.
enum class op : std::uint8_t {
    c_peek,            // enclave consumer try_peek, copy the record
    c_peek_release,    // try_peek; copy and release it if it is a whole message
    c_receive,         // try_receive
    c_poll,            // poll [u8 budget]
    c_publish,         // publish released space
    c_has_data,        // has_data
    c_wait,            // wait_for_data (short policy)
    p_send,            // enclave producer try_send [u16 length]
    p_reserve_commit,  // try_reserve [u16 length], write, commit (no publish)
    p_publish,         // publish
    p_send_large,      // try_send(outgoing_message) [u16 length x 4]
    p_abandon,         // abandon the message in progress
    p_wait,            // wait_for_space [u16 length]
    h_send,            // honest host producer: try_send(outgoing_message) [u16 length]
    h_abandon,         // honest host producer abandons its message in progress
    h_receive,         // honest host consumer try_receive
    x_write_word,      // hostile: region word [u16 index] = [u64 value]
    x_index_delta,     // hostile: index [u8 which] += [i16 delta] (x8 unless which & 4)
    x_header_at_head,  // hostile: ring 0 word at the published head = [u64 value]
    x_bell,            // hostile: doorbell [u8 which] = [u64 value]
    x_arm_injection,   // hostile: at the next hook call, word [u16 index] = [u64 value]
    // Appended, so that the ops above keep their numbers in the corpus.
    c_peek_run,  // enclave consumer try_peek_run [u8 max]; copy, release whole messages
    p_send_run,  // enclave producer try_send_run [u16 length] [u8 count]
    count
};

}  // namespace airlock::fuzz

// Runs one input. Returns 0; aborts (a crash for libFuzzer) when the ring
// layer breaks a guarantee the driver checks.
int run_ring_fuzz_input(const std::uint8_t* data, std::size_t size);
// True if the input's region image attaches: the input goes on past its
// first check to the actions (a seed made for an older wire format does not).
bool ring_fuzz_input_attaches(const std::uint8_t* data, std::size_t size);
