// SPDX-License-Identifier: Apache-2.0
// rpc_corpus_gen: writes the seed corpus of the rpc fuzz target.
//
//   rpc_corpus_gen <dir>     writes seed-* files into <dir>
//
// Seeds reach every path of the enclave endpoint that a host controls
// (HOSTILE-INPUTS #9-15, #19, #25): each served method with good arguments,
// unknown method ids, undecodable and oversized arguments and huge claimed
// lengths, records with foreign tags or short headers, the enclave's own
// calls answered with good, undecodable, out-of-contract, duplicate, stale
// and never-issued replies, cancellation before and after the send, calls
// waiting in line for a slot, handlers refused at the serving cap, a
// coroutine handler that calls the host, back-pressure in both rings, and
// every tear-down (a forged ring index, endpoint_base::fail, the endpoint
// destroyed), calls and replies through the host's buffer pool, and forged
// pooled records and pool returns. The committed fuzz/corpus/rpc is this program's output plus
// the regression-* inputs that once broke a guarantee, each named for it.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "rpc_fuzz_driver.hh"

using airlock::fuzz::args_mode;
using airlock::fuzz::reply_code;
using airlock::fuzz::reply_target;
using airlock::fuzz::rpc_op;
namespace calls = airlock::fuzz::calls;

namespace {

// Configuration bytes (rpc_fuzz_driver.hh).
constexpr std::uint8_t ring_256 = 0, ring_1k = 1, ring_4k = 2, ring_16k = 3;
constexpr std::uint8_t message_1k = 0, message_8k = 1, message_64k = 2;
constexpr std::uint8_t budget_1 = 0, budget_64 = 3;
constexpr std::uint8_t limit_1 = 0, limit_2 = 1, limit_256 = 3;
constexpr std::uint8_t with_hooks = 16, destroy = 32, honest = 64, peer_dies = 128;

constexpr std::uint8_t config_a(std::uint8_t in, std::uint8_t out, std::uint8_t message,
                                std::uint8_t budget) {
    return static_cast<std::uint8_t>(in | out << 2 | message << 4 | budget << 6);
}
constexpr std::uint8_t config_b(std::uint8_t in_flight, std::uint8_t serving, std::uint8_t flags) {
    return static_cast<std::uint8_t>(in_flight | serving << 2 | flags);
}
constexpr std::uint8_t roomy = config_a(ring_4k, ring_4k, message_8k, budget_64);
constexpr std::uint8_t unlimited_honest = config_b(limit_256, limit_256, honest);

// The u64 a method id is picked with (host_call: ids 0-15 directly).
constexpr std::uint8_t id_of(std::uint64_t id) {
    return static_cast<std::uint8_t>(id);
}
constexpr std::uint8_t host_pick(std::uint64_t id) {  // e_call: id 1..8
    return static_cast<std::uint8_t>(id - 1);
}

class seed {
  public:
    seed(std::uint8_t a, std::uint8_t b) { u8(a).u8(b); }
    seed& u8(std::uint8_t v) {
        bytes_.push_back(v);
        return *this;
    }
    seed& u16(std::uint16_t v) {
        return u8(static_cast<std::uint8_t>(v)).u8(static_cast<std::uint8_t>(v >> 8));
    }
    seed& u32(std::uint32_t v) {
        return u16(static_cast<std::uint16_t>(v)).u16(static_cast<std::uint16_t>(v >> 16));
    }
    seed& u64(std::uint64_t v) {
        return u32(static_cast<std::uint32_t>(v)).u32(static_cast<std::uint32_t>(v >> 32));
    }
    // A string as `make` reads it: [u8 length][bytes].
    seed& str(std::string_view s) {
        u8(static_cast<std::uint8_t>(s.size()));
        for (char c : s)
            u8(static_cast<std::uint8_t>(c));
        return *this;
    }
    seed& op(rpc_op o) { return u8(static_cast<std::uint8_t>(o)); }

