// SPDX-License-Identifier: Apache-2.0
#include "free_lists.hh"

namespace airlock::suvm::detail {

bool free_lists::put(std::uint64_t address, std::uint64_t class_bytes) {
    if (!free_.emplace(address, class_bytes).second) return false;
    try {
        by_class_[class_bytes].push_back(address);
    } catch (...) {
        free_.erase(address);
        throw;
    }
    free_bytes_ += class_bytes;
    return true;
}

std::optional<std::uint64_t> free_lists::take(std::uint64_t class_bytes, std::size_t alignment) {
    const auto it = by_class_.find(class_bytes);
    if (it == by_class_.end()) return std::nullopt;
    std::vector<std::uint64_t>& list = it->second;
    const std::size_t scan = list.size() < alignment_scan ? list.size() : alignment_scan;
    for (std::size_t k = 0; k < scan; ++k) {
        const std::size_t i = list.size() - 1 - k;
        const std::uint64_t address = list[i];
        if (address % alignment != 0) continue;
        list[i] = list.back();
        list.pop_back();
        if (list.empty()) by_class_.erase(it);
        free_.erase(address);
        free_bytes_ -= class_bytes;
        return address;
    }
    return std::nullopt;
}

}  // namespace airlock::suvm::detail
