// Description: the load generator's open and closed loops against a live server get every request
// answered and checked, with the server's trusted time.
#include "ps/load.hh"
#include "server_support.hh"

namespace airlock::ps::testing {
namespace {

TEST(PsLoad, ClosedAndOpenLoopsAreAllAnswered) {
    server_options o = small_server(io_mode::native);
    running_server srv(o);
    load_options l;
    l.port = srv.port();
    l.connections = 3;
    l.seconds = 0.1;
    l.drain_seconds = 10;  // a bound, not a measurement
    l.keys = o.keys;
    l.dimension = o.dimension;
    l.batch = 4;

    l.depth = 2;  // closed loop
    auto r = run_load(l);
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_GT(r->completed, 0u);
    EXPECT_EQ(r->completed, r->sent);
    EXPECT_EQ(r->errors + r->lost + r->unsent, 0u);
    EXPECT_GT(r->trusted_ns_per_request, 0);

    l.rate = 2'000;  // open loop, Poisson arrivals, Zipf keys
    l.zipf = 0.99;
    r = run_load(l);
    ASSERT_TRUE(r.has_value()) << to_string(r.error());
    EXPECT_GT(r->completed, 0u);
    EXPECT_EQ(r->completed, r->sent);
    EXPECT_EQ(r->errors + r->lost + r->unsent, 0u);
    EXPECT_LE(r->p50_ns, r->p99_ns);

    l.poisson = false;
    l.batch = o.engine.max_batch + 1;  // every request refused: counted as errors
    l.push_fraction = 0;               // (a push this long exceeds the largest frame)
    r = run_load(l);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->errors, r->completed);
    EXPECT_GT(r->errors, 0u);
}

TEST(PsLoad, RefusesBadOptions) {
    load_options l;
    EXPECT_EQ(run_load(l).error(), errc::invalid_argument);  // no port
}

}  // namespace
}  // namespace airlock::ps::testing
