// SPDX-License-Identifier: Apache-2.0
#include "airlock/base/error.hh"

#include <string>

namespace airlock {

std::string_view to_string(errc e) noexcept {
    switch (e) {
#define AIRLOCK_ERRC_NAME(x) \
    case errc::x:            \
        return #x;
        AIRLOCK_ERRC_NAME(ok)
        AIRLOCK_ERRC_NAME(ring_empty)
        AIRLOCK_ERRC_NAME(ring_full)
        AIRLOCK_ERRC_NAME(message_too_large)
        AIRLOCK_ERRC_NAME(timed_out)
        AIRLOCK_ERRC_NAME(invalid_argument)
        AIRLOCK_ERRC_NAME(region_misaligned)
        AIRLOCK_ERRC_NAME(region_too_small)
        AIRLOCK_ERRC_NAME(region_bad_magic)
        AIRLOCK_ERRC_NAME(region_bad_version)
        AIRLOCK_ERRC_NAME(region_geometry_mismatch)
        AIRLOCK_ERRC_NAME(region_overlaps_enclave)
        AIRLOCK_ERRC_NAME(region_address_wraps)
        AIRLOCK_ERRC_NAME(fault_tail_beyond_capacity)
        AIRLOCK_ERRC_NAME(fault_tail_rewound)
        AIRLOCK_ERRC_NAME(fault_head_beyond_tail)
        AIRLOCK_ERRC_NAME(fault_head_rewound)
        AIRLOCK_ERRC_NAME(fault_index_misaligned)
        AIRLOCK_ERRC_NAME(fault_record_header)
        AIRLOCK_ERRC_NAME(fault_record_length)
        AIRLOCK_ERRC_NAME(fault_record_straddles_end)
        AIRLOCK_ERRC_NAME(fault_padding)
        AIRLOCK_ERRC_NAME(fault_fragment_sequence)
        AIRLOCK_ERRC_NAME(fault_fragment_total)
        AIRLOCK_ERRC_NAME(fault_pool_range)
        AIRLOCK_ERRC_NAME(fault_pool_return)
        AIRLOCK_ERRC_NAME(cancelled)
        AIRLOCK_ERRC_NAME(deadline_exceeded)
        AIRLOCK_ERRC_NAME(broken_promise)
        AIRLOCK_ERRC_NAME(channel_closed)
        AIRLOCK_ERRC_NAME(rpc_unknown_method)
        AIRLOCK_ERRC_NAME(rpc_unknown_call_id)
        AIRLOCK_ERRC_NAME(rpc_decode)
        AIRLOCK_ERRC_NAME(rpc_result_out_of_contract)
        AIRLOCK_ERRC_NAME(rpc_channel_faulted)
        AIRLOCK_ERRC_NAME(rpc_overloaded)
        AIRLOCK_ERRC_NAME(rpc_handler_failed)
        AIRLOCK_ERRC_NAME(rpc_message_too_large)
        AIRLOCK_ERRC_NAME(rpc_wrong_thread)
        AIRLOCK_ERRC_NAME(platform_unavailable)
        AIRLOCK_ERRC_NAME(enclave_died)
        AIRLOCK_ERRC_NAME(host_died)
        AIRLOCK_ERRC_NAME(enclave_memory_exhausted)
        AIRLOCK_ERRC_NAME(peer_stalled)
        AIRLOCK_ERRC_NAME(enclave_context_failed)
        AIRLOCK_ERRC_NAME(host_pool_full)
        AIRLOCK_ERRC_NAME(host_work_failed)
        AIRLOCK_ERRC_NAME(sys_bad_result)
        AIRLOCK_ERRC_NAME(sys_errno)
        AIRLOCK_ERRC_NAME(sys_bad_handle)
        AIRLOCK_ERRC_NAME(sys_faulted)
        AIRLOCK_ERRC_NAME(sys_unknown_request)
        AIRLOCK_ERRC_NAME(sys_bad_errno)
        AIRLOCK_ERRC_NAME(sys_busy)
        AIRLOCK_ERRC_NAME(sys_closed)
        AIRLOCK_ERRC_NAME(sys_bad_clock)
        AIRLOCK_ERRC_NAME(sys_service_stopped)
        AIRLOCK_ERRC_NAME(sys_unsupported)
        AIRLOCK_ERRC_NAME(suvm_out_of_range)
        AIRLOCK_ERRC_NAME(suvm_cache_exhausted)
        AIRLOCK_ERRC_NAME(suvm_out_of_memory)
        AIRLOCK_ERRC_NAME(suvm_straddles_page)
        AIRLOCK_ERRC_NAME(suvm_direct_space)
        AIRLOCK_ERRC_NAME(suvm_store_misaligned)
        AIRLOCK_ERRC_NAME(suvm_store_too_small)
        AIRLOCK_ERRC_NAME(suvm_store_overlaps_enclave)
        AIRLOCK_ERRC_NAME(suvm_store_address_wraps)
        AIRLOCK_ERRC_NAME(suvm_crypto_unavailable)
        AIRLOCK_ERRC_NAME(suvm_fault_integrity)
        AIRLOCK_ERRC_NAME(ps_bad_length)
        AIRLOCK_ERRC_NAME(ps_unknown_op)
        AIRLOCK_ERRC_NAME(ps_unknown_id)
        AIRLOCK_ERRC_NAME(ps_batch_too_large)
        AIRLOCK_ERRC_NAME(ps_frame_too_large)
        AIRLOCK_ERRC_NAME(ps_bad_header)
        AIRLOCK_ERRC_NAME(ps_model_full)
        AIRLOCK_ERRC_NAME(ps_bad_response)
#undef AIRLOCK_ERRC_NAME
    }
    return "unknown_airlock_error";
}

namespace {

class airlock_category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "airlock"; }
    std::string message(int code) const override {
        return std::string(to_string(static_cast<errc>(code)));
    }
};

}  // namespace

const std::error_category& error_category() noexcept {
    static const airlock_category category;
    return category;
}

}  // namespace airlock