    // --- actions -----------------------------------------------------------
    // h_call: method pick, mode; the arguments follow by mode.
    seed& call(std::uint8_t pick, std::uint8_t mode) {
        return op(rpc_op::h_call).u8(pick).u8(mode);
    }
    seed& call_u64(std::uint64_t method, std::uint64_t v) {
        return call(id_of(method), static_cast<std::uint8_t>(args_mode::typed)).u64(v);
    }
    // h_reply: target, code, mode; the id, code and result follow.
    seed& reply(reply_target t, std::uint8_t back, reply_code c, std::uint8_t code_index,
                std::uint8_t mode) {
        return op(rpc_op::h_reply)
            .u8(static_cast<std::uint8_t>(static_cast<std::uint8_t>(t) | back << 3))
            .u8(static_cast<std::uint8_t>(static_cast<std::uint8_t>(c) | code_index << 2))
            .u8(mode);
    }
    // A typed ok reply to the newest call the host read.
    seed& reply_newest() {
        return reply(reply_target::newest, 0, reply_code::ok, 0,
                     static_cast<std::uint8_t>(args_mode::typed));
    }
    seed& record(std::uint16_t tag, std::vector<std::uint8_t> payload) {
        op(rpc_op::h_record).u16(tag).u8(static_cast<std::uint8_t>(payload.size()));
        for (auto b : payload)
            u8(b);
        return *this;
    }
    seed& read(std::uint8_t n = 15) { return op(rpc_op::h_read).u8(n); }
    seed& enclave_call(std::uint64_t method, std::uint8_t flags = 0, std::uint16_t blob = 0) {
        return op(rpc_op::e_call).u8(host_pick(method)).u8(flags).u16(blob);
    }
    seed& cancel(std::uint8_t which = 0) { return op(rpc_op::e_cancel).u8(which); }
    seed& run(std::uint8_t n = 7) { return op(rpc_op::run).u8(n); }
    seed& settle() { return op(rpc_op::settle); }
    seed& open_gate() { return op(rpc_op::open_gate); }
    // The host forges a ring index (rpc_fuzz_driver.hh, forge_first).
    seed& forge(std::uint8_t kind) {
        return u8(static_cast<std::uint8_t>(airlock::fuzz::forge_first + kind));
    }

    [[nodiscard]] const std::vector<std::uint8_t>& bytes() const { return bytes_; }

