// SPDX-License-Identifier: Apache-2.0
#pragma once
// airlock/suvm/seal.hh: authenticated encryption of one page (libsodium).
//
// `sealer` holds a key generated inside the enclave and seals a page into
// ciphertext plus a 16-byte tag, or opens it back. The page number and its
// version are bound into both the nonce and the associated data, so a
// ciphertext opens only as the page and version it was sealed as: a page
// swapped with another, or an older copy replayed, fails like a flipped bit.
// The nonce is derived, never random: each (page, version) is sealed at most
// once per key (versions only grow), so a nonce never repeats and no random
// source is needed after the key is made. A sub-page (a direct-mode space's
// unit) is sealed the same way with its index in the page bound in as well;
// one key seals only pages or only sub-pages (a space is cached or direct),
// and the associated data of the two differ in length besides.
//
// Cipher: AES-256-GCM where libsodium finds AES-NI and PCLMUL, else
// XChaCha20-Poly1305 (both from libsodium's AEAD API).
//
// Thread contract: create on any enclave thread; seal and open are const
// and may run on many threads at once (the key schedule is read-only).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "airlock/base/expected.hh"

namespace airlock::suvm {

enum class cipher : std::uint8_t { automatic, aes256gcm, xchacha20poly1305 };

class sealer {
  public:
    static constexpr std::size_t tag_bytes = 16;
    // Sub-page seals: the AES-GCM nonce holds the version in 7 bytes. At one
    // seal of one sub-page every 100 ns that is two centuries.
    static constexpr std::uint64_t max_sub_page_version = (std::uint64_t{1} << 56) - 1;
    static constexpr std::uint32_t max_sub_pages_per_page = 256;

    // A sealer with a fresh 256-bit key. The key comes from RDRAND where the
    // CPU has it (no system call: usable inside a sealed enclave), else from
    // libsodium's randombytes (a getrandom call). `automatic` picks
    // AES-256-GCM when the CPU supports it. Errors: suvm_crypto_unavailable
    // (libsodium failed to start, AES-256-GCM asked for but unsupported, or
    // RDRAND failing), enclave_memory_exhausted.
    [[nodiscard]] static expected<sealer> create(cipher choice = cipher::automatic);

    sealer(sealer&&) noexcept;
    sealer& operator=(sealer&&) noexcept;
    ~sealer();  // wipes the key

    // The cipher in use (never `automatic`).
    [[nodiscard]] cipher kind() const noexcept { return kind_; }

    // Seals `plain` as (page, version) into `out`: plain.size() bytes of
    // ciphertext followed by tag_bytes of tag. `out` is private memory.
    void seal(std::uint64_t page, std::uint64_t version, std::span<const std::byte> plain,
              std::byte* out) const noexcept;

    // Opens `sealed` (plain.size() + tag_bytes bytes of private memory) as
    // (page, version) into `plain`. False, with `plain` zeroed, when the tag
    // does not verify.
    [[nodiscard]] bool open(std::uint64_t page, std::uint64_t version, const std::byte* sealed,
                            std::span<std::byte> plain) const noexcept;

    // The same for sub-page `sub` (< max_sub_pages_per_page) of page `page`,
    // as `version` (1 to max_sub_page_version): page, sub-page index and
    // version go into nonce and associated data, so a sub-page opens only
    // in its own place and as its current version.
    void seal_sub_page(std::uint64_t page, std::uint32_t sub, std::uint64_t version,
                       std::span<const std::byte> plain, std::byte* out) const noexcept;
    [[nodiscard]] bool open_sub_page(std::uint64_t page, std::uint32_t sub, std::uint64_t version,
                                     const std::byte* sealed,
                                     std::span<std::byte> plain) const noexcept;

  private:
    struct bound;
    void seal_bound(const bound& b, std::span<const std::byte> plain,
                    std::byte* out) const noexcept;
    [[nodiscard]] bool open_bound(const bound& b, const std::byte* sealed,
                                  std::span<std::byte> plain) const noexcept;
    struct keys;
    explicit sealer(std::unique_ptr<keys> k, cipher kind) noexcept;
    std::unique_ptr<keys> keys_;
    cipher kind_ = cipher::xchacha20poly1305;
};

}  // namespace airlock::suvm
