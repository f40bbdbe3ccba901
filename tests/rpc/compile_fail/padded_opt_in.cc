// Description: a struct with padding that opts in to copy_as_bytes is rejected where a method
// declares it.
#include <cstdint>

#include "airlock/rpc/method.hh"

struct stats {
    std::uint64_t puts;
    std::uint32_t keys;
#ifdef AIRLOCK_COMPILE_OK
    std::uint32_t reserved;
#endif
};
template <>
inline constexpr bool airlock::rpc::copy_as_bytes<stats> = true;

inline constexpr airlock::rpc::host_method<1, void(stats)> put_stats{"put_stats"};

int main() {}
