// SPDX-License-Identifier: Apache-2.0
// Description: the vault service: a key-value store in the enclave with an
// enclave-wide context, a timestamp ocall on every put, a 100 KiB sealed
// snapshot persisted by a host worker every 100 puts, and logging from both
// sides. The host makes 1,000 puts at once and holds every timestamp until
// all 1,000 have asked for one, so 1,000 calls are in flight together each
// way; then 1,000 gets at once. Runs on the platform AIRLOCK_PLATFORM names
// (sim or process). Exits 0 when every answer was the expected one, 1 (after
// an error record for each wrong answer) otherwise.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <airlock/async/event.hh>
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
// zero-padded to a multiple of snapshot_bytes (so that the size says little
// about the contents), XORed with the key.
std::vector<std::byte> seal(const vault_state& v) {
    std::vector<std::byte> out;
    rpc::writer w(out);
    rpc::encode(w, v.entries.size());
    for (const auto& [key, value] : v.entries) {
        rpc::encode(w, key);
        rpc::encode(w, value);
    }
    const std::size_t unit = v.settings.snapshot_bytes;
    out.resize((out.size() + unit - 1) / unit * unit);
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
    constexpr std::uint64_t puts = 1000;  // all in flight at once
    platform::enclave_config config;
    if (auto kind = platform::platform_from_environment()) config.platform = *kind;
    config.enclave_memory = std::size_t{64} << 20;
    // Both ends of the channel take 1,000 calls at once: the host's puts,
    // the enclave's timestamp ocalls (the defaults are 256 each way).
    config.rpc.max_in_flight = 1024;
    config.rpc.max_serving = 1024;
    const vault::settings settings{
        .persist_every = 100, .snapshot_bytes = 100 * 1024, .max_keys = 10'000, .seal_key = 0x5a};
    auto enclave = platform::enclave::create<vault_state>(config, settings, &vault_program);
    if (!enclave) {
        log::error("no enclave: %s", std::string(to_string(enclave.error())).c_str());
        return 1;
    }
    const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                       ("airlock-vault-" + std::to_string(::getpid()) + ".sealed");
    platform::host_worker_pool pool(1);  // the file writes, off the channel's thread
    std::uint64_t clock = 0;
    std::uint64_t waiting_for_time = 0;
    async::async_event all_asked;  // every put has asked for its timestamp
    std::vector<std::size_t> snapshot_sizes;
    std::uint64_t snapshots_written = 0;
    {
        auto channel = (*enclave)->open_channel(0);
        auto& ep = channel->endpoint();
        ep.serve(vault::timestamp, [&]() -> task<expected<std::uint64_t>> {
            if (++waiting_for_time == puts) all_asked.set();
            if (expected<void> open = co_await all_asked.wait(); !open)
                co_return unexpected(open.error());
            co_return ++clock;
        });
        ep.serve(vault::persist, [&](std::vector<std::byte> blob) -> task<expected<void>> {
            snapshot_sizes.push_back(blob.size());
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
        auto run = [&](auto operation) {
            return async::sync_wait(channel->executor(), std::move(operation));
        };

        // 1,000 puts at once; each answers its timestamp, so together they
        // answer 1 to 1,000, each once.
        std::vector<task<expected<std::uint64_t>>> put_calls;
        for (std::uint64_t i = 0; i < puts; ++i)
            put_calls.push_back([](auto& e, std::uint64_t n) -> task<expected<std::uint64_t>> {
                co_return co_await e.call(vault::put, "key" + std::to_string(n),
                                          bytes_of("value " + std::to_string(n)));
            }(ep, i));
        std::vector<std::uint64_t> times;
        for (auto& r : run(async::when_all(std::move(put_calls)))) {
            check(r.has_value(), "a put failed");
            if (r) times.push_back(*r);
        }
        std::sort(times.begin(), times.end());
        bool each_once = times.size() == puts;
        for (std::size_t i = 0; each_once && i < times.size(); ++i)
            each_once = times[i] == i + 1;
        check(each_once, "the puts' timestamps are 1 to 1,000, each once");

        // 1,000 gets at once, each finding its value.
        std::vector<task<expected<std::optional<std::vector<std::byte>>>>> get_calls;
        for (std::uint64_t i = 0; i < puts; ++i)
            get_calls.push_back(
                [](auto& e,
                   std::uint64_t n) -> task<expected<std::optional<std::vector<std::byte>>>> {
                    co_return co_await e.call(vault::get, "key" + std::to_string(n));
                }(ep, i));
        std::uint64_t n = 0;
        for (auto& r : run(async::when_all(std::move(get_calls)))) {
            check(r && *r && **r == bytes_of("value " + std::to_string(n)), "a get");
            ++n;
        }

        auto gone = run(ep.call(vault::erase, "key7"));
        check(gone && *gone, "erase key7");
        auto missing = run(ep.call(vault::get, "key7"));
        check(missing && !*missing, "key7 erased");
        auto keys = run(ep.call(vault::list));
        check(keys && keys->size() == puts - 1, "list");
        auto s = run(ep.call(vault::get_stats));
        check(s.has_value(), "stats");
        if (s) {
            check(s->puts == puts && s->gets == puts + 1 && s->erases == 1 && s->keys == puts - 1 &&
                      s->snapshots == puts / settings.persist_every,
                  "stats values");
            log::info("vault: %llu puts, %llu keys, %llu snapshots persisted, clock %llu",
                      static_cast<unsigned long long>(s->puts),
                      static_cast<unsigned long long>(s->keys),
                      static_cast<unsigned long long>(s->snapshots),
                      static_cast<unsigned long long>(clock));
        }
    }
    // A 100 KiB sealed snapshot every 100 puts, each written by the worker.
    check(snapshots_written == puts / settings.persist_every, "ten snapshots written");
    check(snapshot_sizes.size() == puts / settings.persist_every &&
              std::all_of(snapshot_sizes.begin(), snapshot_sizes.end(),
                          [&](std::size_t b) { return b == settings.snapshot_bytes; }),
          "every snapshot is 100 KiB");
    std::error_code error;
    check(std::filesystem::file_size(file, error) == settings.snapshot_bytes && !error,
          "the file holds the last snapshot");
    std::filesystem::remove(file, error);
    return failures == 0 ? 0 : 1;
}
