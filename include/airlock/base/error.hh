// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/base/error.hh: the one error vocabulary of Airlock.
//
// `errc` numbers every failure any layer can report, in per-layer ranges
// (ring 100s, async 200s, rpc 300s, platform 400s, sys 500s, suvm 600s,
// the parameter server 700s), so a code read in a log names its layer. Fallible calls return
// `airlock::expected<T>` (base/expected.hh) carrying an `errc`; the fast path
// never throws. `std::error_code` interop goes through `make_error_code`.
//
// Thread contract: everything here is immutable data and pure functions; any
// thread, either side.

#include <cstdint>
#include <string_view>
#include <system_error>

namespace airlock {

// `errc` is the complete list of failures. A code in the "fault" groups
// makes a channel sticky-faulted (it stays broken and reports that code);
// the others are ordinary outcomes the caller reacts to.
enum class errc : std::uint16_t {
    ok = 0,

    // --- ring: ordinary outcomes ----------------------------------------
    ring_empty = 100,         // nothing to read now (like EAGAIN)
    ring_full = 101,          // no room now: back-pressure, the message was not sent
    message_too_large = 102,  // exceeds the trusted per-message cap
    timed_out = 103,          // a bounded wait ran out (ring stayed full/empty)
    invalid_argument = 104,   // caller error: bad size, bad index, bad config

    // --- ring: region layout rejected at attach (HOSTILE-INPUTS #4) ------
    region_misaligned = 110,         // base not 64-byte aligned
    region_too_small = 111,          // size below what the trusted geometry needs
    region_bad_magic = 112,          // not an Airlock region
    region_bad_version = 113,        // wire-format version not understood
    region_geometry_mismatch = 114,  // header disagrees with the trusted geometry
    region_overlaps_enclave = 115,   // region intersects trusted (enclave) memory
    region_address_wraps = 116,      // base + size overflows the address space

    // --- ring: sticky faults found while running (HOSTILE-INPUTS #1-7, 23) ---
    fault_tail_beyond_capacity = 120,  // producer index more than `capacity` ahead
    fault_tail_rewound = 121,          // producer index moved backwards
    fault_head_beyond_tail = 122,      // consumer index ahead of what was produced
    fault_head_rewound = 123,          // consumer index moved backwards
    fault_index_misaligned = 124,      // index not a multiple of 8
    fault_record_header = 125,         // unknown kind, or a run count where none may be
    fault_record_length = 126,         // record longer than allowed or than available
    fault_record_straddles_end = 127,  // record crosses the end of the ring
    fault_padding = 128,               // wrap padding that does not end the ring
    fault_fragment_sequence = 129,     // fragment out of order / lengths disagree
    fault_fragment_total = 130,        // announced total above the trusted cap
    fault_pool_range = 131,            // a pooled message names bytes outside its pool
    fault_pool_return = 132,           // a returned pool buffer that is not outstanding

    // --- async -------------------------------------------------------------
    cancelled = 200,
    deadline_exceeded = 201,
    broken_promise = 202,  // a task or reply was destroyed before completing
    channel_closed = 203,  // an async channel was closed (and, for a receiver, drained)

    // --- rpc ---------------------------------------------------------------
    rpc_unknown_method = 300,
    rpc_unknown_call_id = 301,
    rpc_decode = 302,
    rpc_result_out_of_contract = 303,
    rpc_channel_faulted = 304,
    rpc_overloaded = 305,         // the server is running as many calls as it allows
    rpc_handler_failed = 306,     // the handler threw; the exception stays on its side
    rpc_message_too_large = 307,  // the encoded call or result exceeds max_message: not sent
    rpc_wrong_thread = 308,       // a call made on a thread that is not its endpoint's

    // --- platform ----------------------------------------------------------
    platform_unavailable = 400,
    enclave_died = 401,
    host_died = 402,
    enclave_memory_exhausted = 403,
    peer_stalled = 404,            // the peer made no progress on waiting calls within the bound
    enclave_context_failed = 405,  // the enclave program's context could not be built
    host_pool_full = 406,          // a host_worker_pool's queue is full: nothing ran
    host_work_failed = 407,        // work run by a host_worker_pool threw

    // --- sys ---------------------------------------------------------------
    sys_bad_result = 500,       // fault: a host result outside its call's contract
    sys_errno = 501,            // the call failed with a POSIX error (sys::error::number)
    sys_bad_handle = 502,       // a closed or stale handle, caught inside the enclave
    sys_faulted = 503,          // the sys link is faulted: an earlier result broke its contract
    sys_unknown_request = 504,  // fault: a completion for no request in flight
    sys_bad_errno = 505,        // fault: an errno the call cannot produce
    sys_busy = 506,             // every request slot or handle is in use
    sys_closed = 507,           // the sys client has shut down
    sys_bad_clock = 508,        // fault: a clock word went backwards or is torn for ever
    sys_service_stopped = 509,  // the host's sys service stopped: waiting and later calls fail
    sys_unsupported = 510,      // a call the client's transport does not make (poll on the ring)

    // --- suvm: ordinary outcomes --------------------------------------------
    suvm_out_of_range = 600,     // an address or length beyond the paged space
    suvm_cache_exhausted = 601,  // every cache frame is pinned: nothing can be evicted
    suvm_out_of_memory = 602,    // the space's allocator has no room left
    suvm_straddles_page = 603,   // the object crosses a page boundary: use load/store
    suvm_direct_space = 604,     // a pin or in-place reference into a direct-mode space,
                                 // which caches no page: use load/store, read/write

    // --- suvm: backing store rejected at attach ------------------------------
    suvm_store_misaligned = 610,        // base not 64-byte aligned
    suvm_store_too_small = 611,         // fewer bytes than the trusted geometry needs
    suvm_store_overlaps_enclave = 612,  // the store intersects trusted (enclave) memory
    suvm_store_address_wraps = 613,     // base + size overflows the address space
    suvm_crypto_unavailable = 614,      // libsodium failed to start or no key source

    // --- suvm: sticky faults of a space --------------------------------------
    suvm_fault_integrity = 620,  // a sealed page or sub-page failed authentication
                                 // (changed, swapped with another, replayed or truncated)

    // --- apps/ps: the parameter server's protocol (apps/ps/protocol.hh) ----
    ps_bad_length = 700,       // a frame's length disagrees with its op and count
    ps_unknown_op = 701,       // an op the server does not serve
    ps_unknown_id = 702,       // a feature id the model does not hold
    ps_batch_too_large = 703,  // more ids in one request than the server allows
    ps_frame_too_large = 704,  // a length above the largest frame: the connection closes
    ps_bad_header = 705,       // reserved header bits set
    ps_model_full = 706,       // the model's table has no room for another feature
    ps_bad_response = 707,     // a client got a reply that does not answer its request
};

// True for the codes that put a channel into its sticky faulted state.
[[nodiscard]] constexpr bool is_fault(errc e) noexcept {
    const auto v = static_cast<std::uint16_t>(e);
    return (v >= 120 && v < 200) || e == errc::rpc_channel_faulted || e == errc::sys_bad_result ||
           e == errc::sys_unknown_request || e == errc::sys_bad_errno || e == errc::sys_bad_clock;
}

// Stable, human-readable name of a code ("ring_full"); never null.
[[nodiscard]] std::string_view to_string(errc e) noexcept;

// The `std::error_category` named "airlock".
[[nodiscard]] const std::error_category& error_category() noexcept;

[[nodiscard]] inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

}  // namespace airlock

template <>
struct std::is_error_code_enum<airlock::errc> : std::true_type {};
