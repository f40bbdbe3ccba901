// Description: host code that serves an ecall does not compile, and the error says it is an ecall.
#include <cstdint>

#include "airlock/rpc/endpoint.hh"

namespace rpc = airlock::rpc;

inline constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> checksum{"checksum"};
inline constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> read_clock{"read_clock"};

void host_code(rpc::endpoint<rpc::side::host>& enclave) {
#ifdef AIRLOCK_COMPILE_OK
    enclave.serve(read_clock, [](std::uint64_t x) { return x; });
#else
    enclave.serve(checksum, [](std::uint64_t x) { return x; });  // the enclave serves ecalls
#endif
}

int main() {}
