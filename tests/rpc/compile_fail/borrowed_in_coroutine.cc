// Description: a coroutine handler that takes borrowed_bytes is refused where it is served,
// with the reason (the view would outlive its receive buffer).
#include <cstdint>
#include <span>

#include "airlock/async/task.hh"
#include "airlock/rpc/endpoint.hh"

inline constexpr airlock::rpc::enclave_method<1, std::uint64_t(airlock::rpc::borrowed_bytes)>
    checksum{"checksum"};

#ifdef AIRLOCK_COMPILE_OK
std::uint64_t handler(std::span<const std::byte> b) {
    return b.size();
}
#else
airlock::async::task<std::uint64_t> handler(std::span<const std::byte> b) {
    co_return b.size();
}
#endif

void serve(airlock::rpc::endpoint<airlock::rpc::side::enclave>& ep) {
    ep.serve(checksum, handler);
}

int main() {}
