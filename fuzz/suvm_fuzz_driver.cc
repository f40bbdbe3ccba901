// SPDX-License-Identifier: Apache-2.0
#include "suvm_fuzz_driver.hh"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "airlock/suvm/s_ptr.hh"
#include "airlock/suvm/space.hh"

namespace {

using namespace airlock;

constexpr std::size_t page_size = 1024;
constexpr std::uint64_t pages = 16;
constexpr std::uint64_t size = pages * page_size;

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "suvm fuzz: guarantee broken: %s\n", what);
    std::abort();
}

// Reads input bytes; zeros once it runs out.
struct input {
    const std::uint8_t* p;
    std::size_t n;
    std::size_t at = 0;
    bool more() const { return at < n; }
    std::uint8_t u8() { return at < n ? p[at++] : 0; }
    std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | (u8() << 8)); }
};

struct harness {
    std::vector<std::byte> store;  // 64-byte aligned via the offset below
    std::byte* base = nullptr;
    std::unique_ptr<suvm::space> s;
    std::vector<std::byte> ref = std::vector<std::byte>(size);
    bool tampered = false;
    bool faulted = false;
    std::vector<std::byte> saved;  // a slot copied earlier, for replays
    std::uint64_t saved_page = 0;
    // The store's unit: a page, or a direct space's sub-page (slots are units).
    std::size_t unit;
    std::uint64_t units;

    explicit harness(std::size_t sub_page)
        : unit(sub_page == 0 ? page_size : sub_page), units(size / unit) {
        suvm::space_options o;
        o.size = size;
        o.page_size = page_size;
        o.cache_bytes = 4 * page_size;
        o.write_back_batch = 2;
        o.sub_page_bytes = sub_page;
        const std::size_t need = suvm::space::store_size(o).value();
        store.resize(need + 64);
        const auto raw = reinterpret_cast<std::uintptr_t>(store.data());
        base = store.data() + (64 - raw % 64) % 64;
        auto made = suvm::space::create(o, {base, need});
        if (!made) broken("create");
        s = std::move(*made);
    }
    std::byte* slot(std::uint64_t u) { return base + u * suvm::slot_bytes(unit); }
    std::size_t slot_size() const { return suvm::slot_bytes(unit); }

    // An operation's error: allowed only as the integrity fault after tampering.
    void check_error(errc e) {
        if (e != errc::suvm_fault_integrity) broken("an error other than the integrity fault");
        if (!tampered) broken("an integrity fault without tampering");
        faulted = true;
    }
    void check_ok() {
        if (faulted) broken("an operation succeeded on a faulted space");
    }
    void host_changed(const std::byte* before, const std::byte* after, std::size_t n) {
        if (std::memcmp(before, after, n) != 0) tampered = true;
    }
};

