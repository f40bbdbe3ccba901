// Description: the airlock mode with the model's vectors in a suvm space serves pushes and pulls
// over TCP from a sealed enclave process whose memory budget is half the model: a sweep through
// the whole model evicts the pushed rows to the sealed backing store, and they read back updated.
#include <cstring>
#include <set>

#include "platform/process_support.hh"
#include "server_support.hh"

namespace airlock::ps::testing {
namespace {

class PsAirlockSuvm : public ::testing::TestWithParam<platform::platform_kind> {};

TEST_P(PsAirlockSuvm, ServesAModelLargerThanTheEnclave) {
    AIRLOCK_SKIP_PROCESS_UNDER_TSAN(GetParam());
    server_options o = small_server(io_mode::airlock);
    o.platform = GetParam();
    o.dimension = 64;  // 256-byte rows, 16 to a page
    o.keys = 131'072;  // 32 MiB of rows
    o.engine.max_batch = 256;
    o.model_in = model_storage::suvm;
    o.suvm_cache_bytes = std::size_t{2} << 20;
    o.enclave_memory = std::size_t{16} << 20;
    const std::size_t rows_bytes = o.keys * o.dimension * 4;
    ASSERT_GE(rows_bytes, 2 * o.enclave_memory) << "the model must not fit in the enclave";
    running_server srv(o);
    client c(srv.port());

    // One push of 256 features spread over the model, each on a page of its own.
    std::vector<std::uint64_t> pushed;
    for (std::uint64_t i = 0; i < 256; ++i)
        pushed.push_back(i * 509 % o.keys);
    const std::set<std::uint64_t> stepped(pushed.begin(), pushed.end());
    const std::vector<float> g(pushed.size() * o.dimension, 0.75f);
    std::vector<std::byte> req;
    encode_push(req, pushed, g, o.dimension);
    c.send_all(req);
    auto f = c.receive_frame();
    ASSERT_TRUE(f.has_value());
    ASSERT_EQ(check_reply(*f, op::push, 256, o.dimension)->status(), errc::ok);

    // The value a feature must have: its initial one, and one step if pushed.
    auto want = [&](std::uint64_t id) {
        std::vector<float> w(o.dimension);
        model::initial_value(id, w);
        if (stepped.count(id) != 0)
            for (float& x : w)
                x -= o.engine.learning_rate * 0.75f;
        return w;
    };
    auto pull_and_check = [&](const std::vector<std::uint64_t>& ids) {
        std::vector<std::byte> r;
        encode_pull(r, ids);
        c.send_all(r);
        auto reply = c.receive_frame();
        ASSERT_TRUE(reply.has_value());
        const auto p =
            check_reply(*reply, op::pull, static_cast<std::uint32_t>(ids.size()), o.dimension);
        ASSERT_TRUE(p.has_value());
        ASSERT_EQ(p->status(), errc::ok);
        for (std::size_t i = 0; i < ids.size(); ++i)
            ASSERT_EQ(std::memcmp(p->payload.data() + i * o.dimension * 4, want(ids[i]).data(),
                                  o.dimension * 4),
                      0)
                << "id " << ids[i];
    };
    // A sweep through every page of the model (16 times the cache), so the
    // pushed pages are sealed out and read back.
    for (std::uint64_t first = 0; first < o.keys; first += 256 * 16) {
        std::vector<std::uint64_t> ids;
        for (std::uint64_t id = first; id < first + 256 * 16 && id < o.keys; id += 16)
            ids.push_back(id);
        pull_and_check(ids);
    }
    pull_and_check(pushed);
    EXPECT_EQ(srv.get().stats().errors, 0u);
}

TEST(PsAirlockSuvmOptions, OnlyTheAirlockModePagesItsModel) {
    for (const io_mode m : {io_mode::native, io_mode::transition, io_mode::switchless}) {
        server_options o = small_server(m);
        o.model_in = model_storage::suvm;
        EXPECT_EQ(server::create(o).error(), errc::invalid_argument) << to_string(m);
    }
    server_options o = small_server(io_mode::airlock);
    o.model_in = model_storage::suvm;
    o.suvm_page_size = 3000;  // not a power of two
    EXPECT_EQ(server::create(o).error(), errc::invalid_argument);
    o.suvm_page_size = 4096;
    o.suvm_cache_bytes = 3 * 4096;  // fewer than suvm::min_frames pages
    EXPECT_EQ(server::create(o).error(), errc::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(platforms, PsAirlockSuvm,
                         ::testing::Values(platform::platform_kind::sim,
                                           platform::platform_kind::process),
                         [](const auto& param_info) {
                             return test::platform_name(param_info.param);
                         });

}  // namespace
}  // namespace airlock::ps::testing
