// Description: a method whose result is a struct with padding is rejected where it is declared,
// naming copy_as_bytes and the padding.
#include <cstdint>

#include "airlock/rpc/method.hh"

struct stats {
    std::uint64_t puts;
    std::uint32_t keys;
#ifdef AIRLOCK_COMPILE_OK
    std::uint32_t reserved;  // the padding made an explicit member
#endif
};  // without `reserved`, 4 bytes of padding

#ifdef AIRLOCK_COMPILE_OK
template <>
inline constexpr bool airlock::rpc::copy_as_bytes<stats> = true;
#endif

inline constexpr airlock::rpc::enclave_method<1, stats()> get_stats{"get_stats"};

int main() {}
