// Description: enclave code that calls an ecall does not compile, and the error says it is an
// ecall.
#include <cstdint>

#include "airlock/rpc/endpoint.hh"

namespace rpc = airlock::rpc;

inline constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> checksum{"checksum"};
inline constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> read_clock{"read_clock"};

void enclave_code(rpc::endpoint<rpc::side::enclave>& host) {
#ifdef AIRLOCK_COMPILE_OK
    (void)host.call(read_clock, 1);
#else
    (void)host.call(checksum, 1);  // an ecall: the host calls it, not the enclave
#endif
}

int main() {}
