// SPDX-License-Identifier: Apache-2.0
#pragma once
// bench/sys_native_files.hh: the `native` mode of `airlock-bench sys`'s file
// workloads: what a user would write without an enclave, on a host thread.
//
// With one operation in flight: plain synchronous calls (pread; read with
// the file's offset, back to 0 at the end; write on an O_APPEND file and
// fdatasync after every 64th). With k > 1: io_uring (liburing), k requests
// in flight from one thread, each resubmitted as it completes (the same
// preads, preads at consecutive offsets, and O_APPEND writes with an
// IORING_OP_FSYNC (DATASYNC) after every 64th, in the same slot).
//
// Thread contract: run_native_file starts one thread, pinned to `cpu`, and
// joins it before returning.

#include <cstdint>
#include <string>

namespace airlock::bench {

enum class file_workload : std::uint64_t { pread_4k = 0, read_64k = 1, append_4k = 2 };

// 4 KiB appends: one fdatasync per this many.
inline constexpr std::uint64_t appends_per_sync = 64;

struct file_run {
    bool ok = false;
    std::uint64_t ops = 0;
    std::uint64_t p50_ns = 0;
    std::uint64_t p99_ns = 0;
};

// Runs `w` for `seconds` on `path` (the file to read, `file_bytes` long, or
// the file to append to, truncated first) with `in_flight` operations.
[[nodiscard]] file_run run_native_file(file_workload w, const std::string& path,
                                       std::uint64_t file_bytes, std::size_t in_flight,
                                       double seconds, int cpu);

}  // namespace airlock::bench
