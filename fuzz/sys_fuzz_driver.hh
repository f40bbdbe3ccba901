// SPDX-License-Identifier: Apache-2.0
#pragma once
// fuzz/sys_fuzz_driver.hh: the sys layer's fuzz driver, shared by the
// libFuzzer target (fuzz/sys_fuzz.cc), the corpus replay test that every
// build runs (fuzz/sys_fuzz_replay.cc) and the seed generator
// (fuzz/sys_corpus_gen.cc).
//
// One input is one sys link between a real enclave-side sys::client (on an
// executor with a manual clock) and a fake host service that the input
// plays through the link's raw ring ends, answering the enclave's requests
// with completions the input makes (HOSTILE-INPUTS #12-15):
//
//   byte 0      bits 0-1 the client's max_requests (1, 2, 4, 64); bits 2-3
//               the link rings' capacity (4 KiB, 8 KiB, 16 KiB, 64 KiB)
//   then        actions, each an op byte (mod op::count) and its arguments;
//               a truncated argument reads as zero
//
// What the driver checks is listed at the top of sys_fuzz_driver.cc.
//
// Thread contract: single-threaded.

#include <cstddef>
#include <cstdint>

namespace airlock::fuzz {

// The action codes; arguments in brackets.
enum class sys_op : std::uint8_t {
    e_call,    // the enclave starts a call [u8 kind][u8 size][u8 flags]
    e_cancel,  // the enclave cancels one of its calls [u8 which, from the newest]
    h_take,    // the host takes every request waiting in the ring
    h_answer,  // the host answers a request it took [u8 which][u8 mode]...
    h_record,  // the host writes any message [u16 tag][u8 length][bytes]
    run,       // [u8 n] (n % 8 + 1) rounds of the enclave's executor
    h_stop,    // the service says it stopped (wire::service_state)
    count
};

// e_call kinds (kind % call_kinds): recv, read (into two buffers), send,
// accept (makes a handle), open (makes a handle), stat, list_dir,
// receive_from. Flags: bit 0 the call takes a cancellation token (and
// starts at once); bit 1 it starts at once (executor::spawn_now) instead of
// in the next round.
inline constexpr std::uint8_t call_kinds = 8;
inline constexpr std::uint8_t call_cancellable = 1;
inline constexpr std::uint8_t call_starts_now = 2;

// h_answer modes (mode % answer_modes); `n` below is a byte of the input.
enum class answer_mode : std::uint8_t {
    honest = 0,        // [u8 n] a completion within the call's contract
    honest_errno = 1,  // -ECANCELED, an errno any call may give
    too_many = 2,      // recv/read: more bytes than asked; send: more than given
    short_data = 3,    // recv/read: a count one more than the bytes that came
    stale_id = 4,      // the request's id, its generation's top bit flipped
    again = 5,         // the request's id once more (a duplicate once answered)
    arbitrary = 6,     // [u64 result][u64 aux][u8 length][bytes]
    bad_errno = 7,     // an errno outside every list
};
inline constexpr std::uint8_t answer_modes = 8;

}  // namespace airlock::fuzz

// Runs one input. Returns 0; aborts (a crash for libFuzzer) when the sys
// client breaks a guarantee the driver checks.
int run_sys_fuzz_input(const std::uint8_t* data, std::size_t size);
