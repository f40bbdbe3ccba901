// SPDX-License-Identifier: Apache-2.0
// The transition baseline (transition.hh).
#include "airlock/sys/transition.hh"

#include "host_ops.hh"

namespace airlock::sys {

transition_host::transition_host(std::uint64_t cycles_per_call, std::size_t max_handles)
    : table_(std::make_unique<detail::host_table>(max_handles)), transition_(cycles_per_call) {}

transition_host::~transition_host() = default;

std::vector<std::byte> transition_host::call(std::uint16_t tag,
                                             std::span<const std::byte> request) {
    return transition_.call([&] {
        detail::host_request r;
        if (!detail::decode_request(tag, request, r)) return std::vector<std::byte>{};
        detail::host_result out = detail::run_blocking(*table_, r);
        return detail::encode_completion(r.id, out.result, out.aux, out.data);
    });
}

}  // namespace airlock::sys
