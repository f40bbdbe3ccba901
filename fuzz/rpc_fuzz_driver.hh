// SPDX-License-Identifier: Apache-2.0
#pragma once
// fuzz/rpc_fuzz_driver.hh: the rpc layer's fuzz driver, shared by the
// libFuzzer target (fuzz/rpc_fuzz.cc), the corpus replay test that every
// build runs (fuzz/rpc_fuzz_replay.cc) and the seed generator
// (fuzz/rpc_corpus_gen.cc).
//
// One input is one channel between a real enclave endpoint
// (rpc::endpoint<side::enclave>, on an executor with a manual clock) and a
// hostile host that the input plays through raw ring ends
// (HOSTILE-INPUTS #9-15, #19, #25):
//
//   byte 0      bits 0-1 capacity of the host -> enclave ring, bits 2-3 of
//               the enclave -> host ring (256, 1 KiB, 4 KiB, 16 KiB);
//               bits 4-5 max_message (1 KiB, 8 KiB, 64 KiB, 1 MiB);
//               bits 6-7 poll_budget (1, 3, 16, 64)
//   byte 1      bits 0-1 max_in_flight, bits 2-3 max_serving (1, 2, 4, 256);
//               bit 4 the endpoint gets wait hooks; bit 5 tear down by
//               destroying the endpoint (else by faulting the channel);
//               bit 6 the host answers every call it saw before tear-down;
//               bit 7 the tear-down fault comes from endpoint_base::fail (the
//               platform saw the peer die) instead of a forged ring index
//   then        actions, each an op byte (mod op::count, or a forged index
//               at forge_first and above) and its arguments, little-endian;
//               a truncated argument reads as zero
//
// The region has one buffer pool, the host's (host_pool_bytes), which the
// enclave reads pooled records (tag 4) from and returns buffers of (tag 5);
// the enclave sends nothing through a pool of its own, so a tag 5 record
// from the host is always a forgery.
//
// The enclave serves `calls::add` ... `calls::note` (ids 1-3, 5-8, 10-14;
// 0, 4, 9 and 15 up are gaps) and calls `calls::lookup` ... `calls::pick`,
// whose first argument is always a serial that tells the host which of the
// enclave's calls it is reading. What the driver checks is listed at the
// top of rpc_fuzz_driver.cc.
//
// Thread contract: single-threaded; run_rpc_fuzz_input is not reentrant
// (one allocation probe per process).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "airlock/rpc/codec.hh"
#include "airlock/rpc/method.hh"

namespace airlock::fuzz {

// The action codes; arguments in brackets.
enum class rpc_op : std::uint8_t {
    h_call,     // host calls the enclave [u8 method][u8 mode][arguments by mode]
    h_reply,    // host answers a call the enclave made [u8 target][u8 code][u8 mode]...
    h_record,   // host writes any record [u16 tag][u8 length][bytes]
    h_read,     // host reads [u8 n] (n % 16 + 1) messages the enclave sent, and checks them
    e_call,     // the enclave calls the host [u8 method][u8 flags][u16 blob length]
    e_cancel,   // the enclave cancels one of its calls [u8 which, counted from the newest]
    run,        // [u8 n] (n % 8 + 1) rounds of the enclave's executor
    settle,     // rounds until the enclave has nothing left to do
    open_gate,  // lets every held handler (calls::hold) return
    count
};

// An op byte of `forge_first` or above is not an op of the list: the host
// forges a ring index, each kind a value the enclave must refuse when it
// next reads it (byte - forge_first, mod 5): 0 the head of the enclave's
// outgoing ring misaligned, 1 that head beyond the enclave's tail, 2 that
// head moved back a word, 3 the tail of the enclave's incoming ring past
// a lap, 4 that tail misaligned, each computed from the index the host last
// published honestly (so that two forgeries never add up to a plausible
// value). A later honest publish of the host may overwrite the forgery
// before the enclave reads it: then nothing happens.
// An honest tear-down (config honest_finish) first stores the host's true
// head again, since a head moved back that the enclave took as plausible
// would otherwise leave it too little room to answer.
// Op bytes below keep their meaning (op byte % op::count), so inputs
// written before forgeries existed replay as they did, except where they
// held a byte of 0xf8 or above in an op position.
inline constexpr std::uint8_t forge_first = 0xf8;

// h_call mode byte: bits 0-1 how the arguments are made, bit 2 the call id
// is a byte of the input (so ids repeat), bit 3 the last [u8] bytes are cut
// off, bit 4 a junk byte is appended, bit 5 the message goes through the
// host's pool (written at its start, announced by a pooled record) when no
// buffer of it is out and it fits; else through the ring. Bits 3-5 of the
// h_reply mode byte mean the same. (Inputs written before bit 5 had a
// meaning replay with it.)
enum class args_mode : std::uint8_t {
    typed = 0,  // well-formed arguments of the method, values from the input
    raw = 1,    // [u8 length][bytes]
    claim = 2,  // [u64 claimed length][u8 length][bytes]: a huge length field
    big = 3,    // [u16 n]: well-formed, with strings and vectors of about 2n bytes
};
inline constexpr std::uint8_t call_id_from_input = 4;
inline constexpr std::uint8_t cut_tail = 8;
inline constexpr std::uint8_t append_junk = 16;
inline constexpr std::uint8_t through_pool = 32;
// Bytes of the host's buffer pool.
inline constexpr std::size_t host_pool_bytes = std::size_t{64} << 10;

// h_reply target byte: bits 0-2 how the id is made from a call the host
// read, bits 3-7 which one (counted from the newest).
enum class reply_target : std::uint8_t {
    exact = 0,             // its id
    next_generation = 1,   // its slot, the generation after
    prior_generation = 2,  // its slot, the generation before
    slot_past_end = 3,     // a slot beyond the enclave's table
    arbitrary = 4,         // [u64] from the input
    newest = 5,            // the newest call's id, whatever the index says
    generation_zero = 6,   // its slot, generation 0
    exact_again = 7,       // its id (a second answer, once it was answered)
};
// h_reply code byte: bits 0-1 the kind, bits 2-7 pick the allowed code.
enum class reply_code : std::uint8_t {
    ok = 0,         // a result follows, made by the mode byte as for h_call
    allowed = 1,    // an error code a server may send
    arbitrary = 2,  // [u64] from the input: usually out of contract
    ok_too = 3,     // as ok: half the replies carry a result
};

// e_call flags: bit 0 the call takes a cancellation token; bit 1 it starts
// at once (executor::spawn_now) instead of in the next round.
inline constexpr std::uint8_t call_cancellable = 1;
inline constexpr std::uint8_t call_starts_now = 2;

// The methods of the channel, as both sides would declare them.
namespace calls {

// A bounded enum: decoding rejects values above `teal` (HOSTILE-INPUTS #10).
enum class shade : std::uint8_t { red, green, blue, teal };

// A user type with a codec of its own (just below: before any method names it,
// since a method checks its types where it is declared).
struct point {
    std::uint32_t x;
    std::uint32_t y;
};

}  // namespace calls
}  // namespace airlock::fuzz

