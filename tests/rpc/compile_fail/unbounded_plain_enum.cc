// Description: an error enum without a fixed underlying type and without
// enum_traits bounds is rejected where its values are decoded (as a call's
// endpoint decodes its result): a value outside its enumerators' range would
// be undefined behaviour.
#include <cstdint>
#include <span>
#include <tuple>

#include "airlock/base/expected.hh"
#include "airlock/rpc/codec.hh"

enum lookup_error { not_found = 1, forbidden = 2 };  // no fixed underlying type

#ifdef AIRLOCK_COMPILE_OK
template <>
struct airlock::rpc::enum_traits<lookup_error> {
    static constexpr bool bounded = true;
    static constexpr lookup_error min = not_found;
    static constexpr lookup_error max = forbidden;
};
#endif

int main() {
    std::tuple<airlock::expected<std::uint64_t, lookup_error>> result;
    return airlock::rpc::decode_exactly(std::span<const std::byte>(), result) ? 0 : 1;
}
