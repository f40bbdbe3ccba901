// SPDX-License-Identifier: Apache-2.0
#include "airlock/suvm/seal.hh"

#include <sodium.h>

#include <cstring>
#include <new>
#include <span>

#include "airlock/base/cpu_random.hh"

namespace airlock::suvm {

namespace {

// sodium_init detects CPU features and may open or probe the system's random
// source: system calls. Running it when the program loads puts that before
// any enclave seal (on `process` the enclave is forked from the host with
// libsodium already started); the call in create() is then a no-op.
[[gnu::constructor]] void start_libsodium_early() {
    // A failure here is found again, and reported, by sealer::create.
    if (sodium_init() < 0) return;
}

bool make_key(unsigned char* key, std::size_t n) noexcept {
    if (cpu_random_available()) return cpu_random_bytes(std::as_writable_bytes(std::span(key, n)));
    randombytes_buf(key, n);
    return true;
}

void put_u64(unsigned char* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i)
        p[i] = static_cast<unsigned char>(v >> (8 * i));
}

}  // namespace

// Nonce and associated data, little-endian. A page: AES-256-GCM's 12-byte
// nonce is the page (4 bytes, the space has fewer than 2^32 pages) then the
// version (8); XChaCha20's 24 are page (8), version (8), zeros; the
// associated data is page, version, size (8 bytes each). A sub-page: the
// AES nonce is page (4), sub-page index (1: at most 256 a page), version
// (7); the XChaCha nonce is page (8), version (8), index (4), then a 1; the
// associated data is page, version, size, index (32 bytes, so never equal
// to a page's).
struct sealer::bound {
    unsigned char nonce[24] = {};
    unsigned char ad[32] = {};
    std::size_t ad_bytes = 24;
    bound(std::uint64_t page, std::uint64_t version, std::size_t size, bool short_nonce) noexcept {
        if (short_nonce) {
            for (int i = 0; i < 4; ++i)
                nonce[i] = static_cast<unsigned char>(page >> (8 * i));
            put_u64(nonce + 4, version);
        } else {
            put_u64(nonce, page);
            put_u64(nonce + 8, version);
        }
        put_u64(ad, page);
        put_u64(ad + 8, version);
        put_u64(ad + 16, size);
    }
    bound(std::uint64_t page, std::uint32_t sub, std::uint64_t version, std::size_t size,
          bool short_nonce) noexcept {
        if (short_nonce) {
            for (int i = 0; i < 4; ++i)
                nonce[i] = static_cast<unsigned char>(page >> (8 * i));
            nonce[4] = static_cast<unsigned char>(sub);
            for (int i = 0; i < 7; ++i)
                nonce[5 + i] = static_cast<unsigned char>(version >> (8 * i));
        } else {
            put_u64(nonce, page);
            put_u64(nonce + 8, version);
            for (int i = 0; i < 4; ++i)
                nonce[16 + i] = static_cast<unsigned char>(sub >> (8 * i));
            nonce[20] = 1;
        }
        put_u64(ad, page);
        put_u64(ad + 8, version);
        put_u64(ad + 16, size);
        put_u64(ad + 24, sub);
        ad_bytes = 32;
    }
};

struct sealer::keys {
    alignas(16) crypto_aead_aes256gcm_state aes;  // expanded key, AES only
    unsigned char key[32];
};

sealer::sealer(std::unique_ptr<keys> k, cipher kind) noexcept : keys_(std::move(k)), kind_(kind) {}
sealer::sealer(sealer&&) noexcept = default;
sealer& sealer::operator=(sealer&&) noexcept = default;
sealer::~sealer() {
    if (keys_) sodium_memzero(keys_.get(), sizeof(keys));
}

expected<sealer> sealer::create(cipher choice) {
    if (sodium_init() < 0) return unexpected(errc::suvm_crypto_unavailable);
    const bool aes_ok = crypto_aead_aes256gcm_is_available() != 0;
    cipher kind = choice;
    if (kind == cipher::automatic) kind = aes_ok ? cipher::aes256gcm : cipher::xchacha20poly1305;
    if (kind == cipher::aes256gcm && !aes_ok) return unexpected(errc::suvm_crypto_unavailable);
    std::unique_ptr<keys> k(new (std::nothrow) keys);
    if (!k) return unexpected(errc::enclave_memory_exhausted);
    if (!make_key(k->key, sizeof k->key)) {
        sodium_memzero(k.get(), sizeof(keys));
        return unexpected(errc::suvm_crypto_unavailable);
    }
    if (kind == cipher::aes256gcm) crypto_aead_aes256gcm_beforenm(&k->aes, k->key);
    return sealer(std::move(k), kind);
}

void sealer::seal(std::uint64_t page, std::uint64_t version, std::span<const std::byte> plain,
                  std::byte* out) const noexcept {
    seal_bound(bound(page, version, plain.size(), kind_ == cipher::aes256gcm), plain, out);
}

bool sealer::open(std::uint64_t page, std::uint64_t version, const std::byte* sealed,
                  std::span<std::byte> plain) const noexcept {
    return open_bound(bound(page, version, plain.size(), kind_ == cipher::aes256gcm), sealed,
                      plain);
}

void sealer::seal_sub_page(std::uint64_t page, std::uint32_t sub, std::uint64_t version,
                           std::span<const std::byte> plain, std::byte* out) const noexcept {
    seal_bound(bound(page, sub, version, plain.size(), kind_ == cipher::aes256gcm), plain, out);
}

bool sealer::open_sub_page(std::uint64_t page, std::uint32_t sub, std::uint64_t version,
                           const std::byte* sealed, std::span<std::byte> plain) const noexcept {
    return open_bound(bound(page, sub, version, plain.size(), kind_ == cipher::aes256gcm), sealed,
                      plain);
}

void sealer::seal_bound(const bound& b, std::span<const std::byte> plain,
                        std::byte* out) const noexcept {
    const auto* m = reinterpret_cast<const unsigned char*>(plain.data());
    auto* c = reinterpret_cast<unsigned char*>(out);
    unsigned char* mac = c + plain.size();
    if (kind_ == cipher::aes256gcm) {
        crypto_aead_aes256gcm_encrypt_detached_afternm(c, mac, nullptr, m, plain.size(), b.ad,
                                                       b.ad_bytes, nullptr, b.nonce, &keys_->aes);
    } else {
        crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
            c, mac, nullptr, m, plain.size(), b.ad, b.ad_bytes, nullptr, b.nonce, keys_->key);
    }
}

bool sealer::open_bound(const bound& b, const std::byte* sealed,
                        std::span<std::byte> plain) const noexcept {
    auto* m = reinterpret_cast<unsigned char*>(plain.data());
    const auto* c = reinterpret_cast<const unsigned char*>(sealed);
    const unsigned char* mac = c + plain.size();
    int rc;
    if (kind_ == cipher::aes256gcm) {
        rc = crypto_aead_aes256gcm_decrypt_detached_afternm(m, nullptr, c, plain.size(), mac, b.ad,
                                                            b.ad_bytes, b.nonce, &keys_->aes);
    } else {
        rc = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
            m, nullptr, c, plain.size(), mac, b.ad, b.ad_bytes, b.nonce, keys_->key);
    }
    if (rc != 0) {
        std::memset(plain.data(), 0, plain.size());
        return false;
    }
    return true;
}

}  // namespace airlock::suvm
