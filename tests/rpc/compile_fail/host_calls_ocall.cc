// Description: host code that calls an ocall does not compile, and the error says it is an
// ocall.
#include <cstdint>

#include "airlock/rpc/endpoint.hh"

namespace rpc = airlock::rpc;

inline constexpr rpc::enclave_method<1, std::uint64_t(std::uint64_t)> checksum{"checksum"};
inline constexpr rpc::host_method<1, std::uint64_t(std::uint64_t)> read_clock{"read_clock"};

void host_code(rpc::endpoint<rpc::side::host>& enclave) {
#ifdef AIRLOCK_COMPILE_OK
    (void)enclave.call(checksum, 1);
#else
    (void)enclave.call(read_clock, 1);  // an ocall: the enclave calls it, not the host
#endif
}

int main() {}
