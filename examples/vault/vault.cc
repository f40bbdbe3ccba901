// SPDX-License-Identifier: Apache-2.0
// Description: the vault service: a key-value store in the enclave with an
// enclave-wide context, a timestamp ocall on every put, a sealed snapshot
// persisted by a host worker every 100 puts, and logging from both sides.
// Runs on the platform AIRLOCK_PLATFORM names (sim or process); prints a
// summary and exits 0 when every answer was the expected one.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <airlock/async/sync_wait.hh>
#include <airlock/async/when_all.hh>
#include <airlock/platform/enclave.hh>
#include <airlock/platform/host_worker_pool.hh>
#include <airlock/platform/log.hh>

#include "vault_calls.hh"

using namespace airlock;
using airlock::async::task;

// ---- enclave side ---------------------------------------------------------

namespace {

// The state every handler shares, built inside the enclave from the settings.
// One enclave thread serves the vault, so it needs no lock.
struct vault_state {
    explicit vault_state(const vault::settings& s) : settings(s) {}
    vault::settings settings;
    std::map<std::string, std::vector<std::byte>> entries;
    vault::stats counters{};
};

// A stand-in for sealing (a real enclave would use its sealing key and an
// authenticated cipher): every entry, its length-prefixed key and value,
// XORed with the key.
std::vector<std::byte> seal(const vault_state& v) {
    std::vector<std::byte> out;
    rpc::writer w(out);
    rpc::encode(w, v.entries.size());
    for (const auto& [key, value] : v.entries) {
        rpc::encode(w, key);
        rpc::encode(w, value);
    }
    const auto k = static_cast<std::byte>(v.settings.seal_key & 0xff);
    for (std::byte& b : out)
        b ^= k;
    return out;
}

void vault_program(platform::enclave_thread& t, vault_state& v) {
    t.host.serve(
        vault::put,
        [&t, &v](std::string key, std::vector<std::byte> value) -> task<expected<std::uint64_t>> {
            if (v.entries.size() >= v.settings.max_keys && !v.entries.contains(key))
                co_return unexpected(errc::invalid_argument);
            // Time comes from the host; a real vault would check it
            // against the last one it saw.
            expected<std::uint64_t> now = co_await t.host.call(vault::timestamp);
            if (!now) co_return unexpected(now.error());
            v.entries[std::move(key)] = std::move(value);
            const std::uint64_t puts = ++v.counters.puts;
            if (puts % v.settings.persist_every == 0) {
                std::vector<std::byte> blob = seal(v);
                expected<void> kept = co_await t.host.call(vault::persist, blob);
                if (kept) {
                    ++v.counters.snapshots;
                    log::info("snapshot %llu: %zu keys, %zu sealed bytes",
                              static_cast<unsigned long long>(v.counters.snapshots),
                              v.entries.size(), blob.size());
                } else {
                    log::warning("snapshot not kept: %s",
                                 std::string(to_string(kept.error())).c_str());
                }
            }
            co_return *now;
        });
    t.host.serve(vault::get, [&v](std::string key) -> std::optional<std::vector<std::byte>> {
        ++v.counters.gets;
        auto it = v.entries.find(key);
        if (it == v.entries.end()) return std::nullopt;
        return it->second;
    });
    t.host.serve(vault::erase, [&v](std::string key) {
        ++v.counters.erases;
        return v.entries.erase(key) == 1;
    });
    t.host.serve(vault::list, [&v] {
        std::vector<std::string> keys;
        keys.reserve(v.entries.size());
        for (const auto& [key, value] : v.entries)
            keys.push_back(key);
        return keys;
    });
    t.host.serve(vault::get_stats, [&v] {
        vault::stats s = v.counters;
        s.keys = v.entries.size();
        return s;
    });
    log::info("vault ready on enclave thread %zu", t.index);
}

}  // namespace

// ---- host side ------------------------------------------------------------

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    if (ok) return;
    ++failures;
    log::error("unexpected: %s", what);
}

std::vector<std::byte> bytes_of(const std::string& s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

}  // namespace