template <>
struct airlock::rpc::codec<airlock::fuzz::calls::point> {
    static void encode(writer& w, const airlock::fuzz::calls::point& p) {
        codec<std::uint32_t>::encode(w, p.x);
        codec<std::uint32_t>::encode(w, p.y);
    }
    static bool decode(reader& r, airlock::fuzz::calls::point& p) {
        return codec<std::uint32_t>::decode(r, p.x) && codec<std::uint32_t>::decode(r, p.y);
    }
};

template <>
struct airlock::rpc::enum_traits<airlock::fuzz::calls::shade> {
    static constexpr bool bounded = true;
    static constexpr auto min = airlock::fuzz::calls::shade::red;
    static constexpr auto max = airlock::fuzz::calls::shade::teal;
};

namespace airlock::fuzz {
namespace calls {

// Served by the host (the enclave calls them); the first argument is the
// caller's serial, `relay_serial` marks the calls calls::relay makes.
inline constexpr std::uint64_t relay_serial = std::uint64_t{1} << 63;
inline constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> lookup{"lookup"};
inline constexpr rpc::host_method<2, std::string(std::uint64_t)> name_of{"name_of"};
inline constexpr rpc::host_method<3, std::vector<std::uint64_t>(std::uint64_t)> list{"list"};
inline constexpr rpc::host_method<4, void(std::uint64_t)> ping{"ping"};
inline constexpr rpc::host_method<5, bool(std::uint64_t)> exists{"exists"};
inline constexpr rpc::host_method<6, std::optional<std::string>(std::uint64_t)> find{"find"};
inline constexpr rpc::host_method<7,
                                  std::vector<std::byte>(std::uint64_t, std::span<const std::byte>)>
    blob{"blob"};
inline constexpr rpc::host_method<8, shade(std::uint64_t)> pick{"pick"};
inline constexpr std::uint64_t host_method_count = 8;  // ids 1..8

// Served by the enclave (the host calls them).
inline constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t, std::uint64_t)> add{"add"};
inline constexpr rpc::enclave_method<2, std::string(std::string_view)> echo{"echo"};
inline constexpr rpc::enclave_method<3, std::uint64_t(std::vector<std::uint64_t>)> sum{"sum"};
inline constexpr rpc::enclave_method<5, std::uint64_t(std::vector<std::string>)> count_chars{
    "count_chars"};
inline constexpr rpc::enclave_method<6, std::uint64_t(std::optional<std::vector<std::uint8_t>>)>
    opt_len{"opt_len"};
inline constexpr rpc::enclave_method<7, std::vector<std::byte>(std::span<const std::byte>)> reverse{
    "reverse"};
// Returns an error value (sys_bad_result) when strict and x > y.
inline constexpr rpc::enclave_method<8, std::uint32_t(point, bool)> check{"check"};
// A coroutine handler that waits until the host's open_gate action.
inline constexpr rpc::enclave_method<10, std::uint64_t(std::uint64_t)> hold{"hold"};
// A coroutine handler that calls calls::lookup on the host and returns its answer.
inline constexpr rpc::enclave_method<11, std::uint64_t(std::uint64_t)> relay{"relay"};
// Throws for an odd argument (the host gets rpc_handler_failed).
inline constexpr rpc::enclave_method<12, std::uint64_t(std::uint64_t)> fail{"fail"};
inline constexpr rpc::enclave_method<13, std::uint8_t(shade)> shade_of{"shade_of"};
// A coroutine handler returning nothing, over a pair and an array.
inline constexpr rpc::enclave_method<14, void(std::pair<std::uint16_t, std::string>,
                                              std::array<std::uint32_t, 3>)>
    note{"note"};
}  // namespace calls

// The allocation probe (fuzz/rpc_fuzz_alloc.cc, which replaces the global
// operator new; a program that links the driver links it too): between arm
// and disarm it records the largest single allocation, which disarm returns.
void arm_allocation_probe() noexcept;
std::size_t disarm_allocation_probe() noexcept;

}  // namespace airlock::fuzz

// Runs one input. Returns 0; aborts (a crash for libFuzzer) when the rpc
// layer breaks a guarantee the driver checks.
int run_rpc_fuzz_input(const std::uint8_t* data, std::size_t size);