// One input against one space: a cached one (sub_page 0) or a direct one.
void run_on(std::size_t sub_page, const std::uint8_t* data, std::size_t n) {
    harness h(sub_page);
    input in{data, n};
    for (int ops = 0; ops < 256 && in.more(); ++ops) {
        const std::uint8_t op = in.u8() % 10;
        const std::uint64_t addr = in.u16() % size;
        const std::uint64_t len = 1 + in.u16() % (3 * page_size);
        const std::uint64_t count = std::min<std::uint64_t>(len, size - addr);
        switch (op) {
            case 0: {  // write
                std::vector<std::byte> v(count);
                const std::uint8_t seed = in.u8();
                for (std::size_t i = 0; i < v.size(); ++i)
                    v[i] = static_cast<std::byte>(seed + i * 7);
                auto r = h.s->write(addr, v);
                if (!r) {
                    h.check_error(r.error());
                    break;
                }
                h.check_ok();
                std::memcpy(h.ref.data() + addr, v.data(), v.size());
                break;
            }
            case 1: {  // read
                std::vector<std::byte> v(count);
                auto r = h.s->read(addr, v);
                if (!r) {
                    h.check_error(r.error());
                    break;
                }
                h.check_ok();
                if (std::memcmp(v.data(), h.ref.data() + addr, v.size()) != 0)
                    broken("read returned data that was never written");
                break;
            }
            case 2: {  // fill
                const auto value = static_cast<std::byte>(in.u8());
                auto r = h.s->fill(addr, value, count);
                if (!r) {
                    h.check_error(r.error());
                    break;
                }
                h.check_ok();
                std::memset(h.ref.data() + addr, static_cast<int>(value), count);
                break;
            }
            case 3: {  // s_ptr load and store of a word
                const std::uint64_t a = addr & ~std::uint64_t{7};
                suvm::s_ptr<std::uint64_t> p(*h.s, a);
                auto v = p.load();
                if (!v) {
                    h.check_error(v.error());
                    break;
                }
                h.check_ok();
                if (std::memcmp(&*v, h.ref.data() + a, 8) != 0) broken("s_ptr load");
                const std::uint64_t w = *v + 1;
                if (auto r = p.store(w); !r) {
                    h.check_error(r.error());
                    break;
                }
                std::memcpy(h.ref.data() + a, &w, 8);
                break;
            }
            case 4: {  // flush
                if (auto r = h.s->flush(); !r) h.check_error(r.error());
                break;
            }
            case 5: {  // host: flip a byte of the store
                std::byte* b = h.base + (in.u16() * 7u) % (h.units * h.slot_size());
                const std::byte mask = static_cast<std::byte>(in.u8() | 1);
                *b ^= mask;
                h.tampered = true;
                break;
            }
            case 6: {  // host: swap two slots
                const std::uint64_t x = addr / h.unit, y = in.u8() % h.units;
                std::vector<std::byte> t(h.slot(x), h.slot(x) + h.slot_size());
                std::vector<std::byte> before(h.slot(y), h.slot(y) + h.slot_size());
                std::memcpy(h.slot(x), h.slot(y), h.slot_size());
                std::memcpy(h.slot(y), t.data(), h.slot_size());
                h.host_changed(before.data(), h.slot(y), h.slot_size());
                break;
            }
            case 7: {  // host: save a slot now, to replay it later
                h.saved_page = addr / h.unit;
                h.saved.assign(h.slot(h.saved_page), h.slot(h.saved_page) + h.slot_size());
                break;
            }
            case 8: {  // host: replay the saved slot (or zero one)
                std::vector<std::byte> before;
                if (h.saved.empty()) {
                    const std::uint64_t p = addr / h.unit;
                    before.assign(h.slot(p), h.slot(p) + h.slot_size());
                    std::memset(h.slot(p), 0, h.slot_size());
                    h.host_changed(before.data(), h.slot(p), h.slot_size());
                } else {
                    before.assign(h.slot(h.saved_page), h.slot(h.saved_page) + h.slot_size());
                    std::memcpy(h.slot(h.saved_page), h.saved.data(), h.slot_size());
                    h.host_changed(before.data(), h.slot(h.saved_page), h.slot_size());
                }
                break;
            }
            default: {                // pin pages until the cache is exhausted, then let go
                if (sub_page != 0) {  // a direct space has nothing to pin
                    if (auto r = h.s->pin(addr / page_size);
                        r || (r.error() != errc::suvm_direct_space && !h.faulted))
                        broken("a direct space pinned a page");
                    break;
                }
                std::vector<suvm::page_ref> pins;
                for (std::uint64_t p = addr / page_size; pins.size() < 5; p = (p + 1) % pages) {
                    auto r = h.s->pin(p);
                    if (!r) {
                        if (r.error() == errc::suvm_cache_exhausted) {
                            if (pins.size() != 4) broken("exhausted before every frame was pinned");
                            break;
                        }
                        h.check_error(r.error());
                        break;
                    }
                    if (std::memcmp(r->data(), h.ref.data() + p * page_size, page_size) != 0)
                        broken("a pinned page holds data that was never written");
                    pins.push_back(std::move(*r));
                }
            }
        }
        if (h.s->fault() != errc::ok && !h.faulted) {
            if (!h.tampered) broken("a fault without tampering");
            h.faulted = true;
        }
    }
}

}  // namespace

int run_suvm_fuzz_input(const std::uint8_t* data, std::size_t n) {
    run_on(0, data, n);
    // The same operations on a direct space, its sub-page size from the length.
    run_on(std::size_t{256} << (n % 3), data, n);
    return 0;
}
