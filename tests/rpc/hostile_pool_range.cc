// SPDX-License-Identifier: Apache-2.0
// Description: a pooled message from the host is bounded by the enclave's own pool size and
// message cap and copied once before it is decoded; anything else is a fault, never a read
// outside the pool (#5, #6, #8, #19). Ranges at the edges (ending exactly at the pool's end, the
// whole pool) are copied whole: the copy's clamps cut nothing that the checks let through.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "rpc/hostile_host.hh"

namespace {

using namespace airlock;
using namespace airlock::test::hostile_calls;

constexpr std::size_t pool_bytes = 64 << 10;
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

std::vector<std::byte> pooled(std::uint64_t inner, std::uint64_t offset, std::uint64_t length) {
    std::vector<std::byte> out;
    test::put_u64(out, inner);
    test::put_u64(out, offset);
    test::put_u64(out, length);
    return out;
}

// Writes `bytes` into the host's pool at `offset`, as an honest host would.
void write_pool(test::hostile_host& f, std::uint64_t offset, std::span<const std::byte> bytes) {
    ring::shared::copy_in(f.ch.pool(1).data + offset / 8, bytes.data(), bytes.size());
}

// What the enclave sends for an honest pooled echo call `id` of
// `call_size` bytes at `offset`: first the pool return (it copied the call
// out before decoding it), then the reply, which is above the threshold:
// through the enclave's own pool, 0. Checks the reply echoes `text` whole.
void expect_pooled_echo(test::hostile_host& f, std::uint64_t offset, std::size_t call_size,
                        std::uint64_t id, const std::string& text) {
    auto back = f.ch.take();
    ASSERT_TRUE(back);
    ASSERT_EQ(back->tag, rpc::pool_return_tag);
    EXPECT_EQ(test::get_u64(back->bytes, 0), offset);
    EXPECT_EQ(test::get_u64(back->bytes, 8), call_size);
    auto reply = f.ch.take();
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->tag, rpc::pooled_tag);
    const std::uint64_t at = test::get_u64(reply->bytes, 8);
    const std::uint64_t length = test::get_u64(reply->bytes, 16);
    std::vector<std::byte> result(length);
    ring::shared::copy_out(result.data(), f.ch.pool(0).data + at / 8, length);
    auto r = test::raw_channel::as_reply({rpc::reply_tag, result});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, id);
    EXPECT_EQ(r->code, 0u);
    EXPECT_EQ(r->result, test::encoded(text)) << "the call was not copied whole";
}

}  // namespace

