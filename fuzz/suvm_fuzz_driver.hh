// SPDX-License-Identifier: Apache-2.0
#pragma once
// fuzz/suvm_fuzz_driver.hh: one fuzz input against a suvm::space.
//
// The input is a stream of operations on a small space (16 pages of 1 KiB,
// 4 frames): enclave writes, reads, fills, s_ptr accesses, pins and
// flushes, and the host's tampering with the backing store (flip a byte,
// swap two slots, copy one over another, put back a saved older slot, zero a
// slot). Each input runs twice: on that cached space, then on a direct-mode
// space of the same size (sub-pages of 256, 512 or 1024 bytes by the
// input's length, whose slots the tampering then works on). A private reference copy of the data is
// the oracle. Guarantees, checked after every operation (a broken one aborts):
//   - until the host has changed a byte of the store, every operation
//     succeeds and every read equals the reference;
//   - after that, an operation either succeeds with the reference's data or
//     reports suvm_fault_integrity; never other data, never another error;
//   - once faulted, the space stays faulted.
//
// Thread contract: one thread per call.

#include <cstddef>
#include <cstdint>

// Runs one input; always returns 0 (libFuzzer's convention).
int run_suvm_fuzz_input(const std::uint8_t* data, std::size_t size);
