// SPDX-License-Identifier: Apache-2.0
// Description: the README example. The host lays out a region with one ring,
// the enclave side attaches to it, and one message crosses from a producer
// to a consumer. Built and run as the test examples.ring_hello.
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "airlock/ring/region.hh"
#include "airlock/ring/spsc_ring.hh"

int main() {
    // --- README example begins ---
    using namespace airlock::ring;
    region_geometry geometry{.ring_capacities = {4096}};  // one ring of 4 KiB
    std::size_t size = region::required_size(geometry).value();
    auto* memory = static_cast<std::byte*>(std::aligned_alloc(4096, size));  // zeroed by format
    region host = region::format({memory, size}, geometry).value();          // host: lay out
    region enclave = region::attach({memory, size}, geometry).value();       // enclave: validate
    ring_producer producer(host.ring(0));
    ring_consumer consumer(enclave.ring(0));
    std::string_view hello = "hello, enclave";
    producer.try_send(/*tag=*/1, std::as_bytes(std::span(hello))).value();
    message m = consumer.try_receive().value();  // a private copy: m.tag, m.bytes
    // --- README example ends ---

    const std::string_view got(reinterpret_cast<const char*>(m.bytes.data()), m.bytes.size());
    std::printf("received tag %u: \"%.*s\"\n", unsigned{m.tag}, static_cast<int>(got.size()),
                got.data());
    const bool ok =
        m.tag == 1 && got == hello && consumer.try_receive().error() == airlock::errc::ring_empty;
    std::free(memory);
    if (!ok)
        std::fprintf(stderr, "ring_hello: expected tag 1 \"%.*s\"\n",
                     static_cast<int>(hello.size()), hello.data());
    return ok ? 0 : 1;
}
