// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/sys/protocol.hh: the messages of a sys link (enclave <-> host service).
//
// A sys link is a service link of the platform (platform/enclave.hh): one
// ring of requests to the host's sys service, one ring of completions back.
// A request is one ring message whose tag is its `op` and whose payload is
// `request_words` little-endian u64 words (request id, handle, four
// arguments) followed by the call's bytes (data to send or write, a path, an
// address). A completion is one message with tag `completion_tag`:
// `completion_words` words (request id, result, aux) then the data (bytes
// read, an address, a stat record, directory entries).
//
// Request ids and handles are made by the enclave: slot index in the low 32
// bits, the slot's generation in the high 32 (never 0). The host never hands
// the enclave a file descriptor; it keeps its own table from the enclave's
// handle to its fd. `result` is >= 0 for success (a byte count, an entry
// count or 0) or -errno, as io_uring reports it.
//
// The link's first shared words hold the host's clock (a seqlock: `clock_seq`
// odd while the host writes), read by sys/clock.hh; the last says whether
// the service has stopped.
//
// Thread contract: types and constants only; any thread.

#include <cstddef>
#include <cstdint>

namespace airlock::sys::wire {

enum class op : std::uint16_t {
    // sockets
    listen = 1,         // args: family, backlog, flags (listen_flag); payload: sockaddr
    accept = 2,         // handle: listener; args[0]: the new handle; reply: peer sockaddr
    connect = 3,        // args[0]: the new handle, args[1]: flags; payload: sockaddr
    recv = 4,           // asked = args[0]; reply: the bytes
    send = 5,           // payload: the bytes; result: bytes sent
    shutdown = 6,       // args[0]: SHUT_RD/WR/RDWR
    close = 7,          // any handle
    set_option = 8,     // args: option (socket_option), value
    local_address = 9,  // reply: sockaddr
    peer_address = 10,  // reply: sockaddr
    udp_bind = 11,      // target: the new handle; payload: sockaddr
    send_to = 12,       // args[0]: sockaddr length; payload: sockaddr then the bytes
    receive_from = 13,  // asked = args[0]; reply: aux = sockaddr length, data = sockaddr
                        // then the bytes (result of them)
    // files
    open = 20,       // args[0]: the new handle, args[1]: flags, args[2]: mode; payload: path
    read = 21,       // = pread at the enclave's offset: args[0]: asked, args[1]: offset
    write = 22,      // args[1]: offset; payload: the bytes
    fsync = 23,      // args[0]: 1 = fdatasync
    ftruncate = 24,  // args[0]: length
    fstat = 25,      // reply: stat_record
    stat = 26,       // payload: path; reply: stat_record
    unlink = 27,     // payload: path
    rename = 28,     // args[0]: length of the first path; payload: both paths
    mkdir = 29,      // args[0]: mode; payload: path
    rmdir = 30,      // payload: path
    list_dir = 31,   // args[0]: asked bytes, args[1]: cookie; payload: path
                     // reply: entries; result: count, aux: next cookie (0: end)
    append = 32,     // write at the end: payload: the bytes (O_APPEND files)
    // readiness (the transition transport's only: its calls block, so a
    // thread serving many sockets first waits until one is ready)
    poll = 33,  // args[0]: entries, args[1]: timeout in ms (int64, < 0: none);
                // payload: per entry a handle and its events (poll_* bits);
                // reply: result = entries ready, data = per entry a word of
                // the events that happened
};
inline constexpr std::uint16_t max_op = 33;

// Set in a request's tag by a client of the transition transport on a
// sealed platform (sys/transition.hh): the service hands a link whose first
// request carries it to a host thread of its own, which makes each call
// with a blocking system call, one at a time, as an ocall would. The op is
// the tag without it.
inline constexpr std::uint16_t transition_flag = 0x8000;

inline constexpr std::uint16_t completion_tag = 1;
inline constexpr std::size_t request_words = 6;
inline constexpr std::size_t completion_words = 3;
inline constexpr std::size_t request_header_bytes = request_words * 8;
inline constexpr std::size_t completion_header_bytes = completion_words * 8;

// The most bytes one read, recv, write or send moves; larger calls are
// short (as POSIX allows), and the *_all helpers loop.
inline constexpr std::size_t max_io = std::size_t{64} << 10;
inline constexpr std::size_t max_path = 4096;
// A sockaddr in a message: at most sizeof(sockaddr_storage).
inline constexpr std::size_t max_sockaddr = 128;
// The largest message either way, the consumers' trusted cap.
inline constexpr std::size_t max_message = max_io + 2 * max_path + 64;

// listen flags
inline constexpr std::uint64_t listen_reuse_address = 1;
inline constexpr std::uint64_t listen_v6_only = 2;
inline constexpr std::uint64_t listen_reuse_port = 4;
inline constexpr std::uint64_t listen_no_delay = 8;

// poll events, as Linux numbers them (poll(2)). An entry asks for
// poll_in and/or poll_out; the reply may add poll_err, poll_hup and
// poll_nval (a handle the host does not know) whatever was asked.
inline constexpr std::uint64_t poll_in = 0x1;
inline constexpr std::uint64_t poll_out = 0x4;
inline constexpr std::uint64_t poll_err = 0x8;
inline constexpr std::uint64_t poll_hup = 0x10;
inline constexpr std::uint64_t poll_nval = 0x20;
inline constexpr std::uint64_t poll_events = poll_in | poll_out | poll_err | poll_hup | poll_nval;
// The most entries one poll asks about.
inline constexpr std::size_t max_poll_entries = 4096;

enum class socket_option : std::uint64_t { no_delay = 1, keep_alive = 2, reuse_address = 3 };

// What fstat and stat reply: eight words.
struct stat_record {
    std::uint64_t size = 0;
    std::uint64_t mode = 0;  // st_mode: type and permission bits
    std::uint64_t nlink = 0;
    std::uint64_t uid = 0;
    std::uint64_t gid = 0;
    std::uint64_t mtime_ns = 0;
    std::uint64_t inode = 0;
    std::uint64_t blocks = 0;
};
inline constexpr std::size_t stat_record_words = 8;
static_assert(sizeof(stat_record) == stat_record_words * 8);

// One directory entry in a list_dir reply: a word of d_type, a word of name
// length, then the name, zero-padded to a multiple of 8.
inline constexpr std::size_t dir_entry_header_bytes = 16;
inline constexpr std::size_t max_name = 255;

// Clock words, indices into the link's shared words.
inline constexpr std::size_t clock_seq = 0;
inline constexpr std::size_t clock_monotonic = 1;
inline constexpr std::size_t clock_realtime = 2;
// Set in `clock_seq` (with the sequence even: the values are consistent)
// when the idle service has stopped refreshing the clock: a reader that
// needs the time rings the service's doorbell and waits for a new sequence.
inline constexpr std::uint64_t clock_stale = std::uint64_t{1} << 63;
// The service's state word: `service_stopped` once the service has stopped
// for good (written after its last completion, then the enclave's bell
// rung); anything else while it runs or before it starts.
inline constexpr std::size_t service_state = 3;
inline constexpr std::uint64_t service_stopped = 0x53544f50;  // "STOP"

}  // namespace airlock::sys::wire
