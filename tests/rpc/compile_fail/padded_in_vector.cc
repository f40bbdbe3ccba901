// Description: a method whose result is a vector of a struct with padding is rejected where it is
// declared, naming copy_as_bytes and the padding, as the struct alone would be.
#include <cstdint>
#include <vector>

#include "airlock/rpc/method.hh"

struct entry {
    std::uint64_t key;
    std::uint32_t length;
#ifdef AIRLOCK_COMPILE_OK
    std::uint32_t reserved;  // the padding made an explicit member
#endif
};  // without `reserved`, 4 bytes of padding

#ifdef AIRLOCK_COMPILE_OK
template <>
inline constexpr bool airlock::rpc::copy_as_bytes<entry> = true;
#endif

inline constexpr airlock::rpc::enclave_method<1, std::vector<entry>()> list_entries{"list_entries"};

int main() {}