int main() {
    platform::enclave_config config;
    if (auto kind = platform::platform_from_environment()) config.platform = *kind;
    config.enclave_memory = std::size_t{64} << 20;
    const vault::settings settings{.persist_every = 100, .max_keys = 10'000, .seal_key = 0x5a};
    auto enclave = platform::enclave::create<vault_state>(config, settings, &vault_program);
    if (!enclave) {
        log::error("no enclave: %s", std::string(to_string(enclave.error())).c_str());
        return 1;
    }
    const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                       ("airlock-vault-" + std::to_string(::getpid()) + ".sealed");
    platform::host_worker_pool pool(1);  // the file writes, off the channel's thread
    std::uint64_t clock = 0;
    std::uint64_t snapshots_written = 0;
    vault::stats summary{};
    {
        auto channel = (*enclave)->open_channel(0);
        auto& ep = channel->endpoint();
        ep.serve(vault::timestamp, [&clock] { return ++clock; });
        ep.serve(vault::persist, [&](std::vector<std::byte> blob) -> task<expected<void>> {
            // Named first, then moved in: gcc 12 frees a lambda temporary in a
            // co_await expression twice (docs/coroutine-traps.md, 7).
            auto write_file = [&file, b = std::move(blob)] {
                std::ofstream out(file, std::ios::binary | std::ios::trunc);
                out.write(reinterpret_cast<const char*>(b.data()),
                          static_cast<std::streamsize>(b.size()));
                return static_cast<bool>(out);
            };
            auto written = co_await pool.run(std::move(write_file));
            // host_pool_full is a platform code, which an enclave takes as
            // out of contract: say "overloaded, try again" in rpc's words.
            if (!written)
                co_return unexpected(written.error() == errc::host_pool_full
                                         ? errc::rpc_overloaded
                                         : errc::rpc_handler_failed);
            if (!*written) co_return unexpected(errc::invalid_argument);
            ++snapshots_written;
            co_return expected<void>{};
        });

        // 250 puts, 64 in flight at a time.
        constexpr int puts = 250;
        for (int first = 0; first < puts; first += 64) {
            std::vector<task<expected<std::uint64_t>>> batch;
            for (int i = first; i < puts && i < first + 64; ++i)
                batch.push_back([](auto& e, int n) -> task<expected<std::uint64_t>> {
                    co_return co_await e.call(vault::put, "key" + std::to_string(n),
                                              bytes_of("value " + std::to_string(n)));
                }(ep, i));
            for (auto& r : async::sync_wait(channel->executor(), async::when_all(std::move(batch))))
                check(r.has_value(), "a put failed");
        }
        auto got = async::sync_wait(channel->executor(), ep.call(vault::get, "key7"));
        check(got && *got && **got == bytes_of("value 7"), "get key7");
        auto gone = async::sync_wait(channel->executor(), ep.call(vault::erase, "key7"));
        check(gone && *gone, "erase key7");
        auto missing = async::sync_wait(channel->executor(), ep.call(vault::get, "key7"));
        check(missing && !*missing, "key7 erased");
        auto keys = async::sync_wait(channel->executor(), ep.call(vault::list));
        check(keys && keys->size() == puts - 1, "list");
        auto s = async::sync_wait(channel->executor(), ep.call(vault::get_stats));
        check(s.has_value(), "stats");
        if (s) {
            check(s->puts == puts && s->keys == puts - 1 && s->snapshots == 2, "stats values");
            log::info("vault: %llu puts, %llu keys, %llu snapshots persisted, clock %llu",
                      static_cast<unsigned long long>(s->puts),
                      static_cast<unsigned long long>(s->keys),
                      static_cast<unsigned long long>(s->snapshots),
                      static_cast<unsigned long long>(clock));
            summary = *s;
        }
    }
    check(snapshots_written == 2, "two snapshots written by the worker");
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
    if (failures != 0) return 1;
    // Printed only when every answer was right: the test matches this line.
    std::printf("vault: %llu puts, %llu keys, %llu snapshots\n",
                static_cast<unsigned long long>(summary.puts),
                static_cast<unsigned long long>(summary.keys),
                static_cast<unsigned long long>(summary.snapshots));
    return 0;
}
