// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/kv/text_cat.hh: `cat(parts...)` joins strings by appending.
//
// gcc 12 at -O3 reports false -Wrestrict, -Wstringop-overflow and
// -Warray-bounds warnings inside `"k" + std::to_string(i)` (operator+ of a
// literal and a temporary inserts at the front); appending never does.

#include <string>
#include <string_view>

namespace kv_test {

template <class... Parts>
std::string cat(const Parts&... parts) {
    std::string out;
    ((out += std::string_view(parts)), ...);
    return out;
}

}  // namespace kv_test