  private:
    std::vector<std::uint8_t> bytes_;
};

constexpr std::uint8_t typed = static_cast<std::uint8_t>(args_mode::typed);
constexpr std::uint8_t raw = static_cast<std::uint8_t>(args_mode::raw);
constexpr std::uint8_t claim = static_cast<std::uint8_t>(args_mode::claim);
constexpr std::uint8_t big = static_cast<std::uint8_t>(args_mode::big);

// Every served method once, with good arguments; `pause`: the enclave
// runs and the host reads after each call.
seed& every_method(seed& s, bool pause = false) {
    auto then = [&]() -> seed& { return pause ? s.run().run().read() : s; };
    s.call_u64(calls::add.id, 40).u64(2);
    then().call(id_of(calls::echo.id), typed).str("hello, enclave");
    then().call(id_of(calls::sum.id), typed).u8(3).u64(1).u64(2).u64(3);
    then().call(id_of(calls::count_chars.id), typed).u8(2).str("ab").str("cde");
    then().call(id_of(calls::opt_len.id), typed).u8(1).str("xyz");
    then().call(id_of(calls::opt_len.id), typed).u8(0);
    then().call(id_of(calls::reverse.id), typed).str("abcdef");
    then().call(id_of(calls::check.id), typed).u32(3).u32(9).u8(1);
    then().call(id_of(calls::check.id), typed).u32(9).u32(3).u8(1);  // an error value
    then().call_u64(calls::hold.id, 21);
    then().call_u64(calls::fail.id, 8);
    then().call_u64(calls::fail.id, 7);  // throws
    then().call(id_of(calls::shade_of.id), typed).u8(2);
    then().call(id_of(calls::note.id), typed).u16(7).str("memo").u32(1).u32(2).u32(3);
    return then();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    const std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    int written = 0;
    auto write = [&](const std::string& name, const seed& s) {
        std::ofstream out(dir / ("seed-" + name), std::ios::binary);
        out.write(reinterpret_cast<const char*>(s.bytes().data()),
                  static_cast<std::streamsize>(s.bytes().size()));
        ++written;
    };

    // --- the host calls the enclave --------------------------------------
    {
        seed s(roomy, unlimited_honest);
        every_method(s).run().read().open_gate().run().read();
        write("every-method", s);
    }
    {  // Small rings and a budget of one: everything crawls, one record a round.
        seed s(config_a(ring_256, ring_256, message_1k, budget_1),
               config_b(limit_256, limit_256, honest | with_hooks));
        // One call at a time: the host cannot start a message while its last
        // one is still on the way in.
        every_method(s, true);
        s.open_gate().run().read();
        write("every-method-small-rings", s);
    }
    {  // Ids with no handler: gaps, zero, one past the end, far out (#9).
        seed s(roomy, unlimited_honest);
        for (std::uint64_t id : {0, 4, 9, 15})
            s.call_u64(id, 1);
        s.call(16, typed).u64(std::uint64_t{1} << 32 | calls::add.id).u64(1).u64(1);
        s.call(16, typed).u64(~std::uint64_t{0}).u64(1);
        s.call(16, typed).u64(std::uint64_t{1} << 63).u64(1);
        s.run().read();
        write("unknown-methods", s);
    }
    {  // Arguments that do not decode: short, trailing bytes, bad bools and enums (#10, #11).
        seed s(roomy, unlimited_honest);
        s.call(id_of(calls::add.id), raw).u8(9).u64(1).u8(0);
        s.call(id_of(calls::echo.id), raw).u8(12).u64(20).u32(0x41414141);
        s.call(id_of(calls::check.id), raw).u8(9).u64(5).u8(2);  // bool 2
        s.call(id_of(calls::shade_of.id), raw).u8(1).u8(4);      // shade 4
        s.call(id_of(calls::opt_len.id), raw).u8(1).u8(7);       // presence 7
        s.call(id_of(calls::note.id), raw).u8(3).u16(1).u8(0);
        s.call(id_of(calls::sum.id), static_cast<std::uint8_t>(typed | 8))
            .u8(2)
            .u64(1)
            .u64(2)
            .u8(5);  // cut 5 bytes off
        s.call(id_of(calls::echo.id), static_cast<std::uint8_t>(typed | 16)).str("ok").u8(0xee);
        s.call(id_of(calls::hold.id), raw).u8(0);  // no argument at all
        s.run().read();
        write("undecodable-arguments", s);
    }
    {  // Huge claimed lengths in every kind of length field (#19).
        seed s(roomy, unlimited_honest);
        for (std::uint64_t claimed :
             {std::uint64_t{1} << 60, ~std::uint64_t{0}, (std::uint64_t{1} << 61) + 1,
              std::uint64_t{1} << 30, std::uint64_t{1} << 21}) {
            for (std::uint64_t m : {calls::echo.id, calls::sum.id, calls::count_chars.id,
                                    calls::reverse.id, calls::note.id})
                s.call(id_of(m), claim).u64(claimed).u8(8).u64(0x4141414141414141);
        }
        s.call(id_of(calls::opt_len.id), raw).u8(17).u8(1).u64(~std::uint64_t{0}).u64(0);
        s.run().read().run().read();
        write("huge-claimed-lengths", s);
    }
    {  // Big, well-formed arguments that travel as fragments.
        seed s(config_a(ring_256, ring_4k, message_64k, budget_64), unlimited_honest);
        auto crawl = [&] {
            for (int i = 0; i < 8; ++i)
                s.run();
            s.read();
        };
        s.call(id_of(calls::echo.id), big).u16(3000);
        crawl();
        s.call(id_of(calls::reverse.id), big).u16(1500);
        crawl();
        s.call(id_of(calls::sum.id), big).u16(800);
        crawl();
        s.call(id_of(calls::count_chars.id), big).u16(600);
        crawl();
        write("big-arguments", s);
    }
    {  // A message above the trusted cap: the ring faults the channel (#19).
        seed s(config_a(ring_1k, ring_1k, message_1k, budget_64), unlimited_honest);
        s.enclave_call(calls::lookup.id).run();
        s.call(id_of(calls::echo.id), big).u16(2000);
        s.run().run().read();
        write("message-above-cap", s);
    }
    {  // Records with foreign tags or headers too short (#25).
        seed s(roomy, unlimited_honest);
        s.record(0, {1, 2, 3}).record(3, {}).record(0xffff, std::vector<std::uint8_t>(40, 7));
        s.record(1, {}).record(1, std::vector<std::uint8_t>(15, 1));
        s.record(2, std::vector<std::uint8_t>(8, 0)).record(2, std::vector<std::uint8_t>(15, 0));
        s.call_u64(calls::add.id, 1).u64(1);
        s.run().read();
        write("malformed-records", s);
    }
    {  // Calls and replies through the host's pool (pooled records, tag 4),
       // each buffer returned by the enclave (tag 5).
        seed s(roomy, unlimited_honest);
        s.call(id_of(calls::echo.id), big | airlock::fuzz::through_pool).u16(1500);
        s.run().read();
        s.call(id_of(calls::reverse.id), big | airlock::fuzz::through_pool).u16(600);
        s.call_u64(calls::add.id, 5).u64(6);  // through the ring: the buffer may be out
        s.run().read();
        s.enclave_call(calls::lookup.id).run().read();
        s.reply(reply_target::newest, 0, reply_code::ok, 0, typed | airlock::fuzz::through_pool)
            .u64(77);
        s.run().read().settle();
        write("pooled-messages", s);
    }
    {  // Forged pooled records and returns: a foreign inner tag and a short
       // record (malformed), a record naming an old message again, then a
       // range beyond the pool, which faults the channel; and a return of a
       // buffer the enclave never handed out (it has no pool of its own).
        auto words = [](std::initializer_list<std::uint64_t> ws) {
            std::vector<std::uint8_t> out;
            for (std::uint64_t w : ws)
                for (int i = 0; i < 8; ++i)
                    out.push_back(static_cast<std::uint8_t>(w >> (8 * i)));
            return out;
        };
        seed s(roomy, config_b(limit_256, limit_256, 0));
        s.call(id_of(calls::add.id), typed | airlock::fuzz::through_pool).u64(1).u64(2);
        s.run().read();
        s.record(4, words({9, 0, 40})).record(4, std::vector<std::uint8_t>(20, 1));
        s.record(4, words({1, 0, 32})).run().read();
        s.record(4, words({1, 4, 8})).run().read();
        write("pool-records", s);
        seed r(roomy, config_b(limit_256, limit_256, 0));
        r.record(4, words({1, airlock::fuzz::host_pool_bytes, 8})).run().read();
        write("pool-record-beyond", r);
        seed t(roomy, unlimited_honest);
        t.call_u64(calls::add.id, 1).u64(2).run().read();
        t.record(5, words({0, 4096})).run().read();
        write("pool-return-forged", t);
    }
    {  // Host call ids that repeat while calls with them are in flight.
        seed s(roomy, unlimited_honest);
        for (int i = 0; i < 3; ++i)
            s.call(id_of(calls::hold.id), typed | 4).u8(5).u64(static_cast<std::uint64_t>(i));
        s.call(id_of(calls::add.id), typed | 4).u8(5).u64(1).u64(2);
        s.run().read().open_gate().run().read();
        write("repeated-host-ids", s);
    }
    {  // The serving cap: held handlers, then refusals (rpc_overloaded).
        seed s(roomy, config_b(limit_256, limit_2, honest));
        for (std::uint64_t i = 0; i < 4; ++i)
            s.call_u64(calls::hold.id, i);
        s.call_u64(calls::add.id, 1).u64(1);
        s.run().read().open_gate().run().read();
        s.call_u64(calls::hold.id, 9).run().read();
        write("overloaded", s);
    }
    {  // Back-pressure: the host does not read, replies queue in the enclave.
        seed s(config_a(ring_4k, ring_256, message_8k, budget_64), unlimited_honest);
        for (int i = 0; i < 30; ++i)
            s.call(id_of(calls::echo.id), typed).str("a reply that fills the ring");
        s.run().run().read(2).run().read(3).settle();
        write("reply-back-pressure", s);
    }

    // --- the enclave calls the host --------------------------------------
    {  // Every host method, answered with a well-formed result.
        seed s(roomy, unlimited_honest);
        for (std::uint64_t m = 1; m <= calls::host_method_count; ++m)
            s.enclave_call(m, 0, 40);
        s.run().read();
        // Counted from the newest: pick, blob, find, exists, ping, list, name_of, lookup.
        auto answer = [&](std::uint8_t back) -> seed& {
            return s.reply(reply_target::exact, back, reply_code::ok, 0, typed);
        };
        answer(0).u8(3);
        answer(1).str("bytes");
        answer(2).u8(1).str("found");
        answer(3).u8(1);
        answer(4);
        answer(5).u8(2).u64(10).u64(20);
        answer(6).str("a name");
        answer(7).u64(42);
        s.run();
        write("enclave-calls-answered", s);
    }
    {  // Error codes: allowed ones, and ones out of contract (#13).
        seed s(roomy, unlimited_honest);
        for (int i = 0; i < 11; ++i)
            s.enclave_call(calls::lookup.id);
        for (int i = 0; i < 6; ++i)
            s.enclave_call(calls::ping.id);
        s.run().read();
        for (std::uint8_t i = 0; i < 11; ++i)
            s.reply(reply_target::exact, i, reply_code::allowed, i, raw).u8(0);
        for (std::uint64_t code :
             {std::uint64_t{1}, std::uint64_t{101}, std::uint64_t{120}, std::uint64_t{400},
              std::uint64_t{65536 + 300}, ~std::uint64_t{0}})
            s.reply(reply_target::exact, 11, reply_code::arbitrary, 0, raw)
                .u64(code)
                .u8(3)
                .u8(1)
                .u8(2)
                .u8(3);
        s.run();
        write("result-codes", s);
    }
    {  // Results that do not decode, and huge claimed lengths in them (#13, #19).
        seed s(roomy, unlimited_honest);
        for (std::uint64_t m : {calls::name_of.id, calls::list.id, calls::find.id, calls::blob.id,
                                calls::exists.id, calls::pick.id, calls::ping.id, calls::lookup.id})
            s.enclave_call(m);
        s.run().read();
        s.reply(reply_target::exact, 7, reply_code::ok, 0, claim).u64(~std::uint64_t{0}).u8(0);
        s.reply(reply_target::exact, 6, reply_code::ok, 0, claim)
            .u64(std::uint64_t{1} << 61)
            .u8(8)
            .u64(1);
        s.reply(reply_target::exact, 5, reply_code::ok, 0, raw).u8(10).u8(1).u64(1 << 20).u8(0);
        s.reply(reply_target::exact, 4, reply_code::ok, 0, claim)
            .u64(std::uint64_t{1} << 40)
            .u8(2)
            .u16(0);
        s.reply(reply_target::exact, 3, reply_code::ok, 0, raw).u8(1).u8(2);  // bool 2
        s.reply(reply_target::exact, 2, reply_code::ok, 0, raw).u8(1).u8(9);  // shade 9
        s.reply(reply_target::exact, 1, reply_code::ok, 0, raw).u8(1).u8(0);  // void with bytes
        s.reply(reply_target::exact, 0, reply_code::ok, 0, raw).u8(7).u32(0).u16(0).u8(0);  // short
        s.run();
        write("undecodable-results", s);
    }
    {  // Big results, as fragments.
        seed s(config_a(ring_4k, ring_256, message_64k, budget_64), unlimited_honest);
        s.enclave_call(calls::blob.id, 0, 2000).enclave_call(calls::name_of.id);
        for (int i = 0; i < 12; ++i)
            s.run().read();
        s.reply(reply_target::exact, 1, reply_code::ok, 0, big).u16(3000);
        s.reply(reply_target::exact, 0, reply_code::ok, 0, big).u16(2000);
        s.settle();
        write("big-results", s);
    }
    {  // Replies for ids never issued, already answered, or of another generation (#12, #15).
        seed s(config_a(ring_4k, ring_4k, message_8k, budget_64),
               config_b(limit_2, limit_256, honest));
        s.reply(reply_target::arbitrary, 0, reply_code::ok, 0, typed).u64(0).u64(77);
        s.enclave_call(calls::lookup.id).enclave_call(calls::lookup.id).run().read();
        s.reply(reply_target::exact, 0, reply_code::ok, 0, typed).u64(5);
        s.reply(reply_target::exact_again, 0, reply_code::ok, 0, typed).u64(6);
        s.reply(reply_target::next_generation, 0, reply_code::ok, 0, typed).u64(7);
        s.reply(reply_target::prior_generation, 1, reply_code::ok, 0, typed).u64(8);
        s.reply(reply_target::slot_past_end, 1, reply_code::ok, 0, typed).u64(9);
        s.reply(reply_target::generation_zero, 1, reply_code::ok, 0, typed).u64(10);
        s.reply(reply_target::arbitrary, 0, reply_code::ok, 0, typed)
            .u64(~std::uint64_t{0})
            .u64(11);
        s.run().enclave_call(calls::lookup.id).run().read();
        s.reply(reply_target::prior_generation, 0, reply_code::ok, 0, typed).u64(12);
        s.reply_newest().u64(13).run();
        write("stale-replies", s);
    }
    {  // A reply sent before the call it names exists (a guessed id).
        seed s(roomy, unlimited_honest);
        s.reply(reply_target::arbitrary, 0, reply_code::ok, 0, typed).u64(0).u64(1);
        s.enclave_call(calls::lookup.id).run();
        s.reply(reply_target::arbitrary, 0, reply_code::allowed, 3, raw)
            .u64(std::uint64_t{1} << 32)
            .u8(0);
        s.enclave_call(calls::lookup.id).run().read();
        write("guessed-ids", s);
    }
    {  // Cancellation before the call starts, while it waits, and a late reply (#15).
        seed s(roomy, unlimited_honest);
        s.enclave_call(calls::lookup.id, 1).cancel(0).run();
        s.enclave_call(calls::name_of.id, 1).run().read().cancel(0);
        s.reply(reply_target::newest, 0, reply_code::ok, 0, typed).str("late").run();
        s.enclave_call(calls::list.id, 1 | 2).cancel(0).run().read();
        s.enclave_call(calls::lookup.id, 1).run().read();
        s.reply_newest().u64(3).cancel(0).run();
        write("cancellation", s);
    }
    {  // The host cancels its own calls (tag 3): a held handler's reply is
       // dropped; a finished call, an unknown id and a short cancel are not.
        seed s(roomy, unlimited_honest);
        constexpr std::uint8_t own_id = typed | airlock::fuzz::call_id_from_input;
        s.call(id_of(calls::hold.id), own_id).u8(5).u64(1).run();
        s.call(id_of(calls::add.id), own_id).u8(6).u64(1).u64(2).run().read();
        s.record(3, {5, 0, 0, 0, 0, 0, 0, 0}).record(3, {6, 0, 0, 0, 0, 0, 0, 0});
        s.record(3, {99, 0, 0, 0, 0, 0, 0, 0}).record(3, {5, 0, 0, 0});
        s.run().read().open_gate().settle();
        write("host-cancels", s);
    }
    {  // Calls in line for a slot: handed one in order, one cancelled in line.
        seed s(roomy, config_b(limit_1, limit_256, honest));
        s.enclave_call(calls::lookup.id, 1).enclave_call(calls::lookup.id, 1);
        s.enclave_call(calls::lookup.id, 1).enclave_call(calls::ping.id, 1);
        s.run().read().cancel(1).run();
        s.reply_newest().u64(1).run().read();
        s.reply_newest().u64(2).run().read();
        s.reply_newest().run().read();
        write("slot-line", s);
    }
    {  // A coroutine handler that calls the host, answered well and badly.
        seed s(roomy, unlimited_honest);
        s.call_u64(calls::relay.id, 1).call_u64(calls::relay.id, 2).call_u64(calls::relay.id, 3);
        s.run().read();
        s.reply(reply_target::exact, 2, reply_code::ok, 0, typed).u64(100);
        s.reply(reply_target::exact, 1, reply_code::allowed, 7, raw).u8(0);
        s.reply(reply_target::exact, 0, reply_code::arbitrary, 0, raw).u64(999).u8(0);
        s.run().read();
        write("relay", s);
    }
    {  // Relay calls in line for a slot while the enclave's own calls wait.
        seed s(roomy, config_b(limit_1, limit_1, honest));
        s.enclave_call(calls::lookup.id).call_u64(calls::relay.id, 4).call_u64(calls::relay.id, 5);
        s.run().read().reply_newest().u64(1).run().read().reply_newest().u64(2).run().read();
        write("relay-slot-line", s);
    }
    {  // Large enclave calls against a small ring the host reads slowly.
        seed s(config_a(ring_4k, ring_256, message_8k, budget_64), unlimited_honest);
        for (int i = 0; i < 6; ++i)
            s.enclave_call(calls::blob.id, 0, 700);
        s.run().read(1).run().read(1).run().settle().read();
        write("call-back-pressure", s);
    }

    // Forged indices while calls wait: the host stalls draining a small
    // outgoing ring until calls queue for room, then forges each index kind.
    for (std::uint8_t kind = 0; kind < 5; ++kind) {
        seed s(config_a(ring_256, ring_256, message_1k, budget_64), unlimited_honest);
        for (int i = 0; i < 12; ++i)
            s.enclave_call(calls::lookup.id);
        s.call_u64(calls::add.id, 1).u64(2).run().read(1).run();
        s.forge(kind).run().settle();
        write("forged-index-" + std::to_string(kind), s);
    }

    // --- tear-down ---------------------------------------------------------
    {  // Calls outstanding when the channel faults.
        seed s(roomy, config_b(limit_2, limit_256, 0));
        for (int i = 0; i < 5; ++i)
            s.enclave_call(calls::lookup.id, 1);
        s.call_u64(calls::hold.id, 1).call_u64(calls::relay.id, 2);
        s.run().read();
        write("fault-outstanding", s);
    }
    {  // Calls outstanding when the endpoint is destroyed.
        seed s(roomy, config_b(limit_256, limit_256, destroy));
        for (int i = 0; i < 4; ++i)
            s.enclave_call(calls::lookup.id, 1);
        s.call_u64(calls::hold.id, 1);
        s.run().read();
        write("destroy-outstanding", s);
    }
    {  // The endpoint destroyed after an honest finish.
        seed s(roomy, config_b(limit_2, limit_2, destroy | honest));
        every_method(s);
        s.enclave_call(calls::find.id).enclave_call(calls::exists.id).run().read();
        write("destroy-honest", s);
    }
    {  // The platform sees the host die (endpoint_base::fail) with calls waiting.
        seed s(roomy, config_b(limit_1, limit_256, peer_dies));
        s.enclave_call(calls::lookup.id, 1).enclave_call(calls::name_of.id, 1);
        s.call_u64(calls::relay.id, 3).call_u64(calls::hold.id, 4).run().read();
        write("peer-dies", s);
    }
    {  // Everything at once on tiny rings, with hooks.
        seed s(config_a(ring_256, ring_256, message_1k, budget_1),
               config_b(limit_2, limit_2, with_hooks | honest));
        for (int i = 0; i < 3; ++i) {
            every_method(s);
            s.enclave_call(calls::blob.id, 1, 300).enclave_call(calls::name_of.id, 1);
            s.run().read(3).reply_newest().str("n").run().cancel(1).read(4).open_gate();
        }
        write("mixed-tiny", s);
    }
    {  // The same on big rings.
        seed s(config_a(ring_16k, ring_16k, message_64k, budget_64), unlimited_honest);
        for (int i = 0; i < 3; ++i) {
            every_method(s);
            s.enclave_call(calls::list.id, 0).enclave_call(calls::find.id, 1);
            s.run().read().reply_newest().u8(1).str("f").run().read().open_gate();
        }
        write("mixed-big", s);
    }
    std::printf("wrote %d seeds to %s\n", written, dir.c_str());
    return 0;
}