TEST(hostile_pool_range, an_honest_pooled_call_is_answered_and_its_buffer_returned) {
    test::hostile_host f({}, 1 << 12, pool_bytes);
    serve_plain(f.enclave());
    const std::string text(40'000, 'x');
    const auto call = test::raw_channel::call_bytes(7, echo.id, test::encoded(text));
    write_pool(f, 8192, call);
    f.ch.send_raw(rpc::pooled_tag, pooled(rpc::call_tag, 8192, call.size()));
    f.settle();
    ASSERT_NO_FATAL_FAILURE(expect_pooled_echo(f, 8192, call.size(), 7, text));
    EXPECT_EQ(f.enclave().fault(), errc::ok);
    EXPECT_EQ(f.enclave().stats().pooled_received, 1u);
}

TEST(hostile_pool_range, ranges_at_the_edges_of_the_pool_are_copied_whole) {
    struct edge {
        const char* what;
        std::size_t text;  // bytes of the echoed string
        bool at_end;       // placed to end exactly at the pool's end, else at 0
    };
    // A call is 16 + 8 + text bytes; the last fills the 64 KiB pool exactly.
    for (const edge& e : {edge{"ends at the pool's end", 40'000, true},
                          edge{"one word before the end", 40'000 - 8, true},
                          edge{"the whole pool", pool_bytes - 24, false},
                          edge{"the whole pool, ending at its end", pool_bytes - 24, true}}) {
        SCOPED_TRACE(e.what);
        test::hostile_host f({}, 1 << 12, pool_bytes);
        serve_plain(f.enclave());
        std::string text(e.text, 'y');
        for (std::size_t i = 0; i < text.size(); i += 997)
            text[i] = static_cast<char>('a' + i % 26);
        const auto call = test::raw_channel::call_bytes(9, echo.id, test::encoded(text));
        const std::uint64_t offset = e.at_end ? (pool_bytes - call.size()) & ~std::uint64_t{7} : 0;
        ASSERT_LE(offset + call.size(), pool_bytes);
        write_pool(f, offset, call);
        f.ch.send_raw(rpc::pooled_tag, pooled(rpc::call_tag, offset, call.size()));
        f.settle();
        ASSERT_NO_FATAL_FAILURE(expect_pooled_echo(f, offset, call.size(), 9, text));
        EXPECT_EQ(f.enclave().fault(), errc::ok);
    }
}

TEST(hostile_pool_range, offsets_and_lengths_outside_the_pool_fault_the_channel) {
    struct bad {
        const char* what;
        std::uint64_t offset, length;
    };
    for (const bad& b :
         {bad{"offset past the end", pool_bytes + 4096, 16},
          bad{"offset at the end, length 16", pool_bytes, 16},
          bad{"runs past the end", pool_bytes - 4096, 4097}, bad{"length 2^64 - 1", 0, u64_max},
          bad{"offset + length wraps", u64_max - 7, 16},
          bad{"offset 2^63", std::uint64_t{1} << 63, 16}, bad{"unaligned offset", 4, 40'000}}) {
        test::hostile_host f({}, 1 << 12, pool_bytes);
        serve_plain(f.enclave());
        auto waiting = f.start(f.enclave().call(lookup, std::uint64_t{1}));
        f.settle();
        f.ch.send_raw(rpc::pooled_tag, pooled(rpc::call_tag, b.offset, b.length));
        f.settle();
        EXPECT_TRUE(test::same_errc(f.enclave().ring_fault(), errc::fault_pool_range)) << b.what;
        EXPECT_EQ(f.enclave().fault(), errc::rpc_channel_faulted) << b.what;
        ASSERT_TRUE(waiting->done()) << b.what;
        EXPECT_TRUE(test::same_errc(test::code_of(*waiting->value), errc::rpc_channel_faulted));
    }
}

TEST(hostile_pool_range, a_pooled_message_above_the_message_cap_faults_before_any_copy) {
    test::hostile_host f({.max_message = 16 << 10}, 1 << 12, pool_bytes);
    serve_plain(f.enclave());
    f.ch.send_raw(rpc::pooled_tag, pooled(rpc::call_tag, 0, (16 << 10) + 1));
    f.settle();
    EXPECT_TRUE(test::same_errc(f.enclave().ring_fault(), errc::fault_fragment_total));
}

TEST(hostile_pool_range, a_pooled_message_where_the_enclave_has_no_pool_faults) {
    test::hostile_host f;  // no pools
    serve_plain(f.enclave());
    f.ch.send_raw(rpc::pooled_tag, pooled(rpc::call_tag, 0, 16));
    f.settle();
    EXPECT_TRUE(test::same_errc(f.enclave().ring_fault(), errc::fault_pool_range));
}

TEST(hostile_pool_range, malformed_pooled_records_are_dropped_and_counted) {
    test::hostile_host f({}, 1 << 12, pool_bytes);
    serve_plain(f.enclave());
    // Too short, too long: not a pooled record at all.
    auto record = pooled(rpc::call_tag, 0, 32);
    f.ch.send_raw(rpc::pooled_tag, std::span(record).first(23));
    record.resize(32);
    f.ch.send_raw(rpc::pooled_tag, record);
    f.settle();
    EXPECT_EQ(f.enclave().stats().malformed, 2u);
    EXPECT_TRUE(f.ch.take_all().empty()) << "nothing to return for a record that names nothing";
    // A pooled cancel, or a pooled pooled record: the buffer goes back unread.
    for (std::uint64_t inner : {std::uint64_t{rpc::cancel_tag}, std::uint64_t{rpc::pooled_tag},
                                std::uint64_t{0}, u64_max}) {
        f.ch.send_raw(rpc::pooled_tag, pooled(inner, 4096, 24));
        f.settle();
        auto back = f.ch.take();
        ASSERT_TRUE(back) << inner;
        EXPECT_EQ(back->tag, rpc::pool_return_tag) << inner;
    }
    EXPECT_EQ(f.enclave().stats().malformed, 6u);
    EXPECT_EQ(f.enclave().fault(), errc::ok);
}

TEST(hostile_pool_range, the_host_rewriting_the_buffer_after_the_copy_changes_nothing) {
    test::hostile_host f({}, 1 << 12, pool_bytes);
    f.enclave().serve(sum, [&](std::vector<std::uint64_t> v) {
        std::uint64_t total = 0;
        for (auto x : v)
            total += x;
        return total;
    });
    const std::vector<std::uint64_t> values(5000, 3);  // 40 KiB of argument
    const auto call = test::raw_channel::call_bytes(9, sum.id, test::encoded(values));
    write_pool(f, 0, call);
    f.ch.send_raw(rpc::pooled_tag, pooled(rpc::call_tag, 0, call.size()));
    f.settle();
    // The enclave has answered from its copy; the host now scribbles the
    // buffer (it was returned) and replays the record: the second call is
    // decoded from the new bytes, the first answer stands.
    auto back = f.ch.take();
    ASSERT_TRUE(back && back->tag == rpc::pool_return_tag);
    auto reply = f.ch.take_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->result, test::encoded(std::uint64_t{15'000}));
    const std::vector<std::byte> junk(call.size(), std::byte{0xff});
    write_pool(f, 0, junk);
    f.ch.send_raw(rpc::pooled_tag, pooled(rpc::call_tag, 0, call.size()));
    f.settle();
    EXPECT_EQ(f.enclave().fault(), errc::ok) << "a call that does not decode is not a fault";
    EXPECT_EQ(f.enclave().stats().unknown_methods, 1u) << "method id 0xffff...";
}
