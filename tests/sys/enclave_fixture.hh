// SPDX-License-Identifier: Apache-2.0
#pragma once
// tests/sys/enclave_fixture.hh: the fixture of the sys tests that run on
// both platforms. `sys_enclave_test<program>` starts an enclave whose one
// thread runs `program` with one sys link, the host's sys service for it,
// and channel 0 to call the program's methods; `sys_stream_test<program>`
// adds a loopback listener the program connects to and the host's end of
// that connection. A test names its suite with
// AIRLOCK_SYS_ON_BOTH_PLATFORMS(suite).
//
// Thread contract: host side, the test's thread.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "airlock/async/sync_wait.hh"
#include "airlock/platform/enclave.hh"
#include "airlock/sys/service.hh"
#include "platform/process_support.hh"
#include "stream_support.hh"
#include "support/region_fixture.hh"

namespace airlock::test {

template <platform::enclave_program Program>
class sys_enclave_test : public ::testing::TestWithParam<platform::platform_kind> {
  protected:
    void SetUp() override {
        AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
        platform::enclave_config config = test::process_config(1);
        config.platform = GetParam();
        config.service_links = 1;
        auto e = platform::enclave::create(config, Program);
        ASSERT_TRUE(e.has_value()) << to_string(e.error());
        enclave = std::move(*e);
        auto s = sys::service::start_for(*enclave);
        ASSERT_TRUE(s.has_value()) << to_string(s.error());
        svc = std::move(*s);
        ch = enclave->open_channel(0);
        ready();
    }
    // What a test sets up once the enclave runs (not when it was skipped).
    virtual void ready() {}
    void TearDown() override {
        svc.reset();
        ch.reset();  // the channel before its enclave
        enclave.reset();
    }

    // Calls one of the program's methods and waits for its answer.
    template <class M, class... A>
    auto try_call(const M& method, A&&... args) {
        return async::sync_wait(ch->executor(),
                                ch->endpoint().call(method, std::forward<A>(args)...));
    }
    // The same for a call that must succeed: a failure fails the test and
    // returns ~0.
    template <class M, class... A>
    std::uint64_t call(const M& method, A&&... args) {
        auto r = try_call(method, std::forward<A>(args)...);
        EXPECT_TRUE(r.has_value()) << to_string(r.error());
        return r ? *r : ~std::uint64_t{0};
    }

    std::unique_ptr<platform::enclave> enclave;
    std::unique_ptr<sys::service> svc;
    std::unique_ptr<platform::host_channel> ch;
};

template <platform::enclave_program Program>
class sys_stream_test : public sys_enclave_test<Program> {
  protected:
    void ready() override {
        lfd = test::loopback_listener(port);
        ASSERT_GE(lfd, 0);
    }
    void TearDown() override {
        if (peer >= 0) ::close(peer);
        if (lfd >= 0) ::close(lfd);
        sys_enclave_test<Program>::TearDown();
    }
    // Has the program connect with `connect_out(port)`, and accepts.
    template <class M>
    void connect(const M& connect_out) {
        ASSERT_TRUE(this->try_call(connect_out, std::uint64_t{port}).has_value());
        peer = ::accept(lfd, nullptr, nullptr);
        ASSERT_GE(peer, 0);
    }

    std::uint16_t port = 0;
    int lfd = -1;   // the host's loopback listener
    int peer = -1;  // the host's end of the program's connection
};

}  // namespace airlock::test

#define AIRLOCK_SYS_ON_BOTH_PLATFORMS(suite)                            \
    INSTANTIATE_TEST_SUITE_P(                                           \
        platforms, suite,                                               \
        ::testing::Values(::airlock::platform::platform_kind::sim,      \
                          ::airlock::platform::platform_kind::process), \
        [](const auto& p) { return ::airlock::test::platform_name(p.param); })
