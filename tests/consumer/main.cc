// SPDX-License-Identifier: Apache-2.0
// Description: a program outside the Airlock tree, linking only
// airlock::airlock, sends one message from a producer thread to a consumer
// thread through a ring, both parking on futexes when they have to wait.
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>
#include <thread>

#include <airlock/platform/futex_wait.hh>
#include <airlock/ring/region.hh>
#include <airlock/ring/spsc_ring.hh>

int main() {
    using namespace airlock::ring;
    const region_geometry geometry{.ring_capacities = {1024}};
    const std::size_t size = region::required_size(geometry).value();
    auto* memory = static_cast<std::byte*>(std::aligned_alloc(4096, size));
    region host = region::format({memory, size}, geometry).value();
    region enclave = region::attach({memory, size}, geometry).value();

    auto& hooks = airlock::platform::futex_wait_hooks::instance();
    const wait_policy policy{.timeout_ns = 10'000'000'000, .hooks = &hooks};
    const std::string_view text = "one message across the airlock";

    std::thread producer_thread([&] {
        ring_producer producer(host.ring(0), {.hooks = &hooks});
        producer.send(7, std::as_bytes(std::span(text)), policy).value();
    });
    ring_consumer consumer(enclave.ring(0), {{.hooks = &hooks}});
    auto m = consumer.receive(policy);
    producer_thread.join();

    const bool ok =
        m && m->tag == 7 &&
        std::string_view(reinterpret_cast<const char*>(m->bytes.data()), m->bytes.size()) == text;
    std::free(memory);
    if (!ok) {
        std::fprintf(
            stderr, "consumer: expected tag 7 \"%.*s\", got %s\n", static_cast<int>(text.size()),
            text.data(),
            m ? "a different message" : std::string(airlock::to_string(m.error())).c_str());
        return 1;
    }
    std::printf("consumer: received \"%.*s\"\n", static_cast<int>(text.size()), text.data());
    return 0;
}
