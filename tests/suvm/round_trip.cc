// SPDX-License-Identifier: Apache-2.0
// Description: data eight times the page cache reads back exactly, through
// s_ptr and bulk reads, with either cipher, while pages are evicted and sealed.
#include "suvm_support.hh"

namespace airlock::suvm::test {
namespace {

class round_trip : public ::testing::TestWithParam<cipher> {};

TEST_P(round_trip, data_larger_than_the_cache) {
    auto o = small_options(64, 8);
    o.cipher_choice = GetParam();
    if (GetParam() == cipher::aes256gcm) {
        paged probe(small_options(4, 4));
        if (probe.s->cipher_in_use() != cipher::aes256gcm) GTEST_SKIP() << "no AES-NI";
    }
    paged p(o);
    ASSERT_TRUE(p.s);
    EXPECT_EQ(p.s->cipher_in_use(), GetParam());
    fill_pattern(*p.s, 64);

    // Every byte through an s_ptr<const>, in address order.
    s_ptr<const std::uint8_t> q(*p.s, 0);
    for (std::uint64_t a = 0; a < p.s->size(); ++a, ++q) {
        const auto v = q.get();
        ASSERT_TRUE(v.has_value()) << to_string(v.error());
        ASSERT_EQ(static_cast<std::byte>(**v), pattern(a)) << "at " << a;
    }
    // Then pages in a scattered order, in bulk.
    std::vector<std::byte> page(p.s->page_size());
    for (std::uint64_t i = 0; i < 64; ++i) {
        const std::uint64_t pg = (i * 37) % 64;
        ASSERT_TRUE(p.s->read(pg * page.size(), page).has_value());
        for (std::size_t b = 0; b < page.size(); ++b)
            ASSERT_EQ(page[b], pattern(pg * page.size() + b));
    }
    const auto st = p.s->stats();
    EXPECT_GE(st.evictions, 56u);
    EXPECT_GE(st.write_backs, 56u);
    EXPECT_EQ(st.integrity_failures, 0u);
    EXPECT_EQ(p.s->fault(), errc::ok);
}

TEST_P(round_trip, unwritten_pages_read_as_zeros_without_the_store) {
    auto o = small_options(16, 4);
    o.cipher_choice = GetParam() == cipher::aes256gcm ? cipher::automatic : GetParam();
    paged p(o);
    std::memset(p.memory->data(), 0xA5, p.memory->span().size());  // host garbage
    std::vector<std::byte> page(p.s->page_size(), std::byte{1});
    for (std::uint64_t pg = 0; pg < 16; ++pg) {
        ASSERT_TRUE(p.s->read(pg * page.size(), page).has_value());
        for (auto b : page)
            ASSERT_EQ(b, std::byte{0});
    }
    EXPECT_EQ(p.s->fault(), errc::ok);
}

INSTANTIATE_TEST_SUITE_P(ciphers, round_trip,
                         ::testing::Values(cipher::aes256gcm, cipher::xchacha20poly1305),
                         [](const auto& param_info) {
                             return param_info.param == cipher::aes256gcm ? "aes256gcm"
                                                                          : "xchacha20";
                         });

}  // namespace
}  // namespace airlock::suvm::test
