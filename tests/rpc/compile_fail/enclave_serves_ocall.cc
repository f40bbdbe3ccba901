// Description: enclave code that serves an ocall does not compile, and the error says it is an
// ocall.
#include <cstdint>

#include "airlock/rpc/endpoint.hh"

namespace rpc = airlock::rpc;

inline constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> checksum{"checksum"};
inline constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> read_clock{"read_clock"};

void enclave_code(rpc::endpoint<rpc::side::enclave>& host) {
#ifdef AIRLOCK_COMPILE_OK
    host.serve(checksum, [](std::uint64_t x) { return x; });
#else
    host.serve(read_clock, [](std::uint64_t x) { return x; });  // the host serves ocalls
#endif
}

int main() {}
